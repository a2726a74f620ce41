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
  /// Channels C of the input `[N, C, H, W]`: one γ, β and pair of running statistics each.
  public let channels: Int
  /// Added to the variance before the square root, so a constant channel does not divide by zero.
  public let epsilon: Float
  /// Weight of the new batch in the running averages, `r = (1 − momentum)·r + momentum·batch`
  /// (PyTorch's convention, the reverse of an optimizer's momentum).
  public let momentum: Float
  /// γ, the per-channel scale, initially 1. Not prunable: a channel closes through `channelSource`.
  public let weight: Parameter
  /// β, the per-channel shift, initially 0.
  public let bias: Parameter
  /// `running_mean` and `running_var`, as PyTorch names them.
  public let runningMean: Buffer
  /// Running unbiased variance per channel, initially 1: what normalises in inference.
  public let runningVariance: Buffer
  /// The weight `[channels, …]` of the convolution this BatchNorm follows. A filter whose
  /// effective weights are all zero (pruned) has its channel closed here too: γ and β count as
  /// zero, so the channel outputs exactly zero and can be thinned away (a bare BatchNorm would
  /// turn the pruned filter's zeros into a constant β − γμ/σ).
  public var channelSource: Parameter?
  /// What a closed channel sends back to its filter. Its output is the constant zero, so the
  /// exact gradient is zero, and a pruned filter then never learns again: its weights freeze
  /// and its gate sees no data term, so it cannot reopen. With `passThrough` (the default) the
  /// closed channel passes `dy · γ/√(running σ² + ε)`, what the inference-form BatchNorm of its
  /// kept statistics would pass: the straight-through view of METHOD.md, where masked weights
  /// keep learning and gates stay recoverable. (After a ReLU-bound BatchNorm `dy` is zero
  /// anyway: ReLU passes nothing at 0. It matters where the output joins a residual sum.)
  public var closedChannelGradient = ClosedChannelGradient.passThrough
  /// See `closedChannelGradient`.
  public enum ClosedChannelGradient: String, CaseIterable, Sendable { case passThrough = "pass-through", zero }
  /// Open channels of the last training forward (nil without a source): backward gates with
  /// what forward used instead of scanning the source filters again.
  private var forwardOpen: [Bool]?
  /// x̂ of the last training forward, and 1/√(σ² + ε) per channel.
  private var normalized = Tensor(shape: [0])
  private var inverseStd: [Float] = []

  /// The defaults are PyTorch's.
  public init(_ channels: Int, epsilon: Float = 1e-5, momentum: Float = 0.1) {
    self.channels = channels
    self.epsilon = epsilon
    self.momentum = momentum
    weight = Parameter(name: "weight", value: Tensor(shape: [channels], repeating: 1), prunable: false)
    bias = Parameter(name: "bias", value: Tensor(shape: [channels]), prunable: false)
    runningMean = Buffer(name: "running_mean", value: Tensor(shape: [channels]))
    runningVariance = Buffer(name: "running_var", value: Tensor(shape: [channels], repeating: 1))
  }

  /// Set in a data-parallel job with synchronised BatchNorm: training batches are normalised
  /// with the statistics of the whole global batch (summed over the processes), and backward
  /// uses the matching global means. nil: this process's batch alone (the default).
  public var reducer: (any StatisticsReducer)?

  public var parameters: [Parameter] { [weight, bias] }
  public var buffers: [Buffer] { [runningMean, runningVariance] }

  public func outputShape(for inputShape: [Int]) -> [Int] {
    precondition(inputShape.first == channels, "BatchNorm2D(\(channels)) got per-sample input \(inputShape)")
    return inputShape
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    precondition(x.shape.count == 4 && x.shape[1] == channels, "BatchNorm2D(\(channels)) expects NCHW input, got \(x.shape)")
    let n = x.shape[0], plane = x.shape[2] * x.shape[3], m = n * plane
    let open = channelSource == nil ? nil : openChannels
    let (gamma, beta) = gatedAffine(open)
    var y = Tensor(shape: x.shape) { _ in }  // every entry written below (no zero fill)
    if !context.training {
      // One multiply-add per element with per-channel scale and shift, planes split over threads.
      let (scale, shift) = inferenceAffine(gamma: gamma, beta: beta)
      let channels = channels
      x.withPointer { xp in
        y.withMutablePointer { yp in
          let src = SharedPointer(UnsafeMutablePointer(mutating: xp)), dst = SharedPointer(yp)
          Parallel.forRanges(n * channels, minPerThread: max(1, 32_768 / max(1, plane))) { planes in
            for p in planes {
              let (a, b) = (scale[p % channels], shift[p % channels])
              let base = p * plane
              for i in base..<(base + plane) { dst[i] = src[i] * a + b }
            }
          }
        }
      }
      return y
    }
    if let reducer { return synchronizedForward(x, reducer: reducer, gamma: gamma, beta: beta, open: open) }
    precondition(m > 1, "BatchNorm2D in training needs more than one value per channel (got \(x.shape))")
    var xhat = Tensor(shape: x.shape) { _ in }
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
                    // Each plane summed in float lanes (≤ a few thousand values: exact enough),
                    // planes combined in Double: a channel can hold a million values.
                    var sum = 0.0
                    for s in 0..<n { sum += BatchNorm2D.sum(src + (s * channels + c) * plane, plane) }
                    let mean = sum / Double(m)
                    var squares = 0.0
                    for s in 0..<n { squares += BatchNorm2D.squaredDeviations(src + (s * channels + c) * plane, plane, from: Float(mean)) }
                    let variance = squares / Double(m)
                    let invStd = Float(1 / (variance + Double(eps)).squareRoot())
                    mu[c] = Float(mean)
                    sigma2[c] = Float(variance)
                    inv[c] = invStd
                    let fm = Float(mean), gc = g[c], bc = b[c]
                    for s in 0..<n {
                      let base = (s * channels + c) * plane
                      BatchNorm2D.normalize(src + base, plane, mean: fm, invStd: invStd, gamma: gc, beta: bc, xhat: hat + base, y: dst + base)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    updateRunningStatistics(mean: mean, variance: variance, unbias: Float(m) / Float(m - 1), open: open)
    normalized = xhat
    forwardOpen = open
    return y
  }

  /// Training forward with the global batch's statistics: local sums, summed over the
  /// processes (with the element count), then local squared deviations from the global mean,
  /// summed again, then the same normalisation as one process.
  private func synchronizedForward(_ x: Tensor, reducer: any StatisticsReducer, gamma: Tensor, beta: Tensor, open: [Bool]?) -> Tensor {
    let n = x.shape[0], plane = x.shape[2] * x.shape[3]
    var sums = [Double](repeating: 0, count: channels + 1)
    x.withPointer { xp in
      for c in 0..<channels {
        for s in 0..<n { sums[c] += BatchNorm2D.sum(UnsafeMutablePointer(mutating: xp) + (s * channels + c) * plane, plane) }
      }
    }
    sums[channels] = Double(n * plane)
    reducer.sum(&sums)
    let total = sums[channels]
    precondition(total > 1, "BatchNorm2D in training needs more than one value per channel over the job")
    let mean = (0..<channels).map { Float(sums[$0] / total) }
    var squares = [Double](repeating: 0, count: channels)
    x.withPointer { xp in
      for c in 0..<channels {
        for s in 0..<n { squares[c] += BatchNorm2D.squaredDeviations(UnsafeMutablePointer(mutating: xp) + (s * channels + c) * plane, plane, from: mean[c]) }
      }
    }
    reducer.sum(&squares)
    let variance = squares.map { Float($0 / total) }
    inverseStd = variance.map { 1 / ($0 + epsilon).squareRoot() }
    var y = Tensor(shape: x.shape) { _ in }
    var xhat = Tensor(shape: x.shape) { _ in }
    x.withPointer { xp in
      xhat.withMutablePointer { hp in
        y.withMutablePointer { yp in
          for c in 0..<channels {
            for s in 0..<n {
              let base = (s * channels + c) * plane
              BatchNorm2D.normalize(UnsafeMutablePointer(mutating: xp) + base, plane, mean: mean[c], invStd: inverseStd[c], gamma: gamma[c], beta: beta[c], xhat: hp + base, y: yp + base)
            }
          }
        }
      }
    }
    updateRunningStatistics(mean: mean, variance: variance, unbias: Float(total / (total - 1)), open: open)
    normalized = xhat
    forwardOpen = open
    elementsInJob = total
    return y
  }

  /// The running averages moved toward a batch's `mean` and `variance` (times `unbias`, the
  /// unbiased estimate's factor). A closed channel's statistics are those of zeros: it keeps the
  /// ones it had when it closed (they normalise it if it reopens, and scale its pass-through
  /// gradient).
  private func updateRunningStatistics(mean: [Float], variance: [Float], unbias: Float, open: [Bool]?) {
    for c in 0..<channels where open?[c] ?? true {
      runningMean.value[c] = (1 - momentum) * runningMean.value[c] + momentum * mean[c]
      runningVariance.value[c] = (1 - momentum) * runningVariance.value[c] + momentum * variance[c] * unbias
    }
  }

  /// Elements per channel over the whole job in the last synchronised forward.
  private var elementsInJob = 0.0

  // dβ = Σ dy;  dγ = Σ dy·x̂;  dx = γ/σ · (dy − mean(dy) − x̂ · mean(dy·x̂))   (per channel)
  // Synchronised: the means run over the whole job, of the gradients of the global loss (each
  // process's weighted by its share), and dx comes back at this process's own loss scale.
  public func backward(_ dY: Tensor) -> Tensor {
    precondition(dY.shape == normalized.shape, "BatchNorm2D.backward before a training forward (or shape \(dY.shape))")
    if let reducer { return synchronizedBackward(dY, reducer: reducer) }
    let n = dY.shape[0], plane = dY.shape[2] * dY.shape[3], m = n * plane
    let gamma = gatedAffine(forwardOpen).gamma
    var dX = Tensor(shape: dY.shape) { _ in }
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
                      let (a, b) = BatchNorm2D.sums(dy + base, hat + base, plane)
                      sumDy += a
                      sumDyHat += b
                    }
                    db[c] = Float(sumDy)
                    dg[c] = Float(sumDyHat)
                    let meanDy = Float(sumDy / Double(m)), meanDyHat = Float(sumDyHat / Double(m))
                    let scale = g[c] * inv[c]
                    for s in 0..<n {
                      let base = (s * channels + c) * plane
                      BatchNorm2D.inputGradient(dy + base, hat + base, plane, scale: scale, meanDy: meanDy, meanDyHat: meanDyHat, into: dx + base)
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    passClosedChannels(dY, into: &dX)
    // A closed channel's γ and β act as zero: no gradient reaches them.
    for c in 0..<channels where forwardOpen?[c] ?? true {
      weight.grad[c] += dGamma[c]
      bias.grad[c] += dBeta[c]
    }
    return dX
  }

  /// With `passThrough`, a closed channel sends `dy · γ/√(running σ² + ε)` back in place of its
  /// exact (zero) gradient, what the inference-form BatchNorm would.
  private func passClosedChannels(_ dY: Tensor, into dX: inout Tensor) {
    guard let open = forwardOpen, closedChannelGradient == .passThrough else { return }
    let n = dY.shape[0], plane = dY.shape[2] * dY.shape[3]
    for c in 0..<channels where !open[c] {
      let scale = weight.value[c] / (runningVariance.value[c] + epsilon).squareRoot()
      for s in 0..<n {
        let base = (s * channels + c) * plane
        for i in base..<(base + plane) { dX[i] = dY[i] * scale }
      }
    }
  }

  private func synchronizedBackward(_ dY: Tensor, reducer: any StatisticsReducer) -> Tensor {
    let n = dY.shape[0], plane = dY.shape[2] * dY.shape[3]
    let gamma = gatedAffine(forwardOpen).gamma
    var local = [Double](repeating: 0, count: 2 * channels)
    dY.withPointer { dyp in
      normalized.withPointer { hp in
        for c in 0..<channels {
          for s in 0..<n {
            let base = (s * channels + c) * plane
            let (a, b) = BatchNorm2D.sums(UnsafeMutablePointer(mutating: dyp) + base, UnsafeMutablePointer(mutating: hp) + base, plane)
            local[c] += a
            local[channels + c] += b
          }
        }
      }
    }
    // γ's and β's own gradients stay this process's (the job sums parameter gradients later).
    for c in 0..<channels where forwardOpen?[c] ?? true {
      bias.grad[c] += Float(local[c])
      weight.grad[c] += Float(local[channels + c])
    }
    let share = reducer.share
    var global = local.map { $0 * share }
    reducer.sum(&global)
    var dX = Tensor(shape: dY.shape) { _ in }
    dY.withPointer { dyp in
      normalized.withPointer { hp in
        dX.withMutablePointer { dxp in
          for c in 0..<channels {
            let meanDy = Float(global[c] / elementsInJob / share), meanDyHat = Float(global[channels + c] / elementsInJob / share)
            let scale = gamma[c] * inverseStd[c]
            for s in 0..<n {
              let base = (s * channels + c) * plane
              BatchNorm2D.inputGradient(UnsafeMutablePointer(mutating: dyp) + base, UnsafeMutablePointer(mutating: hp) + base, plane, scale: scale, meanDy: meanDy, meanDyHat: meanDyHat, into: dxp + base)
            }
          }
        }
      }
    }
    passClosedChannels(dY, into: &dX)
    return dX
  }

  /// The inference form per channel, `y = x·scale + shift` (zero for closed channels): what a
  /// convolution before it folds into its weights and bias.
  public var inferenceScaleShift: (scale: [Float], shift: [Float]) {
    let (gamma, beta) = effectiveAffine
    return inferenceAffine(gamma: gamma, beta: beta)
  }

  private func inferenceAffine(gamma: Tensor, beta: Tensor) -> (scale: [Float], shift: [Float]) {
    let scale = (0..<channels).map { gamma[$0] / (runningVariance.value[$0] + epsilon).squareRoot() }
    return (scale, (0..<channels).map { beta[$0] - runningMean.value[$0] * scale[$0] })
  }

  /// Channels whose source filter keeps a non-zero weight (all open without a source).
  public var openChannels: [Bool] {
    guard let source = channelSource else { return [Bool](repeating: true, count: channels) }
    let w = source.effective
    let perChannel = w.count / channels
    return (0..<channels).map { c in (0..<perChannel).contains { w[c * perChannel + $0] != 0 } }
  }

  /// γ and β as inference applies them: zero for the channels `channelSource` closes.
  public var effectiveAffine: (gamma: Tensor, beta: Tensor) {
    gatedAffine(channelSource == nil ? nil : openChannels)
  }

  /// γ and β with the entries of channels closed in `open` zero (nil: all open). Gradients of γ
  /// and β then come out zero for those channels, like any masked parameter's.
  func gatedAffine(_ open: [Bool]?) -> (gamma: Tensor, beta: Tensor) {
    var gamma = weight.effective, beta = bias.effective
    guard let open else { return (gamma, beta) }
    for (c, open) in open.enumerated() where !open {
      gamma[c] = 0
      beta[c] = 0
    }
    return (gamma, beta)
  }

  // Plane kernels: eight float lanes at a time (the compiler keeps a scalar loop's float sums
  // in order, so it cannot vectorise them itself), the tail one by one.

  @inline(__always)
  static func sum(_ x: UnsafeMutablePointer<Float>, _ count: Int) -> Double {
    var acc = SIMD8<Float>(), i = 0
    while i + 8 <= count {
      acc += UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self)
      i += 8
    }
    var total = Double(acc.sum())
    while i < count {
      total += Double(x[i])
      i += 1
    }
    return total
  }

  @inline(__always)
  static func squaredDeviations(_ x: UnsafeMutablePointer<Float>, _ count: Int, from mean: Float) -> Double {
    var acc = SIMD8<Float>(), i = 0
    let m = SIMD8<Float>(repeating: mean)
    while i + 8 <= count {
      let d = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - m
      acc += d * d
      i += 8
    }
    var total = Double(acc.sum())
    while i < count {
      let d = Double(x[i]) - Double(mean)
      total += d * d
      i += 1
    }
    return total
  }

  @inline(__always)
  static func normalize(
    _ x: UnsafeMutablePointer<Float>, _ count: Int, mean: Float, invStd: Float, gamma: Float, beta: Float,
    xhat: UnsafeMutablePointer<Float>, y: UnsafeMutablePointer<Float>
  ) {
    var i = 0
    let m = SIMD8<Float>(repeating: mean), s = SIMD8<Float>(repeating: invStd)
    let g = SIMD8<Float>(repeating: gamma), b = SIMD8<Float>(repeating: beta)
    while i + 8 <= count {
      let h = (UnsafeRawPointer(x + i).loadUnaligned(as: SIMD8<Float>.self) - m) * s
      UnsafeMutableRawPointer(xhat + i).storeBytes(of: h, as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: h * g + b, as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      let h = (x[i] - mean) * invStd
      xhat[i] = h
      y[i] = h * gamma + beta
      i += 1
    }
  }

  /// (Σ dy, Σ dy·x̂) over a plane.
  @inline(__always)
  static func sums(_ dy: UnsafeMutablePointer<Float>, _ xhat: UnsafeMutablePointer<Float>, _ count: Int) -> (Double, Double) {
    var a = SIMD8<Float>(), b = SIMD8<Float>(), i = 0
    while i + 8 <= count {
      let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
      a += g
      b += g * UnsafeRawPointer(xhat + i).loadUnaligned(as: SIMD8<Float>.self)
      i += 8
    }
    var sa = Double(a.sum()), sb = Double(b.sum())
    while i < count {
      sa += Double(dy[i])
      sb += Double(dy[i]) * Double(xhat[i])
      i += 1
    }
    return (sa, sb)
  }

  @inline(__always)
  static func inputGradient(
    _ dy: UnsafeMutablePointer<Float>, _ xhat: UnsafeMutablePointer<Float>, _ count: Int, scale: Float, meanDy: Float, meanDyHat: Float,
    into dx: UnsafeMutablePointer<Float>
  ) {
    var i = 0
    let s = SIMD8<Float>(repeating: scale), md = SIMD8<Float>(repeating: meanDy), mh = SIMD8<Float>(repeating: meanDyHat)
    while i + 8 <= count {
      let g = UnsafeRawPointer(dy + i).loadUnaligned(as: SIMD8<Float>.self)
      let h = UnsafeRawPointer(xhat + i).loadUnaligned(as: SIMD8<Float>.self)
      UnsafeMutableRawPointer(dx + i).storeBytes(of: s * (g - md - h * mh), as: SIMD8<Float>.self)
      i += 8
    }
    while i < count {
      dx[i] = scale * (dy[i] - meanDy - xhat[i] * meanDyHat)
      i += 1
    }
  }
}
