import AutoPruneKernels
import AutoPruneNN
import Foundation

/// The AutoPrune gate of one layer (METHOD.md), for weight or unit granularity.
///
/// Auxiliary parameters `m` live on up to three axes of the layer's weight `W` (`rows` output
/// units × `columns` inputs, a conv filter flattened): one per weight (`element`), one per
/// output unit (`output`, covering its row and its bias) and one per input feature (`input`,
/// covering `inputGroup` consecutive columns). The mask is the product of the open gates:
///
///     h(m) = m > 0 ? 1 : 0,    T = W ⊙ h(M)
///
/// After each backward pass, with `g = ∂L/∂T` (in `weight.grad`):
///
///     ∂̃L2/∂m = (g · sgn(w)) · s'(m) + μ·ρ · s'(m)      summed over the weights a gate covers
///     m ← m − η_M · ∂̃L2/∂m
///
/// `sgn(w)` becomes `w` with `sensitivity = magnitude` and is dropped with
/// `correlationConsistency = off`; `ρ` weights the penalty by parameters or FLOPs. Then the
/// weight gradient is left as `g` (recoverable) or becomes `g · h(m)` (frozen).
///
/// Note on the STE: with the `both` scope (METHOD's formula) `s'(m) > 0` multiplies the whole
/// step, so it changes how fast `m` moves but never its direction: for plain SGD on `M` the
/// open/closed history of a gate is, up to step size, the same under every STE. The
/// `penaltyOnly` scope applies `s'` to the penalty term alone, so below zero the penalty is
/// damped while the data term is not — the asymmetry the paper's STE argument needs.
public final class AutoPruneGate: Gate {
  /// The layer's parameter prefix (`fc1`); names the gate's state in checkpoints and saved files.
  public let layerName: String
  /// The layer's weight `W`, `rows × columns` once a conv filter is flattened.
  public let weight: Parameter
  /// The layer's bias, masked with its output unit when the gate has an `output` axis.
  public let bias: Parameter?
  /// Output units (neurons or filters) of `W`.
  public let rows: Int
  /// Weights per output unit (inputs × kernel area).
  public let columns: Int
  /// Consecutive columns one input gate covers (a conv's kernel area, 1 for a dense layer).
  public let inputGroup: Int
  /// The switches the gate steps by; `AutoPrunePruning` fills in `phaseSteps`.
  public var options: AutoPruneOptions
  /// Penalty multipliers `ρ` per gate on each axis (1 for `count`).
  let elementPenalty: Float
  let outputPenalty: Float
  let inputPenalty: Float

  /// Auxiliary parameters `m`, one per weight (`rows × columns`, row-major); nil without the
  /// element axis. Values set from outside (any axis) reach the mask at `refreshMasks()`.
  public var element: [Float]?
  /// Auxiliary parameters `m`, one per output unit; nil without the output axis. A unit closes
  /// with its row of `W` and its bias.
  public var output: [Float]?
  /// Auxiliary parameters `m`, one per input feature (`columns / inputGroup`); nil without the
  /// input axis.
  public var input: [Float]?
  /// When true, `update` leaves `m` alone (fine-tuning with M frozen).
  public var frozen = false
  /// γ and β of the BatchNorm after the layer, whose gradients give the output gates' data term
  /// when `options.unitDataTerm` is `batchNorm` (set by `AutoPrunePruning`; nil: the filter's).
  public var batchNormAffine: (scale: Parameter, shift: Parameter)?
  /// The group sharing this gate's output `m` (layers a residual addition ties), if any: the
  /// group steps `m` and finishes the update.
  public internal(set) weak var outputGroup: OutputGateGroup?
  /// Mean of `|g|` over the layer, for the relative μ scales: a running mean on the step clock,
  /// the plain mean over the phase's first twentieth on the phase clock.
  public private(set) var meanAbsGradient: Float = 0
  /// Phase clock: mean `|data term|` per gate of the output axis (same window).
  public private(set) var meanAbsOutputData: Float = 0
  /// Phase clock: mean `|data term|` per gate of the input axis (same window).
  public private(set) var meanAbsInputData: Float = 0
  /// `muScale = networkRelative`: the geometric mean of the gated layers' scales above, per
  /// axis (set by `AutoPrunePruning` after each step; empty before the first).
  public internal(set) var networkScale: [Axis: Float] = [:]
  /// Phase clock with `params`/`flops` weighting: the network's mean `ρ` per gate, so the
  /// average gate keeps the phase's travel (set by `AutoPrunePruning`).
  public var penaltyUnit: Float = 1

