import AutoPruneKernels

/// Reorders between the GEMM's channel-major `[C, N·P]` and the API's NCHW `[N, C, P]`.
enum Layout {
  /// `dst[n, c, p] = f(src[c, n·P + p] + bias[c] (+ residual[n, c, p]))`, `f` a ReLU when `relu`.
  static func channelMajorToBatchMajor(
    _ src: UnsafePointer<Float>, batch: Int, channels: Int, positions: Int,
    bias: UnsafePointer<Float>?, residual: UnsafePointer<Float>? = nil, relu: Bool = false, into dst: UnsafeMutablePointer<Float>
  ) {
    let s = SharedPointer(UnsafeMutablePointer(mutating: src))
    let d = SharedPointer(dst)
    let side = residual.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
    Parallel.forRanges(batch) { range in
      for n in range {
        for c in 0..<channels {
          let from = s + (c * batch * positions + n * positions)
          let at = (n * channels + c) * positions, to = d + at
          let b = bias?[c] ?? 0
          if let side {
            let add = side + at
            if relu {
              for p in 0..<positions { to[p] = max(from[p] + b + add[p], 0) }
            } else {
              for p in 0..<positions { to[p] = from[p] + b + add[p] }
            }
          } else if relu {
            for p in 0..<positions { to[p] = max(from[p] + b, 0) }
          } else {
            for p in 0..<positions { to[p] = from[p] + b }
          }
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
