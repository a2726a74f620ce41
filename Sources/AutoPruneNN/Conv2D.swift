import AutoPruneKernels

/// A 2-D convolution over NCHW images, like `nn.Conv2d` (square kernel, stride, zero padding).
///
/// Shapes: x is `[N, C, H, W]`, weight is `[out, C, k, k]`, bias is `[out]`,
/// y is `[N, out, OH, OW]`.
///
/// Forward runs `DirectShiftedConvolution` (register tiles read straight from a padded copy of
/// each image, strides > 1 through polyphase planes) where its tiles are mostly real outputs;
/// inference can fold a BatchNorm, a residual addition and a ReLU into how it writes the outputs
/// (`forward(_:epilogue:)`). Backward of a stride-1 convolution computes the weight gradient as
/// row correlations over blocks of samples and the input gradient as a direct convolution of dY
/// (`usesShiftedLowering`, `usesShiftedInputGradient`). The rest (small planes forward, stride-2
/// backward, input gradients that would be mostly padding) is lowered through im2col + GEMM a
/// chunk of samples at a time: each chunk's column matrix (about 256 output positions wide) stays
/// in cache between im2col and GEMM, and threads work on different chunks.
///
/// ```swift
/// let conv1 = Conv2D(1, 20, kernelSize: 5, rng: rng)
/// ```
public final class Conv2D: Layer, InputGradientOptional {
  /// Channels C of the input `[N, C, H, W]`.
  public let inputChannels: Int
  /// Filters, and so the channels of the output.
  public let outputChannels: Int
  /// Side k of the square kernel, in pixels.
  public let kernelSize: Int
  /// Step between windows along both axes.
  public let stride: Int
  /// Zero pixels added on every side of the input.
  public let padding: Int
  /// `[out, C, k, k]`: the tensor pruning gates act on.
  public let weight: Parameter
  /// The bias; with `hasBias` false it stays zero and is not a parameter (not trained, saved or
  /// counted), as for convolutions followed by BatchNorm (`nn.Conv2d(…, bias=False)`).
  public let bias: Parameter
  /// Whether `bias` is trained and saved: false where a BatchNorm follows, whose β would duplicate it.
  public let hasBias: Bool
  public var computesInputGradient = true
  private var cachedInput = Tensor(shape: [0])
  private var packedCache: (version: Int, scale: [Float]?, packed: [Float])?

  /// Output positions per chunk. LeNet-5 conv2 forward+backward per batch of 100, OpenBLAS:
  /// 128 → 8.4 ms, 256 → 8.7, 512 → 9.7, 1024 → 10.4, 2048 → 13.2 (whole batch: 15).
  static let chunkColumns = 256

  /// Draws the weights (and bias) from `rng` as `nn.Conv2d` initialises them, so the seed fixes
  /// the starting model.
  public init(
    _ inputChannels: Int, _ outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    bias hasBias: Bool = true, rng: RandomSource
  ) {
    self.hasBias = hasBias
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    let fanIn = inputChannels * kernelSize * kernelSize
    var w = Tensor(shape: [outputChannels, inputChannels, kernelSize, kernelSize])
    var b = Tensor(shape: [outputChannels])
    Initializer.kaimingUniform(&w, fanIn: fanIn, rng: rng)
    if hasBias { Initializer.biasUniform(&b, fanIn: fanIn, rng: rng) }
    weight = Parameter(name: "weight", value: w, prunable: true)
    bias = Parameter(name: "bias", value: b, prunable: false)
  }

  public var parameters: [Parameter] { hasBias ? [weight, bias] : [weight] }

  /// The window geometry for one sample `[C, H, W]`; traps when C is not `inputChannels`.
  public func geometry(for inputShape: [Int]) -> ConvGeometry {
    precondition(inputShape.count == 3 && inputShape[0] == inputChannels,
                 "Conv2D(\(inputChannels)→\(outputChannels)) got per-sample input \(inputShape)")
    return ConvGeometry(
      channels: inputChannels, height: inputShape[1], width: inputShape[2],
      kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding)
  }