  private var weightMask: Tensor
  private var biasMask: Tensor?

  /// - Parameters:
  ///   - layerName: the layer's name (`fc1`), which names the gate's saved state (`gate.fc1.element`).
  ///   - weight: the layer's weight `[rows, columns]`, masked by the element, output and input gates.
  ///   - bias: its bias, masked with its row when the output gate closes (nil: none).
  ///   - rows: output units (neurons or filters).
  ///   - columns: weights per unit.
  ///   - inputGroup: columns per input feature (kernel area for a convolution, 1 for dense).
  ///   - axes: which gates the layer gets: per weight, per output unit, per input feature.
  ///   - positions: output positions per sample (conv), 1 for a dense layer — for FLOPs weights.
  ///   - options: the method's switches (METHOD.md), shared by all gates of a run.
  public init(
    layerName: String, weight: Parameter, bias: Parameter?, rows: Int, columns: Int, inputGroup: Int = 1,
    axes: Set<Axis>, positions: Int = 1, options: AutoPruneOptions
  ) {
    self.layerName = layerName
    self.weight = weight
    self.bias = bias
    self.rows = rows
    self.columns = columns
    self.inputGroup = inputGroup
    self.options = options
    let perWeight: Float
    switch options.penaltyWeighting {
    case .count: perWeight = 0
    case .params: perWeight = 1
    case .flops: perWeight = Float(positions)
    }
    // `count` charges one per gate; `params`/`flops` charge what the gate removes.
    elementPenalty = perWeight == 0 ? 1 : perWeight
    outputPenalty = perWeight == 0 ? 1 : perWeight * Float(columns)
    inputPenalty = perWeight == 0 ? 1 : perWeight * Float(rows * inputGroup)
    let rng = options.m0Spread > 0 ? RandomSource(seed: options.m0Seed) : nil
    func initial(_ count: Int) -> [Float] {
      guard let rng else { return [Float](repeating: options.m0, count: count) }
      return (0..<count).map { _ in options.m0 * (1 + options.m0Spread * rng.uniform(-1, 1)) }
    }
    if axes.contains(.element) { element = initial(rows * columns) }
    if axes.contains(.output) { output = initial(rows) }
    if axes.contains(.input) { input = initial(columns / inputGroup) }
    weightMask = Tensor(shape: weight.shape, repeating: 1)
    biasMask = (axes.contains(.output) && bias != nil) ? Tensor(shape: bias!.shape, repeating: 1) : nil
    refreshMasks()
    weight.gate = self
    if biasMask != nil { bias?.gate = self }
  }

  /// Which auxiliary parameters a gate has.
  public enum Axis: Hashable, Sendable { case element, output, input }

  public func mask(for parameter: Parameter) -> Tensor? {
    if parameter === weight { return weightMask }
    if parameter === bias { return biasMask }
    return nil
  }

  /// Removes the gate from its parameters (the layer computes with plain values again).
  public func detach() {
    weight.gate = nil
    weight.weightDecayMask = nil
    if bias?.gate === self {
      bias?.gate = nil
      bias?.weightDecayMask = nil
    }
  }

  @inline(__always) static func h(_ m: Float) -> Float { m > 0 ? 1 : 0 }

  /// Output-unit gates (true open), every unit open without an output axis. This is the gate's
  /// own view: accounting and thinning go by `ChannelGraph`, which also drops units nothing reads.
  public var outputOpen: [Bool] { output?.map { $0 > 0 } ?? [Bool](repeating: true, count: rows) }
  /// Input-feature mask (true open), every feature open without an input axis.
  public var inputOpen: [Bool] { input?.map { $0 > 0 } ?? [Bool](repeating: true, count: columns / inputGroup) }
  /// The expanded 0/1 mask of `W` (product of the open gates on every axis), as the layer uses it.
  public var weightMaskValues: Tensor { weightMask }

