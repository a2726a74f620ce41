import CAutoPruneKernels

/// Forward of a convolution read straight from zero-padded input planes, one 6 × 32 register
/// tile of outputs at a time, with the bias, a residual and a ReLU applied as the outputs are
/// written. A stride-s convolution arrives as the s² polyphase planes of its padded input
/// (`ShiftedConvolution`), where every tap is again a constant offset, so the kernel is the same.
///
/// The shifted lowering (each tap a GEMM over the padded image at a constant offset) called the
/// BLAS once per tap: every call packed its slice of the image again, the k² calls read and
/// wrote the output back k² times, and a thin layer (a pruned conv keeping 1–30 filters) ran
/// far below the dense rate. Here every tap and channel of one tile is summed in registers
/// (k = taps × channels, the B rows read in place from the padded planes), so nothing is packed
/// but the weights, and each output is stored once.
///
/// Layouts: `padded` holds `channels` planes, `planeStride` floats apart, each `Hp × Wp` with the
/// image in its interior; output position `r·Wp + q` of tap `t` reads `padded[offsets[t] + r·Wp + q]`.
/// Reads run up to `columns − 1` floats past the last output of a plane (whole tiles), so the
/// buffer needs `paddingSlack` floats after the last plane.
public enum DirectShiftedConvolution {
  /// Output channels per register tile.
  public static let rows = 6
  /// Padded-row positions per register tile.
  public static let columns = 32
  /// Floats a padded buffer needs past its last plane for the whole-tile reads (up to a
  /// 64-column tile past the last output).
  public static let paddingSlack = 2 * columns

  /// `weight[out, in, tap]` times `scale[out]` (when given), regrouped as 6-output strips:
  /// `[strip][tap][in][6]`, the missing outputs of the last strip zero.
  public static func packWeights(
    _ weight: UnsafePointer<Float>, outputs: Int, channels: Int, taps: Int, scale: UnsafePointer<Float>?
  ) -> [Float] {
    var packed = [Float](repeating: 0, count: stripCount(outputs) * taps * channels * rows)
    for o in 0..<outputs {
      let s = scale?[o] ?? 1, strip = o / rows, lane = o % rows
      for c in 0..<channels {
        for t in 0..<taps {
          packed[((strip * taps + t) * channels + c) * rows + lane] = weight[(o * channels + c) * taps + t] * s
        }
      }
    }
    return packed
  }

  /// 6-output strips of a layer with `outputs` filters (`forward` can run a range of them).
  public static func stripCount(_ outputs: Int) -> Int { (outputs + rows - 1) / rows }

  /// Floats of scratch `forward` needs: one strip of outputs over the padded span.
  public static func scratchCount(span: Int) -> Int { rows * roundUp(span, to: 2 * columns) }

  static func roundUp(_ count: Int, to multiple: Int) -> Int { (count + multiple - 1) / multiple * multiple }

  /// One image: `y[o, r, q] = f(Σ_t Σ_c w[o, c, t] · padded[c, offsets[t] + r·Wp + q] + bias[o]
  /// (+ residual[o, r, q]))` for `r < outputHeight`, `q < outputWidth`, with `f` a ReLU when
  /// `relu`, else the identity, for the outputs of `strips` (all when nil). `packed` comes from
  /// `packWeights`; `scratch` holds `scratchCount(span:)` floats, `span = outputHeight · Wp`.
  public static func forward(
    padded: UnsafePointer<Float>, planeStride: Int, channels: Int, offsets: UnsafePointer<Int>, taps: Int,
    packed: UnsafePointer<Float>, outputs: Int, paddedWidth: Int, outputHeight: Int, outputWidth: Int,
    bias: UnsafePointer<Float>, residual: UnsafePointer<Float>?, relu: Bool,
    strips: Range<Int>? = nil, scratch: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>
  ) {
    let span = outputHeight * paddedWidth, plane = outputHeight * outputWidth
    for strip in strips ?? 0..<stripCount(outputs) {
      let a = packed + strip * taps * channels * rows
      // One or two outputs left (a thin pruned layer): a 2 × 64 tile instead of wasting four of
      // the six rows.
      let narrow = outputs - strip * rows <= 2
      let width = narrow ? 2 * columns : columns, stride = roundUp(span, to: width)
      for col0 in Swift.stride(from: 0, to: span, by: width) {
        if narrow {
          ap_conv_narrow_tile(a, padded + col0, planeStride, channels, offsets, taps, scratch + col0, stride)
        } else {
          ap_conv_tile(a, padded + col0, planeStride, channels, offsets, taps, scratch + col0, stride)
        }
      }
      // The epilogue row by row of the image, 16 floats at a time (scalar loops with a max per
      // element stayed scalar in a generic build).
      for lane in 0..<min(rows, outputs - strip * rows) {
        let o = strip * rows + lane, b = Chunks.Vector(repeating: bias[o])
        for r in 0..<outputHeight {
          let src = UnsafePointer(scratch + lane * stride + r * paddedWidth), dst = y + o * plane + r * outputWidth
          let side = residual.map { $0 + o * plane + r * outputWidth }
          Chunks.forEach(outputWidth) { q, lanes in
            var v = Chunks.load(src, q, lanes) + b
            if let side { v += Chunks.load(side, q, lanes) }
            if relu { v = v.replacing(with: 0, where: v .< 0) }
            Chunks.store(v, dst, q, lanes)
          }
        }
      }
    }
  }

  /// Weight gradient of a stride-1 convolution over a block of samples, as correlations of long
  /// rows: `dW[o·ldw + j] += Σ_s Σ_{k < span} dY[s·dYSample + o·dYChannel + k] ·
  /// x[s·xSample + xRows[j] + k]` for o < outputs, j < xRows.count. `span` is a multiple of 16,
  /// and every row must be readable for `span` floats (dY zero where x runs past the image).
  public static func weightGradient(
    dY: UnsafePointer<Float>, dYChannel: Int, dYSample: Int, x: UnsafePointer<Float>, xRows: UnsafePointer<Int>, rows: Int,
    xSample: Int, samples: Int, span: Int, outputs: Int, into dW: UnsafeMutablePointer<Float>, ldw: Int
  ) {
    precondition(span % 16 == 0, "weightGradient: span \(span) is not a multiple of 16")
    ap_conv_weight_gradient(dY, dYChannel, dYSample, x, xRows, xSample, samples, span, outputs, rows, dW, ldw)
  }
}
