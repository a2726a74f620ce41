import AutoPruneKernels

/// Keeps the listed features of `[N, F]` in the listed order: `[N, k]`. A thinned network uses it
/// to drop the input pixels its first layer no longer reads.
public final class SelectFeatures: Layer {
  /// Input features kept, in output order; each in `0..<inputSize` (repeats add up in backward).
  public let indices: [Int]
  /// Features F per input sample, before selection.
  public let inputSize: Int

  /// Traps on an index outside `0..<inputSize`.
  public init(_ indices: [Int], of inputSize: Int) {
    precondition(indices.allSatisfy { $0 >= 0 && $0 < inputSize }, "feature index outside 0..<\(inputSize)")
    self.indices = indices
    self.inputSize = inputSize
  }

  public func outputShape(for inputShape: [Int]) -> [Int] { [indices.count] }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    let n = x.shape[0], k = indices.count, f = inputSize
    precondition(x.count == n * f, "SelectFeatures expects [N, \(f)], got \(x.shape)")
    return x.withUnsafeBufferPointer { input in
      Tensor(shape: [n, k]) { out in
        indices.withUnsafeBufferPointer { index in
          let source = SharedPointer(UnsafeMutablePointer(mutating: input.baseAddress!)), destination = SharedPointer(out.baseAddress!)
          let picks = SharedPointer(UnsafeMutablePointer(mutating: index.baseAddress!))
          // Samples split across threads once a share is worth waking a worker for (~16k copies).
          Parallel.forRanges(n, minPerThread: max(1, 16_384 / max(1, k))) { samples in
            for s in samples {
              let row = source + s * f, target = destination + s * k
              for j in 0..<k { target[j] = row[picks[j]] }
            }
          }
        }
      }
    }
  }

  /// Scatters the gradient back; features not selected get zero.
  public func backward(_ dY: Tensor) -> Tensor {
    let n = dY.shape[0], k = indices.count, f = inputSize
    var dX = Tensor(shape: [n, f])
    dY.withUnsafeBufferPointer { g in
      dX.withUnsafeMutableBufferPointer { out in
        for s in 0..<n {
          for (j, i) in indices.enumerated() { out[s * f + i] += g[s * k + j] }
        }
      }
    }
    return dX
  }
}
