import AutoPruneKernels

/// Reorders between the GEMM's channel-major `[C, N·P]` and the API's NCHW `[N, C, P]`.
enum Layout {
  static func channelMajorToBatchMajor(
    _ src: UnsafePointer<Float>, batch: Int, channels: Int, positions: Int,
    bias: UnsafePointer<Float>?, into dst: UnsafeMutablePointer<Float>
  ) {
    let s = SharedPointer(UnsafeMutablePointer(mutating: src))
    let d = SharedPointer(dst)
    Parallel.forRanges(batch) { range in
      for n in range {
        for c in 0..<channels {
          let from = s + (c * batch * positions + n * positions)
          let to = d + ((n * channels + c) * positions)
          let b = bias?[c] ?? 0
          for p in 0..<positions { to[p] = from[p] + b }
        }
      }
    }
  }

  static func batchMajorToChannelMajor(
    _ src: UnsafePointer<Float>, batch: Int, channels: Int, positions: Int,
    into dst: UnsafeMutablePointer<Float>
  ) {
    let s = SharedPointer(UnsafeMutablePointer(mutating: src))
    let d = SharedPointer(dst)
    Parallel.forRanges(batch) { range in
      for n in range {
        for c in 0..<channels {
          (d + (c * batch * positions + n * positions)).update(
            from: s + ((n * channels + c) * positions), count: positions)
        }
      }
    }
  }
}
