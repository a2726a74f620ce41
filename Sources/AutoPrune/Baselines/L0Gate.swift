import AutoPruneKernels
import AutoPruneNN
import Foundation

/// L0 regularisation with hard-concrete gates (Louizos, Welling & Kingma 2018), on one weight
/// (one gate per weight) or per output unit (covering the unit's row and bias).
///
/// Training draws `u ~ U(0,1)`, `s = σ((log u − log(1−u) + log α)/β)`, `z = clip(s·(ζ−γ)+γ, 0, 1)`;
/// evaluation uses `z = clip(σ(log α)·(ζ−γ)+γ, 0, 1)`. The loss adds `λ·Σ σ(log α − β·log(−γ/ζ))`,
/// the expected number of non-zero gates. Weights get the chain-rule gradient `g·z`; `log α`
/// is trained with its own Adam. β = 2/3, γ = −0.1, ζ = 1.1 as in the paper.
public final class L0Gate: Gate {
  /// Temperature β of the hard-concrete distribution.
  public static let beta: Float = 2.0 / 3.0
  /// Lower end γ of the stretch: below 0, so a gate can be exactly 0.
  public static let gamma: Float = -0.1
  /// Upper end ζ of the stretch: above 1, so a gate can be exactly 1.
  public static let zeta: Float = 1.1

  /// The Dense or Conv2D layer whose weight (and, per unit, bias) the gates multiply.
  public let layer: PrunableLayer
  /// One gate per output unit (its row and bias) instead of one per weight.
  public let perUnit: Bool
  /// Weight λ of the expected-L0 term in log α's gradient.
  public var lambda: Float
  /// log α per gate, the hard-concrete location: the larger, the likelier the gate is open.
  public private(set) var logAlpha: [Float]
  /// Gate values of the current forward pass.
  public private(set) var z: [Float]
  private var s: [Float]
  private var training = false
  /// When true the gate keeps its test-time value in training too and `log α` stops learning.
  public var frozen = false {
    didSet { prepare(training: false, rng: nil) }
  }
  private let adam: Adam
  private let logAlphaParameter: Parameter
  private var weightMask: Tensor
  private var biasMask: Tensor?

  /// - Parameters:
  ///   - layer: the Dense or Conv2D layer gated.
  ///   - perUnit: one gate per output unit (row and bias) instead of one per weight.
  ///   - lambda: weight λ of the expected number of open gates in the loss.
  ///   - learningRate: Adam's learning rate for log α (the gate's own optimizer).
  ///   - dropRate: initial probability of a gate being closed (log α starts at
  ///     log((1−p)/p)).
  public init(layer: PrunableLayer, perUnit: Bool, lambda: Float, learningRate: Float, dropRate: Float = 0.1) {
    self.layer = layer
    self.perUnit = perUnit
    self.lambda = lambda
    let count = perUnit ? layer.rows : layer.rows * layer.columns
    logAlpha = [Float](repeating: Float(Foundation.log(Double((1 - dropRate) / dropRate))), count: count)
    z = [Float](repeating: 1, count: count)
    s = [Float](repeating: 1, count: count)
    adam = Adam(learningRate: learningRate)
    logAlphaParameter = Parameter(name: "\(layer.name).log_alpha", value: Tensor(shape: [count], values: logAlpha), prunable: false)
    weightMask = Tensor(shape: layer.weight.shape, repeating: 1)
    biasMask = perUnit ? Tensor(shape: layer.bias.shape, repeating: 1) : nil
    layer.weight.gate = self
    if perUnit { layer.bias.gate = self }
    prepare(training: false, rng: nil)
  }

  public func mask(for parameter: Parameter) -> Tensor? {
    if parameter === layer.weight { return weightMask }
    if parameter === layer.bias { return biasMask }
    return nil
  }

  @inline(__always) static func sigmoid(_ x: Float) -> Float { 1 / (1 + expf(-x)) }

  /// Deterministic test-time gate for `logAlpha`.
  public static func testGate(_ logAlpha: Float) -> Float {
    min(1, max(0, sigmoid(logAlpha) * (zeta - gamma) + gamma))
  }

  /// Probability that a gate is non-zero, the expected-L0 term of one gate.
  public static func probabilityNonZero(_ logAlpha: Float) -> Float {
    sigmoid(logAlpha - beta * Float(Foundation.log(Double(-gamma / zeta))))
  }

  public func prepare(training: Bool, rng: RandomSource?) {
    self.training = training && !frozen
    let sampling = self.training && rng != nil
    // Uniforms are drawn in order on this thread (reproducible), the transcendental work is
    // spread over the cores: 3 of them per gate per step made L0 16× slower than dense.
    let uniforms: [Float] = sampling ? (0..<logAlpha.count).map { _ in min(max(rng!.uniform(), 1e-6), 1 - 1e-6) } : []
    let count = logAlpha.count
    logAlpha.withUnsafeBufferPointer { la in
      s.withUnsafeMutableBufferPointer { sb in
        z.withUnsafeMutableBufferPointer { zb in
          uniforms.withUnsafeBufferPointer { ub in
            let lp = SharedPointer(UnsafeMutablePointer(mutating: la.baseAddress!))
            let sp = SharedPointer(sb.baseAddress!), zp = SharedPointer(zb.baseAddress!)
            // An empty array may still have a base address: decide by `sampling`, not by nil.
            let up = sampling ? SharedPointer(UnsafeMutablePointer(mutating: ub.baseAddress!)) : nil
            Parallel.forRanges(count, minPerThread: 8192) { range in
              for i in range {
                if let up {
                  let u = up[i]
                  sp[i] = L0Gate.sigmoid((logf(u) - logf(1 - u) + lp[i]) / L0Gate.beta)
                  zp[i] = min(1, max(0, sp[i] * (L0Gate.zeta - L0Gate.gamma) + L0Gate.gamma))
                } else {
                  zp[i] = L0Gate.testGate(lp[i])
                }
              }
            }
          }
        }
      }
    }
    let columns = layer.columns
    weightMask = z.withUnsafeBufferPointer { zb in
      Tensor(shape: layer.weight.shape) { out in
        if perUnit {
          for i in out.indices { out[i] = zb[i / columns] }
        } else {
          out.baseAddress!.update(from: zb.baseAddress!, count: out.count)
        }
      }
    }
    if perUnit { biasMask = Tensor(shape: layer.bias.shape, values: z) }
    layer.weight.maskDidChange()
    layer.bias.maskDidChange()
  }

