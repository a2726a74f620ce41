import AutoPruneKernels

/// Convolution as k² shifted GEMMs over a zero-padded copy of each image, with no
/// im2col matrix.
///
/// With the input padded to `Hp × Wp` and stored row-major, the value tap (ky, kx) reads for
/// output (r, q) sits at `(r + ky)·Wp + q + kx`: the output position `r·Wp + q` plus a constant
/// offset. So when outputs are computed over whole padded-width rows (`q < Wp`, the last k − 1
/// columns of each row wasted and dropped), every tap is one plain GEMM
/// `W_tap[out, in] · Xpad[in, offset …]` accumulated into the same output. im2col wrote k² copies
/// of the input per sample; this reads the padded input k² times in place. Measured forward on
/// ResNet-20's shapes, one thread, 128 samples: 16 channels at 32 × 32 18.5 → 8.0 ms, 32 at 16 × 16
/// 10.5 → 7.1 ms, 64 at 8 × 8 9.9 → 7.2 ms.
///
/// Forward now reads the taps straight from the padded planes in `DirectShiftedConvolution`
/// (one register tile over all taps, no packing of the image, each output stored once).
///
/// Backward (stride 1): the weight gradient is a correlation of long rows,
/// `dW[o, c, t] = Σ_samples Σ_pos dYpad[o, pos] · Xpad[c, offset(t) + pos]`, summed by
/// `ap_conv_weight_gradient` over a block of samples at once (dYpad is zero in the wasted
/// columns, so they add nothing); the input gradient is the forward convolution of dY with the
/// flipped, transposed filters (`inputGradientConvolution`). Both replaced k² GEMM calls per
/// sample and direction, each packing its operands again (5,000 calls per LeNet-5 batch).
///
/// A stride-s convolution (forward only) becomes the same thing over the s² polyphase planes of
/// the padded image (`plane_ab[i][j] = padded[i·s + a][j·s + b]`): tap (ky, kx) reads plane
/// (ky mod s, kx mod s) at the constant offset (ky / s, kx / s) from output (r, q).
struct ShiftedConvolution {
  let channels: Int, outputs: Int, kernel: Int, padding: Int
  let height: Int, width: Int
  var stride = 1

  var paddedWidth: Int { width + 2 * padding }
  var paddedHeight: Int { height + 2 * padding }
  /// Row length of a polyphase plane (the padded width at stride 1).
  var rowWidth: Int { (paddedWidth + stride - 1) / stride }
  var rowCount: Int { (paddedHeight + stride - 1) / stride }
  var outputHeight: Int { (paddedHeight - kernel) / stride + 1 }
  var outputWidth: Int { (paddedWidth - kernel) / stride + 1 }
  /// Output columns computed per sample: whole plane-width rows.
  var span: Int { outputHeight * rowWidth }
  /// Floats per (polyphase) padded input plane; `kernel` more than the plane so the last tap's
  /// reads of the wasted columns stay inside.
  var paddedPlane: Int { rowCount * rowWidth + kernel }
  var taps: Int { kernel * kernel }
  var phases: Int { stride * stride }

  /// Copies one image into the interior of `padded` (whose border is zero and stays so), split
  /// into its polyphase planes (`[phase][channel][plane]`) at stride > 1.
  func pad(_ image: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>) {
    if stride == 1 {
      for c in 0..<channels {
        for r in 0..<height {
          copyRow(image + (c * height + r) * width, to: padded + c * paddedPlane + (r + padding) * paddedWidth + padding)
        }
      }
      return
    }
    // Column phase b takes every stride-th pixel from the first q with (q + padding) mod s = b;
    // the divisions happen once per row, not per pixel (they dominated the copy).
    let firstColumn = (0..<stride).map { b in ((b - padding) % stride + stride) % stride }
    for c in 0..<channels {
      for r in 0..<height {
        let py = r + padding, source = image + (c * height + r) * width
        if stride == 2 {
          deinterleave(source, plane: c, paddedRow: py, into: padded)
          continue
        }
        for b in 0..<stride {
          let q0 = firstColumn[b], phase = (py % stride) * stride + b
          let row = padded + (phase * channels + c) * paddedPlane + (py / stride) * rowWidth + (q0 + padding) / stride
          var j = 0
          for q in Swift.stride(from: q0, to: width, by: stride) {
            row[j] = source[q]
            j += 1
          }
        }
      }
    }
  }

  /// One image row into the padded plane, sixteen floats at a time: a `memcpy` call per row
  /// (512 per sample for 16 channels at 32 × 32) cost more than the copying.
  @inline(__always)
  private func copyRow(_ source: UnsafePointer<Float>, to row: UnsafeMutablePointer<Float>) {
    var q = 0
    while q + 16 <= width {
      UnsafeMutableRawPointer(row + q).storeBytes(of: UnsafeRawPointer(source + q).loadUnaligned(as: SIMD16<Float>.self), as: SIMD16<Float>.self)
      q += 16
    }
    while q < width {
      row[q] = source[q]
      q += 1
    }
  }