  /// The auxiliary step for one gate: returns the new `m`.
  @inline(__always)
  static func step(_ m: Float, data: Float, penalty: Float, ste: STE, both: Bool, eta: Float) -> Float {
    m - eta * gradient(m, data: data, penalty: penalty, ste: ste, both: both)
  }

  /// `∂̃L2/∂m` for one gate.
  @inline(__always)
  static func gradient(_ m: Float, data: Float, penalty: Float, ste: STE, both: Bool) -> Float {
    let s = ste.derivative(m)
    return both ? (data + penalty) * s : data + penalty * s
  }

  /// Momentum buffers of the auxiliary SGD (allocated only with `auxiliaryMomentum > 0`).
  private var velocity: [Axis: [Float]] = [:]

  /// The momentum step `v ← βv + ∂̃;  m ← m − η_M·v` over one axis.
  private func momentumStep(_ m: inout [Float], axis: Axis, eta: Float, gradients: (Int) -> Float) {
    let beta = options.auxiliaryMomentum
    var v = velocity[axis] ?? [Float](repeating: 0, count: m.count)
    for i in 0..<m.count {
      v[i] = beta * v[i] + gradients(i)
      m[i] -= eta * v[i]
    }
    velocity[axis] = v
  }

  /// The data-term factor for weight `w`: sgn(w), w, or 1 (correlation consistency off).
  @inline(__always)
  static func coupling(_ w: Float, _ mode: Int) -> Float {
    mode == 0 ? (w > 0 ? 1 : (w < 0 ? -1 : 0)) : (mode == 1 ? w : 1)
  }

  /// `step` and `coupling` for 16 gates at once; returns where the scalar tail starts.
  @inline(__always)
  static func vectorSteps(
    _ m: UnsafeMutablePointer<Float>, g: UnsafeMutablePointer<Float>, w: UnsafeMutablePointer<Float>,
    range: Range<Int>, slope: Float, penalty: Float, both: Bool, eta: Float, mode: Int
  ) -> Int {
    typealias V = SIMD16<Float>
    let zero = V(repeating: 0), one = V(repeating: 1)
    var i = range.lowerBound
    while i + 16 <= range.upperBound {
      let mv = UnsafeRawPointer(m + i).loadUnaligned(as: V.self)
      let gv = UnsafeRawPointer(g + i).loadUnaligned(as: V.self)
      let wv = UnsafeRawPointer(w + i).loadUnaligned(as: V.self)
      let data = gv * couplingVector(wv, mode)
      let s = V(repeating: slope).replacing(with: one, where: mv .> zero)
      let gradient = both ? (data + V(repeating: penalty)) * s : data + V(repeating: penalty) * s
      UnsafeMutableRawPointer(m + i).storeBytes(of: mv - V(repeating: eta) * gradient, as: V.self)
      i += 16
    }
    return i
  }

  private var couplingMode: Int {
    !options.correlationConsistency ? 2 : (options.sensitivity == .sign ? 0 : 1)
  }

  /// Updates the auxiliary parameters from `weight.grad` (= ∂L/∂T) with strength `mu`, then
  /// applies the weight-gradient and weight-decay rules. Call after backward, before the
  /// optimizer step.
  public func update(mu: Float) {
    if !frozen {
      updateAuxiliary(mu: mu)
    } else if options.muScale != .absolute && !options.usesPhaseClock {
      _ = observeGradientScale()  // the step clock's running mean moved with frozen gates too
    }
    if outputGroup == nil { finishUpdate() }
  }

  /// How one axis steps this time: `m ← m − eta·(data + penalty)·s'(m)`.
  struct AxisRule {
    var eta: Float
    var penalty: Float
  }

  /// Steps whose scale has been observed (phase clock).
  private var observedSteps = 0

