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
          narrowTile(a, padded + col0, planeStride: planeStride, channels: channels, offsets: offsets, taps: taps, into: scratch + col0, ldc: stride)
        } else {
          tile(a, padded + col0, planeStride: planeStride, channels: channels, offsets: offsets, taps: taps, into: scratch + col0, ldc: stride)
        }
      }
      // The epilogue row by row of the image: contiguous runs, so it vectorises.
      for lane in 0..<min(rows, outputs - strip * rows) {
        let o = strip * rows + lane, b = bias[o]
        for r in 0..<outputHeight {
          let src = scratch + lane * stride + r * paddedWidth, dst = y + o * plane + r * outputWidth
          if let residual {
            let side = residual + o * plane + r * outputWidth
            if relu {
              for q in 0..<outputWidth { dst[q] = max(src[q] + b + side[q], 0) }
            } else {
              for q in 0..<outputWidth { dst[q] = src[q] + b + side[q] }
            }
          } else if relu {
            for q in 0..<outputWidth { dst[q] = max(src[q] + b, 0) }
          } else {
            for q in 0..<outputWidth { dst[q] = src[q] + b }
          }
        }
      }
    }
  }

  /// c[0..<6, 0..<32] = Σ_t Σ_ch a[t][ch][0..<6] ⊗ b[ch · planeStride + offsets[t] ..< +32].
  @inline(__always)
  static func tile(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, planeStride: Int, channels: Int,
    offsets: UnsafePointer<Int>, taps: Int, into c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var ap = a
    let step = planeStride * MemoryLayout<Float>.stride
    for t in 0..<taps {
      var bp = UnsafeRawPointer(b + offsets[t])
      for _ in 0..<channels {
        let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
        let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        var x = SIMD16<Float>(repeating: ap[0])
        BuiltinGEMM.fused(&c00, x, b0); BuiltinGEMM.fused(&c01, x, b1)
        x = SIMD16<Float>(repeating: ap[1])
        BuiltinGEMM.fused(&c10, x, b0); BuiltinGEMM.fused(&c11, x, b1)
        x = SIMD16<Float>(repeating: ap[2])
        BuiltinGEMM.fused(&c20, x, b0); BuiltinGEMM.fused(&c21, x, b1)
        x = SIMD16<Float>(repeating: ap[3])
        BuiltinGEMM.fused(&c30, x, b0); BuiltinGEMM.fused(&c31, x, b1)
        x = SIMD16<Float>(repeating: ap[4])
        BuiltinGEMM.fused(&c40, x, b0); BuiltinGEMM.fused(&c41, x, b1)
        x = SIMD16<Float>(repeating: ap[5])
        BuiltinGEMM.fused(&c50, x, b0); BuiltinGEMM.fused(&c51, x, b1)
        ap += rows
        bp += step
      }
    }
    store(c, c00, c01)
    store(c + ldc, c10, c11)
    store(c + 2 * ldc, c20, c21)
    store(c + 3 * ldc, c30, c31)
    store(c + 4 * ldc, c40, c41)
    store(c + 5 * ldc, c50, c51)
  }

  /// c[0..<2, 0..<64] from the first two lanes of each 6-output group of `a`.
  @inline(__always)
  static func narrowTile(
    _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, planeStride: Int, channels: Int,
    offsets: UnsafePointer<Int>, taps: Int, into c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>(), c02 = SIMD16<Float>(), c03 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>(), c12 = SIMD16<Float>(), c13 = SIMD16<Float>()
    var ap = a
    let step = planeStride * MemoryLayout<Float>.stride
    for t in 0..<taps {
      var bp = UnsafeRawPointer(b + offsets[t])
      for _ in 0..<channels {
        let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
        let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
        let b2 = bp.loadUnaligned(fromByteOffset: 128, as: SIMD16<Float>.self)
        let b3 = bp.loadUnaligned(fromByteOffset: 192, as: SIMD16<Float>.self)
        var x = SIMD16<Float>(repeating: ap[0])
        BuiltinGEMM.fused(&c00, x, b0); BuiltinGEMM.fused(&c01, x, b1); BuiltinGEMM.fused(&c02, x, b2); BuiltinGEMM.fused(&c03, x, b3)
        x = SIMD16<Float>(repeating: ap[1])
        BuiltinGEMM.fused(&c10, x, b0); BuiltinGEMM.fused(&c11, x, b1); BuiltinGEMM.fused(&c12, x, b2); BuiltinGEMM.fused(&c13, x, b3)
        ap += rows
        bp += step
      }
    }
    store(c, c00, c01)
    store(c + columns, c02, c03)
    store(c + ldc, c10, c11)
    store(c + ldc + columns, c12, c13)
  }

  @inline(__always)
  static func store(_ row: UnsafeMutablePointer<Float>, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>) {
    let raw = UnsafeMutableRawPointer(row)
    raw.storeBytes(of: lo, as: SIMD16<Float>.self)
    raw.storeBytes(of: hi, toByteOffset: 64, as: SIMD16<Float>.self)
  }
}