  public func outputShape(for inputShape: [Int]) -> [Int] {
    let g = geometry(for: inputShape)
    return [outputChannels, g.outputHeight, g.outputWidth]
  }

  /// Samples per chunk, chunk count, and how many threads share them, for a batch of `n`.
  private func plan(batch n: Int, positions: Int) -> (samples: Int, chunks: Int, parts: Int) {
    let samples = max(1, min(n, Conv2D.chunkColumns / max(1, positions)))
    let chunks = (n + samples - 1) / samples
    return (samples, chunks, max(1, min(Parallel.available, chunks)))
  }

  /// How backward is computed: chosen per shape (`automatic`), or forced (the benchmark and
  /// tests compare the two). A forced `shifted` that cannot run (stride ≠ 1, padding ≥ kernel)
  /// falls back to im2col.
  public var backwardLowering = ConvolutionLowering.automatic

  /// Whether backward runs the shifted lowering (`ShiftedConvolution`: the weight gradient as
  /// row correlations over blocks of samples, the input gradient as a direct convolution of dY
  /// where that pays, `usesShiftedInputGradient`) rather than im2col + GEMM. It needs stride 1
  /// and padding < kernel, and is the automatic choice wherever it can run: measured with
  /// `autoprune bench --only conv` (AMD EPYC family 25 model 17, AVX-512, 2 threads) the weight
  /// gradient of LeNet-5's conv1 took 1.3 ms against im2col's 2.0, ResNet-20's 16-channel 3 × 3
  /// convolution forward+backward 12 ms against 21, and LeNet-5's conv2 3.0 against 2.8 (a tie).
  public var usesShiftedLowering: Bool {
    guard stride == 1, padding < kernelSize else { return false }
    return backwardLowering != .im2col
  }

  /// Whether the input gradient runs as the direct convolution of dY padded by k − 1 − p
  /// (`ShiftedConvolution.inputGradientConvolution`) rather than im2col's GEMM and col2im. That
  /// convolution computes every input position from a full window of dY, most of it zero
  /// padding when the kernel is large for the image: LeNet-5's conv2 (5 × 5, 8 × 8 outputs)
  /// reads 64 real outputs per 192 computed and took 4.4 ms against im2col's 2.9 (AVX-512, 2
  /// threads, batch 100); ResNet's 3 × 3 convolutions waste 6–20% and win. The rule: direct when
  /// at least 60% of the computed positions are real.
  public func usesShiftedInputGradient(for g: ConvGeometry) -> Bool {
    guard let transposed = shifted(for: g).inputGradientConvolution else { return false }
    return 10 * g.outputHeight * g.outputWidth >= 6 * transposed.span
  }

  func shifted(for g: ConvGeometry) -> ShiftedConvolution {
    ShiftedConvolution(
      channels: inputChannels, outputs: outputChannels, kernel: kernelSize, padding: padding, height: g.height, width: g.width, stride: stride)
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    if context.training { cachedInput = x }
    return forward(x, epilogue: ConvolutionEpilogue())
  }

  /// Inference forward with `epilogue` applied as the outputs are written: BatchNorm folded
  /// into the weights and bias, a residual added, a ReLU. Nothing is cached for backward.
  public func forward(_ x: Tensor, epilogue: ConvolutionEpilogue) -> Tensor {
    let g = geometry(for: Array(x.shape.dropFirst()))
    let o = outputChannels
    let foldedBias = epilogue.foldedBias(bias.effective.storage)
    if let residual = epilogue.residual {
      precondition(residual.shape == [x.shape[0]] + outputShape(for: Array(x.shape.dropFirst())),
                   "Conv2D: residual of shape \(residual.shape) for output \(outputShape(for: Array(x.shape.dropFirst())))")
    }
    if usesDirectKernel(for: g) {
      var y = directForward(x, g, scale: epilogue.scale, bias: foldedBias, residual: epilogue.residual, relu: epilogue.relu)
      epilogue.clampAbove(&y)
      return y
    }
    var folded = weight.effective
    if let scale = epilogue.scale {
      folded.withUnsafeMutableBufferPointer { w in
        for c in 0..<o {
          for i in 0..<g.patchSize { w[c * g.patchSize + i] *= scale[c] }
        }
      }
    }
    var y = im2colForward(x, g, weight: folded, bias: foldedBias, residual: epilogue.residual, relu: epilogue.relu)
    epilogue.clampAbove(&y)
    return y
  }