  /// Folds one step's mean into the scale. Step clock: a running mean at a fixed 1% rate.
  /// Phase clock: the plain mean over the first twentieth of the phase, then fixed, so μ stays
  /// measured against the dense network's gradients: when pruning starts to hurt, the larger
  /// gradients pull gates open instead of raising the threshold with them.
  private func runningMean(_ previous: Float, _ observed: Float) -> Float {
    guard options.usesPhaseClock else { return previous == 0 ? observed : 0.99 * previous + 0.01 * observed }
    let window = max(1, options.phaseSteps / 20)
    guard observedSteps < window else { return previous }
    return previous + (observed - previous) / Float(observedSteps + 1)
  }

  /// Updates `meanAbsGradient` from this step's mean `|g|` over the layer.
  private func observeGradientScale() -> Float {
    let count = weight.count
    let sumAbs = weight.grad.withUnsafeBufferPointer { g -> Float in
      var total = Chunks.Vector()
      Chunks.forEach(count) { i, lanes in
        let v = Chunks.load(g.baseAddress!, i, lanes)
        total += v.replacing(with: -v, where: v .< 0)
      }
      return total.sum()
    }
    meanAbsGradient = runningMean(meanAbsGradient, sumAbs / Float(max(1, count)))
    return meanAbsGradient
  }

  /// The step size and penalty of each axis for strength `mu` (see `AutoPruneOptions.GateClock`).
  /// Step clock: η_M as given, μ times the layer's mean |g| (gradient-relative) or the network's
  /// (network-relative). Phase clock: each axis has a scale (the layer's mean |g| for weights or
  /// mean |data term| per unit for units; with network-relative, the network scale of that axis),
  /// and η = travelOverPhase·m0 / (steps · μ₀ · scale · penaltyUnit), so at the starting μ₀ the
  /// penalty moves an average gate by that travel over the phase and the data term counts in
  /// units of the scale.
  private func rules(mu unscaled: Float, outputData: [Float]?, inputData: [Float]?) -> [Axis: AxisRule] {
    let mu = unscaled * densityFactor
    let relative = options.muScale != .absolute
    let network = options.muScale == .networkRelative
    guard options.usesPhaseClock else {
      let layerScale = relative ? observeGradientScale() : 1
      let layerMu = mu * (network ? networkScale[.element] ?? layerScale : layerScale)
      return [
        .element: AxisRule(eta: options.etaM, penalty: layerMu * elementPenalty),
        .output: AxisRule(eta: options.etaM, penalty: layerMu * outputPenalty),
        .input: AxisRule(eta: options.etaM, penalty: layerMu * inputPenalty),
      ]
    }
    func meanAbs(_ values: [Float]) -> Float { values.reduce(0) { $0 + abs($1) } / Float(max(1, values.count)) }
    let travel = options.travelOverPhase * options.m0 / (Float(options.phaseSteps) * options.mu)
    var result: [Axis: AxisRule] = [:]
    func add(_ axis: Axis, scale: Float, rho: Float) {
      // A layer whose gradient is exactly zero so far has no scale yet: no step.
      let s = network ? networkScale[axis] ?? 0 : relative ? scale : 1
      guard s > 0 else { result[axis] = AxisRule(eta: 0, penalty: 0); return }
      result[axis] = AxisRule(eta: travel / (s * penaltyUnit), penalty: mu * s * rho)
    }
    defer { observedSteps += 1 }
    if element != nil { add(.element, scale: relative ? observeGradientScale() : 1, rho: elementPenalty) }
    if let outputData {
      if relative { meanAbsOutputData = runningMean(meanAbsOutputData, meanAbs(outputData)) }
      add(.output, scale: meanAbsOutputData, rho: outputPenalty)
    }
    if let inputData {
      if relative { meanAbsInputData = runningMean(meanAbsInputData, meanAbs(inputData)) }
      add(.input, scale: meanAbsInputData, rho: inputPenalty)
    }
    return result
  }

  /// `keptFraction^γ` of the density feedback (1 when γ is 0): the share of this layer's weights
  /// the current masks keep, counted only when the option asks for it.
  private var densityFactor: Float {
    let gamma = options.densityFeedback
    guard gamma > 0 else { return 1 }
    let kept = weightMask.withUnsafeBufferPointer { m in m.reduce(0, +) } / Float(max(1, weightMask.count))
    return kept > 0 ? Float(pow(Double(kept), Double(gamma))) : 0
  }

