import AutoPruneKernels

/// Rectified linear unit, `y = max(x, 0)`, any shape.
public final class ReLU: Layer {
  private var cachedOutput = Tensor(shape: [0])

  /// No settings. Training keeps the output rather than the input: `y > 0` exactly where `x > 0`.
  public init() {}

  public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    // One pass into a fresh buffer (copying x and then clamping would read and write twice).
    let y = x.withUnsafeBufferPointer { xs in
      Tensor(shape: x.shape) { out in
        let src = SharedPointer(UnsafeMutablePointer(mutating: xs.baseAddress!)), dst = SharedPointer(out.baseAddress!)
        // max(x, 0) with NaN kept, as Swift's max(x, 0) does; 65,536 floats a thread at least.
        Chunks.forEachInParallel(out.count) { i, lanes in
          let v = Chunks.load(src.base, i, lanes)
          Chunks.store(v.replacing(with: 0, where: v .< 0), dst.base, i, lanes)
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
          Chunks.forEachInParallel(d.count) { i, lanes in
            let y = Chunks.load(yp.base, i, lanes), g = Chunks.load(gp.base, i, lanes)
            Chunks.store(g.replacing(with: 0, where: .!(y .> 0)), dp.base, i, lanes)
          }
        }
      }
    }
  }
}
