import AutoPruneKernels

/// Depthwise convolution, `nn.Conv2d(C, C, k, stride, padding, groups: C)`: every channel
/// convolved with its own k × k filter, weight `[C, 1, k, k]` (PyTorch's layout, so a
/// torchvision MobileNetV2 state dict loads). It does k² multiply-adds per output element and
/// reads each input element about k²/stride² times from cache: memory-bound, so it runs as
/// direct loops over planes (threads over `N × C` planes), not as an im2col GEMM, whose
/// lowering would write k² copies of the input for a product with one row.
public final class DepthwiseConv2D: Layer {
  /// C: input channels = output channels = groups.
  public let channels: Int
  /// Side k of the square window.
  public let kernelSize: Int
  /// Step between windows (2 halves height and width, as MobileNetV2's downsampling blocks do).
  public let stride: Int
  /// Zero rows and columns added on each side (k / 2 keeps the size at stride 1).
  public let padding: Int
  /// The filters `[C, 1, k, k]`, prunable: masking them closes a channel.
  public let weight: Parameter
  /// Per channel; zeros when `hasBias` is false (MobileNetV2's convolutions have none: BatchNorm follows).
  public let bias: Parameter
  /// Whether the bias is a parameter (and is saved): PyTorch's `bias=` argument.
  public let hasBias: Bool
  private var cachedInput = Tensor(shape: [0])

  /// Draws the filters (and bias) from `rng` as `nn.Conv2d` initialises them (fan-in k²).
  public init(channels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0, bias hasBias: Bool = true, rng: RandomSource) {
    precondition(channels > 0 && kernelSize > 0 && stride > 0 && padding >= 0, "DepthwiseConv2D: positive channels, kernel and stride")
    self.channels = channels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    self.hasBias = hasBias
    var w = Tensor(shape: [channels, 1, kernelSize, kernelSize])
    var b = Tensor(shape: [channels])
    Initializer.kaimingUniform(&w, fanIn: kernelSize * kernelSize, rng: rng)
    if hasBias { Initializer.biasUniform(&b, fanIn: kernelSize * kernelSize, rng: rng) }
    weight = Parameter(name: "weight", value: w, prunable: true)
    bias = Parameter(name: "bias", value: b, prunable: false)
  }

  public var parameters: [Parameter] { hasBias ? [weight, bias] : [weight] }

  public func outputShape(for s: [Int]) -> [Int] {
    precondition(s.count == 3 && s[0] == channels && s[1] + 2 * padding >= kernelSize && s[2] + 2 * padding >= kernelSize,
                 "DepthwiseConv2D(\(channels), \(kernelSize)×\(kernelSize)) got per-sample input \(s)")
    let g = ConvGeometry(channels: channels, height: s[1], width: s[2], kernelHeight: kernelSize, kernelWidth: kernelSize, stride: stride, padding: padding)
    return [channels, g.outputHeight, g.outputWidth]
  }

  /// Output rows `oy` whose window row `ky` lands inside the image, for each ky: the loops then
  /// need no bounds test per element.
  private func validRange(_ k: Int, out: Int, size: Int) -> Range<Int> {
    // oy·s + k − p ∈ [0, size)  ⇔  oy ∈ [ceil((p − k)/s), floor((size − 1 + p − k)/s)]
    let low = max(0, (padding - k + stride - 1) / stride)
    let high = min(out, (size - 1 + padding - k) >= 0 ? (size - 1 + padding - k) / stride + 1 : 0)
    return low..<max(low, high)
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    if context.training { cachedInput = x }
    return forward(x, epilogue: ConvolutionEpilogue())
  }