  /// New masks from `m` (unless frozen), then the weight-gradient and weight-decay rules.
  func finishUpdate() {
    if !frozen { refreshMasks() }
    applyWeightRules()
  }

  private func updateAuxiliary(mu: Float) {
    let mode = couplingMode
    let (outputData, inputData) = unitDataTerms(mode: mode)
    let rules = rules(mu: mu, outputData: outputData, inputData: inputData)
    if options.auxiliaryMomentum > 0 { return updateWithMomentum(rules, outputData: outputData, inputData: inputData) }
    let ste = options.ste, both = options.steScope == .both
    if let rule = rules[.element], element != nil { stepElements(rule, mode: mode) }
    if let outputData, let rule = rules[.output] {
      if let outputGroup {
        outputGroup.contribute(data: outputData.map { rule.eta * $0 }, penalty: rule.eta * rule.penalty)
      } else {
        output = zip(output!, outputData).map { AutoPruneGate.step($0, data: $1, penalty: rule.penalty, ste: ste, both: both, eta: rule.eta) }
      }
    }
    if let inputData, let rule = rules[.input] {
      input = zip(input!, inputData).map { AutoPruneGate.step($0, data: $1, penalty: rule.penalty, ste: ste, both: both, eta: rule.eta) }
    }
  }

  /// The element axis's step, 16 gates at a time where the STE allows.
  private func stepElements(_ rule: AxisRule, mode: Int) {
    let ste = options.ste, both = options.steScope == .both, eta = rule.eta, elementPenalty = rule.penalty
    weight.grad.withUnsafeBufferPointer { g in
      weight.value.withUnsafeBufferPointer { w in
        let gp = SharedPointer(UnsafeMutablePointer(mutating: g.baseAddress!))
        let wp = SharedPointer(UnsafeMutablePointer(mutating: w.baseAddress!))
        element?.withUnsafeMutableBufferPointer { m in
          let mp = SharedPointer(m.baseAddress!)
          Parallel.forRanges(m.count, minPerThread: 32_768) { range in
            var start = range.lowerBound
            // Identity and leaky-ReLU STEs are piecewise constant: 16 gates per vector step
            // (this loop was a third of a LeNet-300 pruning epoch when scalar).
            if let slope = ste.negativeSlope {
              start = AutoPruneGate.vectorSteps(
                mp.base, g: gp.base, w: wp.base, range: range, slope: slope, penalty: elementPenalty, both: both,
                eta: eta, mode: mode)
            }
            for i in start..<range.upperBound {
              mp[i] = AutoPruneGate.step(
                mp[i], data: gp[i] * AutoPruneGate.coupling(wp[i], mode), penalty: elementPenalty, ste: ste, both: both, eta: eta)
            }
          }
        }
      }
    }
  }