  /// Stride 2: one image row's even and odd pixels to their two column phases, sixteen at a
  /// time (the scalar scatter took half the time of ResNet's stride-2 convolutions).
  private func deinterleave(_ source: UnsafePointer<Float>, plane c: Int, paddedRow py: Int, into padded: UnsafeMutablePointer<Float>) {
    let rowStart = (py / 2) * rowWidth, rowPhase = (py % 2) * 2
    // Source column q lands at padded column q + padding: phase (q + padding) mod 2, index (q + padding) / 2.
    let even = padded + ((rowPhase + padding % 2) * channels + c) * paddedPlane + rowStart + padding / 2
    let odd = padded + ((rowPhase + (1 + padding) % 2) * channels + c) * paddedPlane + rowStart + (1 + padding) / 2
    var q = 0
    while q + 16 <= width {
      let v = UnsafeRawPointer(source + q).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(even + q / 2).storeBytes(of: v.evenHalf, as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(odd + q / 2).storeBytes(of: v.oddHalf, as: SIMD8<Float>.self)
      q += 16
    }
    while q < width {
      (q % 2 == 0 ? even : odd)[q / 2] = source[q]
      q += 1
    }
  }

  /// Offset of tap t: its polyphase plane, then its shift within the plane.
  func offset(_ t: Int) -> Int {
    let ky = t / kernel, kx = t % kernel
    return ((ky % stride) * stride + kx % stride) * channels * paddedPlane + (ky / stride) * rowWidth + kx / stride
  }

  /// Tap offsets, tap t = ky · kernel + kx (the order of the packed weights).
  var offsets: [Int] { (0..<taps).map(offset) }

  /// Floats of one sample's padded copy, with the slack the direct kernel's whole-tile reads need.
  var paddedCount: Int { phases * channels * paddedPlane + DirectShiftedConvolution.paddingSlack }

  /// One sample through `DirectShiftedConvolution`: `y = f(conv(image) + bias (+ residual))`.
  /// `padded` holds `paddedCount` floats with a zero border; `scratch`
  /// `DirectShiftedConvolution.scratchCount(span:)`.
  /// With `strips` (of 6 outputs) only those, from an image already in `padded`.
  func forwardDirect(
    _ image: UnsafePointer<Float>, packed: UnsafePointer<Float>, offsets: UnsafePointer<Int>, bias: UnsafePointer<Float>,
    residual: UnsafePointer<Float>?, relu: Bool, padded: UnsafeMutablePointer<Float>, strips: Range<Int>? = nil,
    scratch: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>
  ) {
    if strips == nil { pad(image, into: padded) }
    DirectShiftedConvolution.forward(
      padded: padded, planeStride: paddedPlane, channels: channels, offsets: offsets, taps: taps, packed: packed, outputs: outputs,
      paddedWidth: rowWidth, outputHeight: outputHeight, outputWidth: outputWidth, bias: bias, residual: residual, relu: relu,
      strips: strips, scratch: scratch, into: y)
  }

  // MARK: Backward (stride 1)

  /// Floats of one sample's padded input in a gradient block: the planes and 16 floats of slack,
  /// because the weight-gradient kernel reads `spanRounded` floats from each tap's offset.
  var gradientSampleStride: Int { channels * paddedPlane + 16 }
  /// The output span rounded up to whole 16-float vectors (zeros past `span`).
  var spanRounded: Int { (span + 15) / 16 * 16 }

  /// Where the weight-gradient kernel reads row `c · taps + t` (input channel c seen by tap t) in
  /// one sample's padded input: the order of PyTorch's `[out, in, ky, kx]` weight layout.
  var weightGradientRows: [Int] {
    (0..<channels).flatMap { c in (0..<taps).map { t in c * paddedPlane + offset(t) } }
  }

  /// The input gradient of a stride-1 convolution is itself a stride-1 convolution: of dY padded
  /// by `kernel − 1 − padding`, with each filter's taps reversed and inputs and outputs swapped
  /// (`dX[c, r, q] = Σ_o Σ_ky,kx W[o, c, k−1−ky, k−1−kx] · dYpad[o, r + ky, q + kx]`). So it runs
  /// on the direct forward kernel, with no per-tap products. Nil where that padding would be
  /// negative (padding ≥ kernel) or the stride is not 1.
  var inputGradientConvolution: ShiftedConvolution? {
    guard stride == 1, padding <= kernel - 1 else { return nil }
    return ShiftedConvolution(
      channels: outputs, outputs: channels, kernel: kernel, padding: kernel - 1 - padding, height: outputHeight, width: outputWidth)
  }

  /// `weight[out, in, ky, kx]` as the input-gradient convolution's packed weights: `[in][out]`
  /// with the taps reversed, in `DirectShiftedConvolution.packWeights` order.
  func inputGradientWeights(_ weight: UnsafePointer<Float>) -> [Float] {
    var flipped = [Float](repeating: 0, count: outputs * channels * taps)
    for o in 0..<outputs {
      for c in 0..<channels {
        for t in 0..<taps { flipped[(c * outputs + o) * taps + taps - 1 - t] = weight[(o * channels + c) * taps + t] }
      }
    }
    return flipped.withUnsafeBufferPointer {
      DirectShiftedConvolution.packWeights($0.baseAddress!, outputs: channels, channels: outputs, taps: taps, scale: nil)
    }
  }

  /// One sample's dY (`[out, OH, OW]`) into the weight-gradient layout (`[out][spanRounded]`,
  /// row r at r·Wp, whose other columns stay zero), adding each channel's sum to `dB`.
  func scatterGradient(_ dY: UnsafePointer<Float>, into rows: UnsafeMutablePointer<Float>, dB: UnsafeMutablePointer<Float>) {
    for o in 0..<outputs {
      var sum: Float = 0
      for r in 0..<outputHeight {
        let src = dY + (o * outputHeight + r) * outputWidth, dst = rows + o * spanRounded + r * paddedWidth
        for q in 0..<outputWidth {
          dst[q] = src[q]
          sum += src[q]
        }
      }
      dB[o] += sum
    }
  }
}