  /// Forward runs `DirectShiftedConvolution` whatever the stride, batch and channel count (it
  /// packs nothing but the weights, so thin pruned layers keep their speed) when at least 60% of
  /// its 32-column tiles are real outputs: ResNet's 32 × 32 to 8 × 8 stages (89–67%), LeNet-5.
  /// On smaller images (VGG's 4 × 4 and 2 × 2 stages: 50% and 12%) im2col + GEMM fills its
  /// columns from many samples instead.
  public func usesDirectKernel(for g: ConvGeometry) -> Bool {
    let plan = shifted(for: g)
    let tiles = (plan.span + DirectShiftedConvolution.columns - 1) / DirectShiftedConvolution.columns
    return 10 * plan.outputHeight * plan.outputWidth >= 6 * tiles * DirectShiftedConvolution.columns
  }

  // per chunk of S samples: cols (C·k·k, S·P) = im2col(x);  Y' (out, S·P) = W · cols;
  // y[n, o, p] = f(Y'[o, n·P + p] + b[o] (+ residual[n, o, p]))
  private func im2colForward(_ x: Tensor, _ g: ConvGeometry, weight: Tensor, bias: [Float], residual: Tensor?, relu: Bool) -> Tensor {
    let n = x.shape[0]
    let positions = g.outputPositions
    let imageSize = g.channels * g.height * g.width
    let (samples, chunks, parts) = plan(batch: n, positions: positions)
    let o = outputChannels
    return x.withPointer { xp in
      weight.withPointer { wp in
        bias.withUnsafeBufferPointer { bp in
          (residual ?? Tensor(shape: [1])).withPointer { rp in
            Tensor(shape: [n, o, g.outputHeight, g.outputWidth]) { yBuffer in
              let yp = yBuffer.baseAddress!
              let side = residual == nil ? nil : SharedPointer(UnsafeMutablePointer(mutating: rp))
              Parallel.forEach(parts) { part in
                let cols = UnsafeMutablePointer<Float>.allocate(capacity: g.patchSize * samples * positions)
                let product = UnsafeMutablePointer<Float>.allocate(capacity: o * samples * positions)
                defer {
                  cols.deallocate()
                  product.deallocate()
                }
                for chunk in Parallel.share(of: chunks, part: part, parts: parts) {
                  let first = chunk * samples, count = min(samples, n - first)
                  let width = count * positions
                  Im2Col.lower(xp + first * imageSize, batch: count, geometry: g, into: cols)
                  GEMM.multiply(
                    .none, .none, m: o, n: width, k: g.patchSize, a: wp, lda: g.patchSize, b: cols,
                    ldb: width, c: product, ldc: width)
                  Layout.channelMajorToBatchMajor(
                    product, batch: count, channels: o, positions: positions, bias: bp.baseAddress!,
                    residual: side.map { UnsafePointer($0 + first * o * positions) }, relu: relu, into: yp + first * o * positions)
                }
              }
            }
          }
        }
      }
    }
  }

  // per chunk: dY' (out, S·P) from dY;  dWeight += dY' · colsᵀ;  dBias += Σ dY';
  // dX = col2im(Wᵀ · dY'). Each thread sums into its own partial gradient and the partials are
  // added in thread order, so the result is the same on every run with the same thread count.
  public func backward(_ dY: Tensor) -> Tensor {
    let x = cachedInput
    precondition(x.shape.count == 4, "Conv2D.backward before a training forward")
    let g = geometry(for: Array(x.shape.dropFirst()))
    let shiftedWeights = usesShiftedLowering
    let shiftedInput = computesInputGradient && shiftedWeights && usesShiftedInputGradient(for: g)
    var dX = Tensor(shape: [0])
    if shiftedWeights { dX = shiftedBackward(dY, x, g, inputGradient: shiftedInput) }
    if !shiftedWeights || (computesInputGradient && !shiftedInput) {
      let im2colDX = im2colBackward(dY, x, g, weightGradient: !shiftedWeights)
      if computesInputGradient { dX = im2colDX }
    }
    return dX
  }