  /// The data terms of the output-unit and input-feature gates: `Σ g·coupling(w)` over the
  /// weights each gate covers (nil for an axis the gate does not have). One vectorised pass
  /// for the coupled gradient, then row sums and column sums over it.
  private func unitDataTerms(mode: Int) -> (output: [Float]?, input: [Float]?) {
    guard output != nil || input != nil else { return (nil, nil) }
    let rows = rows, columns = columns, group = inputGroup
    // One pass over g and w: each row's coupled gradients summed in 16 lanes (a single running
    // sum made every addition wait for the previous one: 6.5% of a LeNet-300 unit-pruning
    // epoch), and added to the column sums row after row.
    var rowSums = [Float](repeating: 0, count: output == nil ? 0 : rows)
    var columnSums = [Float](repeating: 0, count: input == nil ? 0 : columns)
    weight.grad.withUnsafeBufferPointer { g in
      weight.value.withUnsafeBufferPointer { w in
        rowSums.withUnsafeMutableBufferPointer { rs in
          columnSums.withUnsafeMutableBufferPointer { cs in
            let columnsOut = cs.isEmpty ? nil : cs.baseAddress
            for r in 0..<rows {
              let gr = g.baseAddress! + r * columns, wr = w.baseAddress! + r * columns
              var total = Chunks.Vector()
              Chunks.forEach(columns) { c, lanes in
                let v = Chunks.load(gr, c, lanes) * AutoPruneGate.couplingVector(Chunks.load(wr, c, lanes), mode)
                total += v
                if let columnsOut { Chunks.store(Chunks.load(columnsOut, c, lanes) + v, columnsOut, c, lanes) }
              }
              if !rs.isEmpty { rs[r] = total.sum() }
            }
          }
        }
      }
    }
    let inputData = input.map { m in
      (0..<m.count).map { j in
        var data: Float = 0
        for c in (j * group)..<((j + 1) * group) { data += columnSums[c] }
        return data
      }
    }
    if output != nil, options.unitDataTerm == .batchNorm, let (scale, shift) = batchNormAffine, scale.count == rows {
      // The channel after normalisation: ∂L/∂(scaling the channel's output) = g_γ·γ + g_β·β,
      // with the sensitivity's coupling in place of γ and β as for weights.
      let gs = scale.grad.storage, s = scale.value.storage, gb = shift.grad.storage, b = shift.value.storage
      rowSums = (0..<rows).map { r in gs[r] * AutoPruneGate.coupling(s[r], mode) + gb[r] * AutoPruneGate.coupling(b[r], mode) }
    }
    return (output == nil ? nil : rowSums, inputData)
  }

  /// The same update as `updateAuxiliary` with a momentum SGD on M (scalar: an ablation path).
  /// The velocity accumulates gradients; each axis's η scales it when m moves.
  private func updateWithMomentum(_ rules: [Axis: AxisRule], outputData: [Float]?, inputData: [Float]?) {
    let ste = options.ste, both = options.steScope == .both, mode = couplingMode
    let g = weight.grad.storage, w = weight.value.storage
    if var m = element, let rule = rules[.element] {
      let current = m
      momentumStep(&m, axis: .element, eta: rule.eta) { i in
        AutoPruneGate.gradient(current[i], data: g[i] * AutoPruneGate.coupling(w[i], mode), penalty: rule.penalty, ste: ste, both: both)
      }
      element = m
    }
    if let outputGroup, let outputData, let rule = rules[.output] {
      outputGroup.contribute(data: outputData.map { rule.eta * $0 }, penalty: rule.eta * rule.penalty)
    } else if var m = output, let outputData, let rule = rules[.output] {
      let current = m
      momentumStep(&m, axis: .output, eta: rule.eta) { r in
        AutoPruneGate.gradient(current[r], data: outputData[r], penalty: rule.penalty, ste: ste, both: both)
      }
      output = m
    }
    if var m = input, let inputData, let rule = rules[.input] {
      let current = m
      momentumStep(&m, axis: .input, eta: rule.eta) { j in
        AutoPruneGate.gradient(current[j], data: inputData[j], penalty: rule.penalty, ste: ste, both: both)
      }
      input = m
    }
  }

  /// `coupling` for 16 weights.
  @inline(__always)
  static func couplingVector(_ w: SIMD16<Float>, _ mode: Int) -> SIMD16<Float> {
    let zero = SIMD16<Float>(repeating: 0), one = SIMD16<Float>(repeating: 1)
    switch mode {
    case 0: return zero.replacing(with: one, where: w .> zero).replacing(with: -one, where: w .< zero)
    case 1: return w
    default: return one
    }
  }

  /// Frozen masked weights get `g · h(m)`; closed entries skip weight decay unless told not to.
  func applyWeightRules() {
    if options.maskedWeights == .frozen || frozen {
      weight.grad.multiply(by: weightMask)
      if let biasMask, let bias { bias.grad.multiply(by: biasMask) }
    }
    let skipDecay = options.weightDecayOnClosedGates == .skip
    weight.weightDecayMask = skipDecay ? weightMask : nil
    if let bias, biasMask != nil { bias.weightDecayMask = skipDecay ? biasMask : nil }
  }

