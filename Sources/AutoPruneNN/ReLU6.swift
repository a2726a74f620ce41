/// `y = min(max(x, 0), 6)`, any shape: MobileNetV2's activation (`nn.ReLU6`), bounded so that
/// low-precision inference keeps its range.
public final class ReLU6: Layer {
  private var cachedOutput = Tensor(shape: [0])

  /// No settings.
  public init() {}

  public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    var y = x
    y.withMutablePointer { p in
      for i in 0..<x.count { p[i] = min(max(p[i], 0), 6) }
    }
    if context.training { cachedOutput = y }
    return y
  }

  // dX = dY where 0 < y < 6 (the subgradient at both kinks is 0, as in PyTorch).
  public func backward(_ dY: Tensor) -> Tensor {
    var dX = dY
    cachedOutput.withPointer { yp in
      dX.withMutablePointer { d in
        for i in 0..<dY.count where !(yp[i] > 0 && yp[i] < 6) { d[i] = 0 }
      }
    }
    return dX
  }
}