  /// Weight and bias gradients (when `weightGradient`) and the input gradient (when the layer
  /// computes it) through im2col + GEMM, a chunk of samples at a time.
  private func im2colBackward(_ dY: Tensor, _ x: Tensor, _ g: ConvGeometry, weightGradient: Bool) -> Tensor {
    let n = x.shape[0]
    let positions = g.outputPositions
    let imageSize = g.channels * g.height * g.width
    let (samples, chunks, parts) = plan(batch: n, positions: positions)
    let o = outputChannels
    let weightCount = o * g.patchSize
    var partialWeights = [Float](repeating: 0, count: parts * weightCount)
    var partialBiases = [Float](repeating: 0, count: parts * o)
    let needsInput = computesInputGradient
    var dX = Tensor(shape: needsInput ? x.shape : [0]) { _ in }  // col2im writes every image whole
    x.withPointer { xp in
      dY.withPointer { dyp in
        weight.effective.withPointer { wp in
          partialWeights.withUnsafeMutableBufferPointer { pw in
            partialBiases.withUnsafeMutableBufferPointer { pb in
              dX.withUnsafeMutableBufferPointer { dxBuffer in
                let dWeights = pw.baseAddress!, dBiases = pb.baseAddress!, dxp = dxBuffer.baseAddress
                Parallel.forEach(parts) { part in
                  let cols = UnsafeMutablePointer<Float>.allocate(capacity: weightGradient ? g.patchSize * samples * positions : 0)
                  let dProduct = UnsafeMutablePointer<Float>.allocate(capacity: o * samples * positions)
                  let dCols = UnsafeMutablePointer<Float>.allocate(capacity: needsInput ? g.patchSize * samples * positions : 0)
                  defer {
                    cols.deallocate()
                    dProduct.deallocate()
                    dCols.deallocate()
                  }
                  let dW = dWeights + part * weightCount, dB = dBiases + part * o
                  for chunk in Parallel.share(of: chunks, part: part, parts: parts) {
                    let first = chunk * samples, count = min(samples, n - first)
                    let width = count * positions
                    Layout.batchMajorToChannelMajor(
                      dyp + first * o * positions, batch: count, channels: o, positions: positions, into: dProduct)
                    if weightGradient {
                      Im2Col.lower(xp + first * imageSize, batch: count, geometry: g, into: cols)
                      GEMM.multiply(
                        .none, .transposed, m: o, n: g.patchSize, k: width, a: dProduct, lda: width, b: cols,
                        ldb: width, beta: 1, c: dW, ldc: g.patchSize)
                      for channel in 0..<o {
                        let row = dProduct + channel * width
                        var sum: Float = 0
                        for j in 0..<width { sum += row[j] }
                        dB[channel] += sum
                      }
                    }
                    guard needsInput, let dxp else { continue }
                    GEMM.multiply(
                      .transposed, .none, m: g.patchSize, n: width, k: o, a: wp, lda: g.patchSize, b: dProduct,
                      ldb: width, c: dCols, ldc: width)
                    Im2Col.raise(dCols, batch: count, geometry: g, into: dxp + first * imageSize)
                  }
                }
              }
            }
          }
        }
      }
    }
    if weightGradient {
      Conv2D.accumulate(partialWeights, parts: parts, into: &weight.grad)
      if hasBias { Conv2D.accumulate(partialBiases, parts: parts, into: &bias.grad) }
    }
    return dX
  }

