import AutoPruneKernels
import Foundation

/// What this machine can do at best, measured here, so `bench` prints how far a figure is from
/// the physical limit rather than leaving it to be guessed: the GEMM rate of the active kernel
/// set on a large square product, and the rate at which the cores read a buffer of a given size
/// (from whichever cache level holds it).
enum MachineLimits {
  nonisolated(unsafe) private static var cachedPeak: Double?

  /// GFLOP/s of the built-in GEMM on 1024³ with the configured threads (measured once per run).
  static func gemmPeak(budget: Double) -> Double {
    if let cachedPeak { return cachedPeak }
    let n = 1024
    let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    let seconds = Bench.secondsPerCall(budget: max(budget, 0.3)) {
      GEMM.multiply(.none, .none, m: n, n: n, k: n, a: a, lda: n, b: b, ldb: n, c: &c, ldc: n, using: .builtin)
    }
    let peak = 2 * Double(n * n * n) / seconds / 1e9
    cachedPeak = peak
    return peak
  }

  nonisolated(unsafe) private static var cachedBandwidths: [Int: Double] = [:]

  /// GB/s at which the configured threads read `bytes` of floats, already in cache if they fit,
  /// as a one-image forward reads its weights (measured once per size and run: the forms of a
  /// model share sizes across batch sizes).
  static func readBandwidth(bytes: Int, budget: Double) -> Double {
    if let cached = cachedBandwidths[bytes] { return cached }
    let count = max(16, bytes / 4)
    let parts = count >= 1 << 16 ? Parallel.threads : 1
    let buffer = [Float](repeating: 1, count: count)
    var sink: Float = 0
    let seconds = buffer.withUnsafeBufferPointer { p in
      let base = SharedPointer(UnsafeMutablePointer(mutating: p.baseAddress!))
      return Bench.secondsPerCall(budget: budget) {
        var partial = [Float](repeating: 0, count: parts)
        partial.withUnsafeMutableBufferPointer { out in
          let sums = SharedPointer(out.baseAddress!)
          Parallel.forEach(parts) { part in
            let range = Parallel.share(of: count, part: part, parts: parts)
            // Four running sums, so the loads and not the chain of additions set the pace.
            var totals = (Chunks.Vector(), Chunks.Vector(), Chunks.Vector(), Chunks.Vector())
            let start = base.base + range.lowerBound
            var i = 0
            while i + 64 <= range.count {
              totals.0 += Chunks.load(start, i, 16)
              totals.1 += Chunks.load(start, i + 16, 16)
              totals.2 += Chunks.load(start, i + 32, 16)
              totals.3 += Chunks.load(start, i + 48, 16)
              i += 64
            }
            Chunks.forEach(range.count - i) { j, lanes in totals.0 += Chunks.load(start, i + j, lanes) }
            sums[part] = (totals.0 + totals.1 + totals.2 + totals.3).sum()
          }
        }
        sink += partial.reduce(0, +)
      }
    }
    if sink.isNaN { print("") }  // keeps the sums from being optimised away
    let bandwidth = Double(count * 4) / seconds / 1e9
    cachedBandwidths[bytes] = bandwidth
    return bandwidth
  }
}
