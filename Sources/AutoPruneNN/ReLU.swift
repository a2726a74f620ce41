/// Rectified linear unit, `y = max(x, 0)`, any shape.
public final class ReLU: Layer {
  private var cachedOutput = Tensor(shape: [0])

  public init() {}

  public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    // One pass into a fresh buffer (copying x and then clamping would read and write twice).
    let y = x.withUnsafeBufferPointer { xs in
      Tensor(shape: x.shape) { out in
        for i in out.indices { out[i] = max(xs[i], 0) }
      }
    }
    if context.training { cachedOutput = y }
    return y
  }

  // dX = dY where y > 0 (the subgradient at 0 is 0, as in PyTorch)
  public func backward(_ dY: Tensor) -> Tensor {
    cachedOutput.withUnsafeBufferPointer { y in
      dY.withUnsafeBufferPointer { g in
        Tensor(shape: dY.shape) { d in
          for i in d.indices { d[i] = y[i] > 0 ? g[i] : 0 }
        }
      }
    }
  }
}