  /// Inference forward with `epilogue` applied as each output plane is finished (the plane is
  /// still in cache): BatchNorm folded into the filters and bias, a ReLU or ReLU6, a residual.
  public func forward(_ x: Tensor, epilogue: ConvolutionEpilogue) -> Tensor {
    precondition(x.shape.count == 4, "DepthwiseConv2D expects NCHW input, got \(x.shape)")
    let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
    let out = outputShape(for: Array(x.shape.dropFirst()))
    let (oh, ow, k, s, p, c) = (out[1], out[2], kernelSize, stride, padding, channels)
    var y = Tensor(shape: [n, c, oh, ow])
    let rows = (0..<k).map { validRange($0, out: oh, size: h) }, columns = (0..<k).map { validRange($0, out: ow, size: w) }
    var filterValues = weight.effective
    if let scale = epilogue.scale {
      filterValues.withUnsafeMutableBufferPointer { f in
        for ch in 0..<c { for i in 0..<(k * k) { f[ch * k * k + i] *= scale[ch] } }
      }
    }
    let biasValues = epilogue.foldedBias(bias.effective.storage)
    let relu = epilogue.relu, upper = epilogue.upper ?? .infinity
    if let residual = epilogue.residual { precondition(residual.shape == [n, c, oh, ow], "DepthwiseConv2D: residual of shape \(residual.shape)") }
    let residual = epilogue.residual ?? Tensor(shape: [0])
    x.withPointer { xp in
      filterValues.withUnsafeBufferPointer { wpBuffer in
        let wp = wpBuffer.baseAddress!
        biasValues.withUnsafeBufferPointer { bpBuffer in
          let bp = bpBuffer.baseAddress!
          residual.withPointer { rp in
          y.withMutablePointer { yp in
            let src = SharedPointer(UnsafeMutablePointer(mutating: xp)), dst = SharedPointer(yp)
            let added = epilogue.residual == nil ? nil : SharedPointer(UnsafeMutablePointer(mutating: rp))
            let filters = SharedPointer(UnsafeMutablePointer(mutating: wp)), biases = SharedPointer(UnsafeMutablePointer(mutating: bp))
            Parallel.forRanges(n * c, minPerThread: max(1, 8_192 / max(1, oh * ow * k * k))) { planes in
              for plane in planes {
                let channel = plane % c
                let input = src.base + plane * h * w, output = dst.base + plane * oh * ow
                let b = biases.base[channel]
                for i in 0..<(oh * ow) { output[i] = b }
                for ky in 0..<k {
                  for kx in 0..<k {
                    let f = filters.base[(channel * k + ky) * k + kx]
                    if f == 0 { continue }  // pruned taps cost nothing
                    for oy in rows[ky] {
                      let inRow = input + (oy * s + ky - p) * w + (kx - p), outRow = output + oy * ow
                      for ox in columns[kx] { outRow[ox] += f * inRow[ox * s] }
                    }
                  }
                }
                if let added {
                  let r = added.base + plane * oh * ow
                  for i in 0..<(oh * ow) { output[i] += r[i] }
                }
                if relu {
                  for i in 0..<(oh * ow) { output[i] = min(max(output[i], 0), upper) }
                }
              }
            }
          }
          }
        }
      }
    }
    return y
  }

  // dW[c, ky, kx] += Σ dY·x (window);  dB[c] += Σ dY;  dX scattered back through each tap.
  public func backward(_ dY: Tensor) -> Tensor {
    let x = cachedInput
    let (n, h, w) = (x.shape[0], x.shape[2], x.shape[3])
    let (oh, ow, k, s, p, c) = (dY.shape[2], dY.shape[3], kernelSize, stride, padding, channels)
    var dX = Tensor(shape: x.shape)
    let rows = (0..<k).map { validRange($0, out: oh, size: h) }, columns = (0..<k).map { validRange($0, out: ow, size: w) }
    // Weight gradients per plane, summed per channel afterwards in plane order (the same sum
    // order on any thread count: runs stay bit-identical).
    var planeGrads = [Float](repeating: 0, count: n * c * (k * k + 1))
    x.withPointer { xp in
      dY.withPointer { gp in
        weight.effective.withPointer { wp in
          dX.withMutablePointer { dxp in
            planeGrads.withUnsafeMutableBufferPointer { pg in
              let src = SharedPointer(UnsafeMutablePointer(mutating: xp)), grad = SharedPointer(UnsafeMutablePointer(mutating: gp))
              let filters = SharedPointer(UnsafeMutablePointer(mutating: wp)), dst = SharedPointer(dxp), partial = SharedPointer(pg.baseAddress!)
              Parallel.forRanges(n * c, minPerThread: max(1, 8_192 / max(1, oh * ow * k * k))) { planes in
                for plane in planes {
                  let channel = plane % c
                  let input = src.base + plane * h * w, g = grad.base + plane * oh * ow, dInput = dst.base + plane * h * w
                  let sums = partial.base + plane * (k * k + 1)
                  var biasSum: Float = 0
                  for i in 0..<(oh * ow) { biasSum += g[i] }
                  sums[k * k] = biasSum
                  for ky in 0..<k {
                    for kx in 0..<k {
                      let f = filters.base[(channel * k + ky) * k + kx]
                      var sum: Float = 0
                      for oy in rows[ky] {
                        let offset = (oy * s + ky - p) * w + (kx - p), gRow = g + oy * ow
                        for ox in columns[kx] {
                          sum += gRow[ox] * input[offset + ox * s]
                          dInput[offset + ox * s] += f * gRow[ox]
                        }
                      }
                      sums[ky * k + kx] = sum
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    weight.grad.withMutablePointer { dw in
      bias.grad.withMutablePointer { db in
        for plane in 0..<(n * c) {
          let channel = plane % c, sums = plane * (k * k + 1)
          for t in 0..<(k * k) { dw[channel * k * k + t] += planeGrads[sums + t] }
          db[channel] += planeGrads[sums + k * k]
        }
      }
    }
    return dX
  }
}
