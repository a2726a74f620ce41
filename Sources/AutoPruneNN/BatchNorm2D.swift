import AutoPruneKernels

/// Batch normalisation over the channels of NCHW images, like `nn.BatchNorm2d(C)`: in training
/// each channel is normalised with the batch's mean and (biased) variance over N, H, W, then
/// scaled by `weight` (γ) and shifted by `bias` (β); the running averages move by `momentum`
/// towards the batch statistics (the variance unbiased, as PyTorch keeps it). In inference the
/// running averages normalise.
///
/// The running averages are buffers, not parameters: saved with the weights (`running_mean`,
/// `running_var`) and in checkpoints, but no optimizer touches them.
public final class BatchNorm2D: Layer {
  public let channels: Int
  public let epsilon: Float
  public let momentum: Float
  public let weight: Parameter
  public let bias: Parameter
  /// `running_mean` and `running_var`, as PyTorch names them.
  public let runningMean: Buffer
  public let runningVariance: Buffer
  /// x̂ of the last training forward, and 1/√(σ² + ε) per channel.
  private var normalized = Tensor(shape: [0])
  private var inverseStd: [Float] = []

  public init(_ channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
    self.channels = channels
    self.epsilon = epsilon
    self.momentum = momentum
    weight = Parameter(name: "weight", value: Tensor(shape: [channels], repeating: 1), prunable: false)
    bias = Parameter(name: "bias", value: Tensor(shape: [channels]), prunable: false)
    runningMean = Buffer(name: "running_mean", value: Tensor(shape: [channels]))
    runningVariance = Buffer(name: "running_var", value: Tensor(shape: [channels], repeating: 1))
  }

  public var parameters: [Parameter] { [weight, bias] }
  public var buffers: [Buffer] { [runningMean, runningVariance] }