  /// grad += partial[0] + partial[1] + … in that order.
  private static func accumulate(_ partials: [Float], parts: Int, into grad: inout Tensor) {
    let count = grad.count
    grad.withUnsafeMutableBufferPointer { g in
      for part in 0..<parts {
        for i in 0..<count { g[i] += partials[part * count + i] }
      }
    }
  }

  /// The weights packed for the direct kernel (times `scale` when given), kept until the weight,
  /// its mask or the scale change: inference packs once, not per call. Measured at batch 1
  /// (`bench --only inference`, AMD EPYC family 25 model 17): dense LeNet-5 97–104 → 56–59 µs,
  /// ResNet-20 1.28–1.32 → 0.86–1.01 ms.
  private func packedWeights(taps: Int, scale: [Float]?) -> [Float] {
    if let cached = packedCache, cached.version == weight.version, cached.scale == scale { return cached.packed }
    let packed = weight.effective.withPointer { w in
      (scale ?? []).withUnsafeBufferPointer { s in
        DirectShiftedConvolution.packWeights(
          w, outputs: outputChannels, channels: inputChannels, taps: taps, scale: scale == nil ? nil : s.baseAddress)
      }
    }
    packedCache = (weight.version, scale, packed)
    return packed
  }

  /// Samples split in contiguous shares, one per thread, each with its own padded buffers; with
  /// fewer samples than threads, each sample's output strips are shared instead.
  private func directForward(_ x: Tensor, _ g: ConvGeometry, scale: [Float]?, bias: [Float], residual: Tensor?, relu: Bool) -> Tensor {
    let n = x.shape[0], plan = shifted(for: g)
    let imageSize = g.channels * g.height * g.width, outputSize = outputChannels * plan.outputHeight * plan.outputWidth
    let threads = Parallel.available, parts = max(1, min(threads, n))
    let packed = packedWeights(taps: plan.taps, scale: scale)
    let offsets = plan.offsets
    return x.withPointer { xp in
      bias.withUnsafeBufferPointer { bp in
        packed.withUnsafeBufferPointer { pp in
          offsets.withUnsafeBufferPointer { op in
            (residual ?? Tensor(shape: [1])).withPointer { rp in
              Tensor(shape: [n, outputChannels, plan.outputHeight, plan.outputWidth]) { yBuffer in
                let yp = SharedPointer(yBuffer.baseAddress!), input = SharedPointer(UnsafeMutablePointer(mutating: xp))
                let biasPointer = SharedPointer(UnsafeMutablePointer(mutating: bp.baseAddress!))
                let packedPointer = SharedPointer(UnsafeMutablePointer(mutating: pp.baseAddress!))
                let offsetPointer = SharedPointer(UnsafeMutablePointer(mutating: op.baseAddress!))
                let side = residual == nil ? nil : SharedPointer(UnsafeMutablePointer(mutating: rp))
                let scratchCount = DirectShiftedConvolution.scratchCount(span: plan.span)
                if n < threads, DirectShiftedConvolution.stripCount(outputChannels) >= threads {
                  // Too few samples to share (batch-1 inference): threads share each sample's
                  // output strips instead, over one padded copy.
                  let padded = UnsafeMutablePointer<Float>.allocate(capacity: plan.paddedCount)
                  padded.initialize(repeating: 0, count: plan.paddedCount)
                  defer { padded.deallocate() }
                  let strips = DirectShiftedConvolution.stripCount(outputChannels), shared = SharedPointer(padded)
                  for s in 0..<n {
                    plan.pad(input + s * imageSize, into: padded)
                    Parallel.forEach(threads) { part in
                      let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                      defer { scratch.deallocate() }
                      plan.forwardDirect(
                        input + s * imageSize, packed: packedPointer.base, offsets: offsetPointer.base, bias: biasPointer.base,
                        residual: side.map { UnsafePointer($0 + s * outputSize) }, relu: relu, padded: shared.base,
                        strips: Parallel.share(of: strips, part: part, parts: threads), scratch: scratch, into: yp + s * outputSize)
                    }
                  }
                  return
                }
                Parallel.forEach(parts) { part in
                  let padded = UnsafeMutablePointer<Float>.allocate(capacity: plan.paddedCount)
                  padded.initialize(repeating: 0, count: plan.paddedCount)
                  let scratch = UnsafeMutablePointer<Float>.allocate(capacity: scratchCount)
                  defer {
                    padded.deallocate()
                    scratch.deallocate()
                  }
                  for s in Parallel.share(of: n, part: part, parts: parts) {
                    plan.forwardDirect(
                      input + s * imageSize, packed: packedPointer.base, offsets: offsetPointer.base, bias: biasPointer.base,
                      residual: side.map { UnsafePointer($0 + s * outputSize) }, relu: relu, padded: padded, scratch: scratch,
                      into: yp + s * outputSize)
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// Each thread takes a contiguous share of the samples, a block of them at a time: pads the
  /// block's inputs, lays out its dY rows, runs the weight-gradient kernel over the whole block
  /// (one call, not k² GEMMs per sample) and the input gradient as a direct convolution of dY.
  /// Each thread sums into its own partial gradient and the partials are added in thread order,
  /// so results repeat exactly for a given thread count and kernel set.
  private func shiftedBackward(_ dY: Tensor, _ x: Tensor, _ g: ConvGeometry, inputGradient: Bool) -> Tensor {
    let n = x.shape[0], plan = shifted(for: g), o = outputChannels
    let imageSize = g.channels * g.height * g.width, outputSize = o * plan.outputHeight * plan.outputWidth
    let parts = max(1, min(Parallel.available, n))
    let weightCount = o * g.channels * plan.taps
    var partialWeights = [Float](repeating: 0, count: parts * weightCount)
    var partialBiases = [Float](repeating: 0, count: parts * o)
    let transposed = inputGradient ? plan.inputGradientConvolution : nil
    var dX = Tensor(shape: transposed != nil ? x.shape : [0]) { _ in }  // every sample written whole
    let packedFlipped = transposed == nil ? [] : weight.effective.withPointer { plan.inputGradientWeights($0) }
    let flippedOffsets = transposed?.offsets ?? []
    let zeroBias = [Float](repeating: 0, count: g.channels)
    let rows = plan.weightGradientRows
    // Samples per block: the block's padded inputs and dY rows within ~768 KiB, so the kernel's
    // passes over them (one per tile of outputs) stay in L2.
    let bytesPerSample = 4 * (plan.gradientSampleStride + o * plan.spanRounded)
    let block = max(1, min(n, 786_432 / bytesPerSample))
    x.withPointer { xp in
      dY.withPointer { dyp in
        partialWeights.withUnsafeMutableBufferPointer { pw in
          partialBiases.withUnsafeMutableBufferPointer { pb in
            dX.withUnsafeMutableBufferPointer { dxBuffer in
              packedFlipped.withUnsafeBufferPointer { fp in
                flippedOffsets.withUnsafeBufferPointer { fo in
                  zeroBias.withUnsafeBufferPointer { zb in
                    rows.withUnsafeBufferPointer { rp in
                      let input = SharedPointer(UnsafeMutablePointer(mutating: xp)), gradient = SharedPointer(UnsafeMutablePointer(mutating: dyp))
                      let dWeights = SharedPointer(pw.baseAddress!), dBiases = SharedPointer(pb.baseAddress!)
                      let dInput = dxBuffer.baseAddress.map { SharedPointer($0) }
                      let flipped = fp.baseAddress.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
                      let flippedOffsetPointer = fo.baseAddress.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
                      let zeros = SharedPointer(UnsafeMutablePointer(mutating: zb.baseAddress!))
                      let rowPointer = SharedPointer(UnsafeMutablePointer(mutating: rp.baseAddress!))
                      Parallel.forEach(parts) { part in
                        let inputs = ScratchBuffer(zeroed: block * plan.gradientSampleStride)
                        let gradients = ScratchBuffer(zeroed: block * o * plan.spanRounded)
                        let paddedGradient = ScratchBuffer(zeroed: transposed?.paddedCount ?? 0)
                        let scratch = ScratchBuffer(zeroed: transposed.map { DirectShiftedConvolution.scratchCount(span: $0.span) } ?? 0)
                        let dW = dWeights + part * weightCount, dB = dBiases + part * o
                        let share = Parallel.share(of: n, part: part, parts: parts)
                        for first in Swift.stride(from: share.lowerBound, to: share.upperBound, by: block) {
                          let count = min(block, share.upperBound - first)
                          for i in 0..<count {
                            plan.pad(input + (first + i) * imageSize, into: inputs.pointer + i * plan.gradientSampleStride)
                            plan.scatterGradient(gradient + (first + i) * outputSize, into: gradients.pointer + i * o * plan.spanRounded, dB: dB)
                          }
                          DirectShiftedConvolution.weightGradient(
                            dY: gradients.pointer, dYChannel: plan.spanRounded, dYSample: o * plan.spanRounded, x: inputs.pointer,
                            xRows: rowPointer.base, rows: rows.count, xSample: plan.gradientSampleStride, samples: count,
                            span: plan.spanRounded, outputs: o, into: dW, ldw: rows.count)
                          guard let transposed, let dInput, let flipped, let flippedOffsetPointer else { continue }
                          for s in first..<(first + count) {
                            transposed.forwardDirect(
                              gradient + s * outputSize, packed: flipped.base, offsets: flippedOffsetPointer.base, bias: zeros.base,
                              residual: nil, relu: false, padded: paddedGradient.pointer, scratch: scratch.pointer, into: dInput + s * imageSize)
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    Conv2D.accumulate(partialWeights, parts: parts, into: &weight.grad)
    if hasBias { Conv2D.accumulate(partialBiases, parts: parts, into: &bias.grad) }
    return dX
  }
}

/// A convolution's backward lowering (`Conv2D.backwardLowering`).
public enum ConvolutionLowering: String, Sendable, CaseIterable {
  /// Chosen per shape by the layer.
  case automatic
  /// im2col + GEMM over cache-sized chunks of samples.
  case im2col
  /// Shifted planes: weight-gradient correlations and a direct convolution for dX.
  case shifted
}

/// What an inference forward applies to a convolution's outputs as it writes them:
/// `y = f(conv(x)·scale + bias·scale + shift (+ residual))`, `f` a ReLU when `relu`. With
/// `scale`/`shift` from a BatchNorm's running statistics this is the conv–BN(–add)–ReLU of a
/// CNN in one pass over the outputs instead of three or four.
public struct ConvolutionEpilogue {
  /// Per output channel; nil for 1.
  public var scale: [Float]?
  /// Per output channel; nil for 0.
  public var shift: [Float]?
  /// Added before the ReLU; the convolution's output shape with the batch.
  public var residual: Tensor?
  /// Clamps the outputs at zero, after the residual is added.
  public var relu: Bool
  /// Clamps the outputs from above too (6 for ReLU6); nil for no upper bound.
  public var upper: Float?

  /// The defaults apply nothing: the plain convolution with its bias.
  public init(scale: [Float]? = nil, shift: [Float]? = nil, residual: Tensor? = nil, relu: Bool = false, upper: Float? = nil) {
    self.scale = scale
    self.shift = shift
    self.residual = residual
    self.relu = relu
    self.upper = upper
  }

  /// `bias` per output channel with `scale` and `shift` applied: `bias·scale + shift`.
  func foldedBias(_ bias: [Float]) -> [Float] {
    var folded = bias
    if let scale { for c in folded.indices { folded[c] *= scale[c] } }
    if let shift { for c in folded.indices { folded[c] += shift[c] } }
    return folded
  }

  /// `upper` applied to `y` in place (a ReLU6 after the ReLU the kernels apply).
  func clampAbove(_ y: inout Tensor) {
    guard let upper else { return }
    let count = y.count
    y.withMutablePointer { p in for i in 0..<count { p[i] = min(p[i], upper) } }
  }
}
