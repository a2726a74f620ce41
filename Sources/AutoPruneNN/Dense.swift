import AutoPruneKernels

/// A fully connected layer, `y = x · Wᵀ + b`, like `nn.Linear`.
///
/// Shapes: x is `[N, in]`, weight is `[out, in]`, bias is `[out]`, y is `[N, out]`.
///
/// ```swift
/// let fc1 = Dense(784, 300, rng: rng)
/// ```
public final class Dense: Layer, InputGradientOptional {
  /// Features per input sample.
  public let inputSize: Int
  /// Features per output sample: the units of the layer.
  public let outputSize: Int
  /// `[out, in]`: the tensor pruning gates act on.
  public let weight: Parameter
  /// `[out]`, never pruned.
  public let bias: Parameter
  public var computesInputGradient = true
  private var cachedInput = Tensor(shape: [0])

  /// Draws weight and bias from `rng` as `nn.Linear` initialises them (U(±1/√in)), so the seed
  /// fixes the starting model.
  public init(_ inputSize: Int, _ outputSize: Int, rng: RandomSource) {
    self.inputSize = inputSize
    self.outputSize = outputSize
    var w = Tensor(shape: [outputSize, inputSize])
    var b = Tensor(shape: [outputSize])
    Initializer.kaimingUniform(&w, fanIn: inputSize, rng: rng)
    Initializer.biasUniform(&b, fanIn: inputSize, rng: rng)
    weight = Parameter(name: "weight", value: w, prunable: true)
    bias = Parameter(name: "bias", value: b, prunable: false)
  }

  public var parameters: [Parameter] { [weight, bias] }

  public func outputShape(for inputShape: [Int]) -> [Int] { [outputSize] }

  // x (N, in) · W (out, in)ᵀ + b → y (N, out)
  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    let n = x.count / inputSize
    precondition(n * inputSize == x.count, "Dense(\(inputSize)) got input \(x.shape)")
    var y = Tensor(shape: [n, outputSize])
    y.withMutablePointer { yp in
      bias.effective.withPointer { bp in
        for i in 0..<n { (yp + i * outputSize).update(from: bp, count: outputSize) }
      }
      x.withPointer { xp in
        weight.effective.withPointer { wp in
          GEMM.multiply(
            .none, .transposed, m: n, n: outputSize, k: inputSize, a: xp, lda: inputSize,
            b: wp, ldb: inputSize, beta: 1, c: yp, ldc: outputSize)
        }
      }
    }
    if context.training { cachedInput = x }
    return y
  }

  // dWeight (out, in) += dYᵀ · x;  dBias += Σ_n dY;  dX (N, in) = dY · W
  public func backward(_ dY: Tensor) -> Tensor {
    let n = dY.count / outputSize
    var dX = Tensor(shape: computesInputGradient ? [n, inputSize] : [0])
    dY.withPointer { dyp in
      cachedInput.withPointer { xp in
        weight.grad.withMutablePointer { dwp in
          GEMM.multiply(
            .transposed, .none, m: outputSize, n: inputSize, k: n, a: dyp, lda: outputSize,
            b: xp, ldb: inputSize, beta: 1, c: dwp, ldc: inputSize)
        }
      }
      bias.grad.withMutablePointer { dbp in
        for i in 0..<n {
          let row = dyp + i * outputSize
          for j in 0..<outputSize { dbp[j] += row[j] }
        }
      }
      guard computesInputGradient else { return }
      weight.effective.withPointer { wp in
        dX.withMutablePointer { dxp in
          GEMM.multiply(
            .none, .none, m: n, n: inputSize, k: outputSize, a: dyp, lda: outputSize, b: wp,
            ldb: inputSize, c: dxp, ldc: inputSize)
        }
      }
    }
    return dX
  }
}
