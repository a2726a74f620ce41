import AutoPruneKernels

/// A 2-D convolution over NCHW images, like `nn.Conv2d` (square kernel, stride, zero padding).
///
/// Shapes: x is `[N, C, H, W]`, weight is `[out, C, k, k]`, bias is `[out]`,
/// y is `[N, out, OH, OW]`. Lowered to one GEMM per batch through im2col.
///
/// ```swift
/// let conv1 = Conv2D(1, 20, kernelSize: 5, rng: rng)
/// ```
public final class Conv2D: Layer, InputGradientOptional {
  public let inputChannels: Int
  public let outputChannels: Int
  public let kernelSize: Int
  public let stride: Int
  public let padding: Int
  public let weight: Parameter
  public let bias: Parameter
  public var computesInputGradient = true
  private var cachedColumns = Tensor(shape: [0])
  private var cachedGeometry: ConvGeometry?
  private var cachedBatch = 0

  public init(
    _ inputChannels: Int, _ outputChannels: Int, kernelSize: Int, stride: Int = 1, padding: Int = 0,
    rng: RandomSource
  ) {
    self.inputChannels = inputChannels
    self.outputChannels = outputChannels
    self.kernelSize = kernelSize
    self.stride = stride
    self.padding = padding
    let fanIn = inputChannels * kernelSize * kernelSize
    var w = Tensor(shape: [outputChannels, inputChannels, kernelSize, kernelSize])
    var b = Tensor(shape: [outputChannels])
    Initializer.kaimingUniform(&w, fanIn: fanIn, rng: rng)
    Initializer.biasUniform(&b, fanIn: fanIn, rng: rng)
    weight = Parameter(name: "weight", value: w, prunable: true)
    bias = Parameter(name: "bias", value: b, prunable: false)
  }

  public var parameters: [Parameter] { [weight, bias] }

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

  // cols (C·k·k, N·P) = im2col(x);  Y' (out, N·P) = W (out, C·k·k) · cols;  y[n, o, p] = Y'[o, n·P + p] + b[o]
  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    let g = geometry(for: Array(x.shape.dropFirst()))
    let n = x.shape[0]
    let positions = g.outputPositions
    // Every buffer below is overwritten whole by its kernel, so none is zero-filled first.
    let cols = x.withPointer { xp in
      Tensor(shape: [g.patchSize, n * positions]) { Im2Col.lower(xp, batch: n, geometry: g, into: $0.baseAddress!) }
    }
    let product = weight.value.withPointer { wp in
      cols.withPointer { cp in
        Tensor(shape: [outputChannels, n * positions]) { pp in
          GEMM.multiply(
            .none, .none, m: outputChannels, n: n * positions, k: g.patchSize, a: wp,
            lda: g.patchSize, b: cp, ldb: n * positions, c: pp.baseAddress!, ldc: n * positions)
        }
      }
    }
    let y = product.withPointer { pp in
      bias.value.withPointer { bp in
        Tensor(shape: [n, outputChannels, g.outputHeight, g.outputWidth]) { yp in
          Layout.channelMajorToBatchMajor(
            pp, batch: n, channels: outputChannels, positions: positions, bias: bp, into: yp.baseAddress!)
        }
      }
    }
    if context.training {
      cachedColumns = cols
      cachedGeometry = g
      cachedBatch = n
    }
    return y
  }

  // dY' (out, N·P) from dY;  dWeight += dY' · colsᵀ;  dBias += Σ dY';  dX = col2im(Wᵀ · dY')
  public func backward(_ dY: Tensor) -> Tensor {
    guard let g = cachedGeometry else { preconditionFailure("Conv2D.backward before a training forward") }
    let n = cachedBatch
    let positions = g.outputPositions
    let columns = n * positions
    let dProduct = dY.withPointer { dyp in
      Tensor(shape: [outputChannels, columns]) {
        Layout.batchMajorToChannelMajor(dyp, batch: n, channels: outputChannels, positions: positions, into: $0.baseAddress!)
      }
    }
    // Overwritten whole by the GEMM (beta = 0) when it is needed at all.
    var dCols = Tensor(shape: computesInputGradient ? [g.patchSize, columns] : [0]) { _ in }
    dProduct.withPointer { dp in
      cachedColumns.withPointer { cp in
        weight.grad.withMutablePointer { dwp in
          GEMM.multiply(
            .none, .transposed, m: outputChannels, n: g.patchSize, k: columns, a: dp, lda: columns,
            b: cp, ldb: columns, beta: 1, c: dwp, ldc: g.patchSize)
        }
      }
      bias.grad.withMutablePointer { dbp in
        for o in 0..<outputChannels {
          let row = dp + o * columns
          var sum: Float = 0
          for j in 0..<columns { sum += row[j] }
          dbp[o] += sum
        }
      }
      guard computesInputGradient else { return }
      weight.value.withPointer { wp in
        dCols.withMutablePointer { dcp in
          GEMM.multiply(
            .transposed, .none, m: g.patchSize, n: columns, k: outputChannels, a: wp,
            lda: g.patchSize, b: dp, ldb: columns, c: dcp, ldc: columns)
        }
      }
    }
    guard computesInputGradient else { return Tensor(shape: [0]) }
    return dCols.withPointer { dcp in
      Tensor(shape: [n, g.channels, g.height, g.width]) { Im2Col.raise(dcp, batch: n, geometry: g, into: $0.baseAddress!) }
    }
  }
}
