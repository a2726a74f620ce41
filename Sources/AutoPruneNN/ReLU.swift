import AutoPruneKernels

/// Rectified linear unit, `y = max(x, 0)`, any shape.
public final class ReLU: Layer {
  private var cachedOutput = Tensor(shape: [0])

  public init() {}

  public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    // One pass into a fresh buffer (copying x and then clamping would read and write twice).
    let y = x.withUnsafeBufferPointer { xs in
      Tensor(shape: x.shape) { out in
        let src = SharedPointer(UnsafeMutablePointer(mutating: xs.baseAddress!)), dst = SharedPointer(out.baseAddress!)
        Parallel.forRanges(out.count, minPerThread: 65_536) { range in
          for i in range { dst[i] = max(src[i], 0) }
        }
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
          let yp = SharedPointer(UnsafeMutablePointer(mutating: y.baseAddress!)), gp = SharedPointer(UnsafeMutablePointer(mutating: g.baseAddress!))
          let dp = SharedPointer(d.baseAddress!)
          Parallel.forRanges(d.count, minPerThread: 65_536) { range in
            for i in range { dp[i] = yp[i] > 0 ? gp[i] : 0 }
          }
        }
      }
    }
  }
}
