/// Rectified linear unit, `y = max(x, 0)`, any shape.
public final class ReLU: Layer {
  private var cachedOutput = Tensor(shape: [0])

  public init() {}

  public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    var y = x
    y.withUnsafeMutableBufferPointer { p in
      for i in p.indices { p[i] = max(p[i], 0) }
    }
    if context.training { cachedOutput = y }
    return y
  }

  // dX = dY where y > 0 (the subgradient at 0 is 0, as in PyTorch)
  public func backward(_ dY: Tensor) -> Tensor {
    var dX = dY
    cachedOutput.withUnsafeBufferPointer { y in
      dX.withUnsafeMutableBufferPointer { d in
        for i in d.indices where y[i] <= 0 { d[i] = 0 }
      }
    }
    return dX
  }
}