  public func outputShape(for inputShape: [Int]) -> [Int] {
    precondition(inputShape.first == channels, "BatchNorm2D(\(channels)) got per-sample input \(inputShape)")
    return inputShape
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    precondition(x.shape.count == 4 && x.shape[1] == channels, "BatchNorm2D(\(channels)) expects NCHW input, got \(x.shape)")
    let n = x.shape[0], plane = x.shape[2] * x.shape[3], m = n * plane
    let gamma = weight.effective, beta = bias.effective
    var y = Tensor(shape: x.shape)
    if !context.training {
      x.withPointer { xp in
        y.withMutablePointer { yp in
          let src = SharedPointer(UnsafeMutablePointer(mutating: xp)), dst = SharedPointer(yp)
          for c in 0..<channels {
            let scale = gamma[c] / (runningVariance.value[c] + epsilon).squareRoot()
            let shift = beta[c] - runningMean.value[c] * scale
            for s in 0..<n {
              let base = (s * channels + c) * plane
              for i in 0..<plane { dst[base + i] = src[base + i] * scale + shift }
            }
          }
        }
      }
      return y
    }
    precondition(m > 1, "BatchNorm2D in training needs more than one value per channel (got \(x.shape))")
    var xhat = Tensor(shape: x.shape)
    var mean = [Float](repeating: 0, count: channels), variance = [Float](repeating: 0, count: channels)
    inverseStd = [Float](repeating: 0, count: channels)
    x.withPointer { xp in
      xhat.withMutablePointer { hp in
        y.withMutablePointer { yp in
          mean.withUnsafeMutableBufferPointer { meanBuffer in
            variance.withUnsafeMutableBufferPointer { varianceBuffer in
              inverseStd.withUnsafeMutableBufferPointer { invBuffer in
                let src = SharedPointer(UnsafeMutablePointer(mutating: xp)), hat = SharedPointer(hp), dst = SharedPointer(yp)
                let mu = SharedPointer(meanBuffer.baseAddress!), sigma2 = SharedPointer(varianceBuffer.baseAddress!)
                let inv = SharedPointer(invBuffer.baseAddress!)
                let g = gamma, b = beta, eps = epsilon
                Parallel.forRanges(channels, minPerThread: max(1, 32_768 / max(1, m))) { range in
                  for c in range {
                    // Sums in Double: a channel can hold a million values.
                    var sum = 0.0
                    for s in 0..<n {
                      let base = (s * channels + c) * plane
                      for i in 0..<plane { sum += Double(src[base + i]) }
                    }
                    let mean = sum / Double(m)
                    var squares = 0.0
                    for s in 0..<n {
                      let base = (s * channels + c) * plane
                      for i in 0..<plane {
                        let d = Double(src[base + i]) - mean
                        squares += d * d
                      }
                    }
                    let variance = squares / Double(m)
                    let invStd = Float(1 / (variance + Double(eps)).squareRoot())
                    mu[c] = Float(mean)
                    sigma2[c] = Float(variance)
                    inv[c] = invStd
                    let fm = Float(mean), gc = g[c], bc = b[c]
                    for s in 0..<n {
                      let base = (s * channels + c) * plane
                      for i in 0..<plane {
                        let h = (src[base + i] - fm) * invStd
                        hat[base + i] = h
                        dst[base + i] = h * gc + bc
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
    let unbias = Float(m) / Float(m - 1)
    for c in 0..<channels {
      runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * mean[c]
      runningVariance.value[c] = (1 - momentum) * runningVariance.value[c] + momentum * variance[c] * unbias
    }
    normalized = xhat
    return y
  }

  // dβ = Σ dy;  dγ = Σ dy·x̂;  dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂))   (per channel)
  public func backward(_ dY: Tensor) -> Tensor {
    precondition(dY.shape == normalized.shape, "BatchNorm2D.backward before a training forward (or shape \(dY.shape))")
    let n = dY.shape[0], plane = dY.shape[2] * dY.shape[3], m = n * plane
    let gamma = weight.effective
    var dX = Tensor(shape: dY.shape)
    var dGamma = [Float](repeating: 0, count: channels), dBeta = [Float](repeating: 0, count: channels)
    dY.withPointer { dyp in
      normalized.withPointer { hp in
        dX.withMutablePointer { dxp in
          dGamma.withUnsafeMutableBufferPointer { dgBuffer in
            dBeta.withUnsafeMutableBufferPointer { dbBuffer in
              inverseStd.withUnsafeBufferPointer { invBuffer in
                let dy = SharedPointer(UnsafeMutablePointer(mutating: dyp)), hat = SharedPointer(UnsafeMutablePointer(mutating: hp))
                let dx = SharedPointer(dxp), dg = SharedPointer(dgBuffer.baseAddress!), db = SharedPointer(dbBuffer.baseAddress!)
                let inv = SharedPointer(UnsafeMutablePointer(mutating: invBuffer.baseAddress!))
                let g = gamma
                Parallel.forRanges(channels, minPerThread: max(1, 32_768 / max(1, m))) { range in
                  for c in range {
                    var sumDy = 0.0, sumDyHat = 0.0
                    for s in 0..<n {
                      let base = (s * channels + c) * plane
                      for i in 0..<plane {
                        sumDy += Double(dy[base + i])
                        sumDyHat += Double(dy[base + i]) * Double(hat[base + i])
                      }
                    }
                    db[c] = Float(sumDy)
                    dg[c] = Float(sumDyHat)
                    let meanDy = Float(sumDy / Double(m)), meanDyHat = Float(sumDyHat / Double(m))
                    let scale = g[c] * inv[c]
                    for s in 0..<n {
                      let base = (s * channels + c) * plane
                      for i in 0..<plane { dx[base + i] = scale * (dy[base + i] - meanDy - hat[base + i] * meanDyHat) }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    for c in 0..<channels {
      weight.grad[c] += dGamma[c]
      bias.grad[c] += dBeta[c]
    }
    return dX
  }
}