  /// Steps `log α` (data term through the sampled gate + λ·expected L0) with Adam, unless
  /// frozen, then turns the weight gradient into the chain-rule `g·z`. Call after backward,
  /// before the optimizer.
  public func afterBackward() {
    if !frozen { stepLogAlpha() }
    layer.weight.grad.multiply(by: weightMask)
    if let biasMask { layer.bias.grad.multiply(by: biasMask) }
  }

  private func stepLogAlpha() {
    let g = layer.weight.grad.storage, w = layer.weight.value.storage, columns = layer.columns
    var dz = [Float](repeating: 0, count: logAlpha.count)
    for i in 0..<g.count { dz[perUnit ? i / columns : i] += g[i] * w[i] }
    if perUnit {
      let gb = layer.bias.grad.storage, b = layer.bias.value.storage
      for r in 0..<dz.count { dz[r] += gb[r] * b[r] }
    }
    var gradient = [Float](repeating: 0, count: logAlpha.count)
    let shift = L0Gate.beta * Float(Foundation.log(Double(-L0Gate.gamma / L0Gate.zeta)))
    for i in 0..<logAlpha.count {
      let stretched = s[i] * (L0Gate.zeta - L0Gate.gamma) + L0Gate.gamma
      let dzdLogAlpha = training && stretched > 0 && stretched < 1 ? (L0Gate.zeta - L0Gate.gamma) * s[i] * (1 - s[i]) / L0Gate.beta : 0
      let p = L0Gate.sigmoid(logAlpha[i] - shift)
      gradient[i] = dz[i] * dzdLogAlpha + lambda * p * (1 - p)
    }
    logAlphaParameter.value = Tensor(shape: [logAlpha.count], values: logAlpha)
    logAlphaParameter.grad = Tensor(shape: [logAlpha.count], values: gradient)
    adam.step([logAlphaParameter])
    logAlpha = logAlphaParameter.value.storage
  }


  /// Saves `log α`, its Adam state and the frozen flag under `prefix`.
  public func save(into state: inout TrainingState, prefix: String) {
    state.put("\(prefix).log_alpha", logAlpha)
    state.put("\(prefix).adam", optimizer: adam)
    state.put("\(prefix).frozen", bool: frozen)
  }

  /// Restores a `save`; the gate values are redrawn by the next `prepare`, as after any step.
  public func restore(from state: TrainingState, prefix: String) throws {
    logAlpha = try state.floats("\(prefix).log_alpha", count: logAlpha.count)
    logAlphaParameter.value = Tensor(shape: [logAlpha.count], values: logAlpha)
    try state.restore(adam, from: "\(prefix).adam", parameters: [logAlphaParameter])
    frozen = try state.bool("\(prefix).frozen")
  }

  /// Expected number of non-zero gates (the L0 penalty without λ).
  public var expectedL0: Float { logAlpha.reduce(0) { $0 + L0Gate.probabilityNonZero($1) } }

  /// Removes the gate from the layer's parameters.
  public func detach() {
    layer.weight.gate = nil
    if perUnit { layer.bias.gate = nil }
  }
}

/// L0 pruning of a model: one `L0Gate` per prunable layer (per weight, or per unit except the
/// classifier's outputs).
public final class L0Pruning: PruningMethod {
  public let layers: [PrunableLayer]
  /// One gate per layer; with `perUnit` the classifier has none (its outputs are the classes).
  public let gates: [L0Gate]
  /// λ shared by every gate (what `summary` reports).
  public let lambda: Float
  /// L0 gates on every Dense and Conv2D layer of `model`; `learningRate` is log α's Adam rate.
  public init(model: Model, perUnit: Bool, lambda: Float, learningRate: Float) {
    let found = PrunableLayer.discover(in: model)
    layers = found
    self.lambda = lambda
    gates = found.enumerated().compactMap { index, layer in
      if perUnit && index == found.count - 1 { return nil }
      return L0Gate(layer: layer, perUnit: perUnit, lambda: lambda, learningRate: learningRate)
    }
  }

  public func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int) {}

  public func afterBackward() { for gate in gates { gate.afterBackward() } }

  /// Fine-tuning: gates fixed at their test-time values.
  public func freeze() { for gate in gates { gate.frozen = true } }

  public func save(into state: inout TrainingState, prefix: String) {
    for gate in gates { gate.save(into: &state, prefix: "\(prefix).\(gate.layer.name)") }
  }

  public func restore(from state: TrainingState, prefix: String) throws {
    for gate in gates { try gate.restore(from: state, prefix: "\(prefix).\(gate.layer.name)") }
  }

  public var summary: String { "L0 hard-concrete (\(gates.first?.perUnit == true ? "unit" : "weight") gates), λ \(lambda)" }

  public var state: [(name: String, shape: [Int], values: [Float])] {
    gates.map { ("gate.\($0.layer.name).log_alpha", [$0.logAlpha.count], $0.logAlpha) }
  }
}