  /// This layer's measured scale per axis, for the network scale (axes not measured yet are
  /// left out).
  func layerScales() -> [(axis: Axis, scale: Float)] {
    var scales: [(Axis, Float)] = []
    // The step clock measures |g| on every gate; the phase clock on element gates only.
    if meanAbsGradient > 0 && (element != nil || !options.usesPhaseClock) { scales.append((.element, meanAbsGradient)) }
    if output != nil, meanAbsOutputData > 0 { scales.append((.output, meanAbsOutputData)) }
    if input != nil, meanAbsInputData > 0 { scales.append((.input, meanAbsInputData)) }
    return scales
  }

  /// Saves `m` of every axis, the momentum buffers, the scale means and their step count, and
  /// the frozen flag under `prefix`.
  public func save(into state: inout TrainingState, prefix: String) {
    for (axis, name) in [(Axis.element, "element"), (.output, "output"), (.input, "input")] {
      if let m = values(axis) { state.put("\(prefix).\(name)", m) }
      if let v = velocity[axis] { state.put("\(prefix).\(name).velocity", v) }
    }
    state.put("\(prefix).mean_abs_gradient", float: meanAbsGradient)
    state.put("\(prefix).mean_abs_output_data", float: meanAbsOutputData)
    state.put("\(prefix).mean_abs_input_data", float: meanAbsInputData)
    state.put("\(prefix).observed_steps", int: observedSteps)
    state.put("\(prefix).frozen", bool: frozen)
  }

  /// Restores what `save` wrote and rebuilds the masks.
  public func restore(from state: TrainingState, prefix: String) throws {
    for (axis, name) in [(Axis.element, "element"), (.output, "output"), (.input, "input")] {
      guard let m = values(axis) else { continue }
      let restored = try state.floats("\(prefix).\(name)", count: m.count)
      switch axis {
      case .element: element = restored
      case .output: output = restored
      case .input: input = restored
      }
      let key = "\(prefix).\(name).velocity"
      velocity[axis] = state.has(key) ? try state.floats(key, count: m.count) : nil
    }
    meanAbsGradient = try state.float("\(prefix).mean_abs_gradient")
    meanAbsOutputData = try state.float("\(prefix).mean_abs_output_data")
    meanAbsInputData = try state.float("\(prefix).mean_abs_input_data")
    // The phase clock's scale window counts steps; a resume inside it must go on counting.
    observedSteps = max(0, try state.int("\(prefix).observed_steps"))
    frozen = try state.bool("\(prefix).frozen")
    refreshMasks()
  }

  private func values(_ axis: Axis) -> [Float]? {
    switch axis {
    case .element: return element
    case .output: return output
    case .input: return input
    }
  }

  /// Recomputes the expanded masks from `m` and tells the parameters.
  public func refreshMasks() {
    let rowOpen = output?.map(AutoPruneGate.h)
    let inputOpen = input?.map(AutoPruneGate.h)
    let cols = columns, group = inputGroup, rows = rows
    weightMask = Tensor(shape: weight.shape) { out in
      let o = SharedPointer(out.baseAddress!)
      if let element {
        element.withUnsafeBufferPointer { e in
          let ep = SharedPointer(UnsafeMutablePointer(mutating: e.baseAddress!))
          Parallel.forRanges(e.count, minPerThread: 32_768) { range in
            for i in range { o[i] = AutoPruneGate.h(ep[i]) }
          }
        }
      } else {
        out.update(repeating: 1)
      }
      if rowOpen == nil && inputOpen == nil { return }
      let columnFactor = (0..<cols).map { inputOpen?[$0 / group] ?? 1 }
      for r in 0..<rows {
        let row = o + r * cols
        if (rowOpen?[r] ?? 1) == 0 {
          row.update(repeating: 0, count: cols)
        } else if inputOpen != nil {
          for c in 0..<cols { row[c] *= columnFactor[c] }
        }
      }
    }
    if let rowOpen, biasMask != nil { biasMask = Tensor(shape: [rows], values: rowOpen) }
    weight.maskDidChange()
    bias?.maskDidChange()
  }
}
