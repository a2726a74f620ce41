import AutoPruneKernels
import AutoPruneNN

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
  public let layerName: String
  public let weight: Parameter
  public let bias: Parameter?
  public let rows: Int
  public let columns: Int
  public let inputGroup: Int
  public var options: AutoPruneOptions
  /// Penalty multipliers `ρ` per gate on each axis (1 for `count`).
  let elementPenalty: Float
  let outputPenalty: Float
  let inputPenalty: Float

  public var element: [Float]?
  public var output: [Float]?
  public var input: [Float]?
  /// When true, `update` leaves `m` alone (fine-tuning with M frozen).
  public var frozen = false
  /// The group sharing this gate's output `m` (layers a residual addition ties), if any: the
  /// group steps `m` and finishes the update.
  public internal(set) weak var outputGroup: OutputGateGroup?
  /// Running mean of `|g|` over the layer, for `muScale = gradientRelative`.
  public private(set) var meanAbsGradient: Float = 0

  private var weightMask: Tensor
  private var biasMask: Tensor?

  /// - Parameters:
  ///   - positions: output positions per sample (conv), 1 for a dense layer — for FLOPs weights.
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

  /// Output-unit mask (1 open) and input-feature mask, for accounting and thinning.
  public var outputOpen: [Bool] { output?.map { $0 > 0 } ?? [Bool](repeating: true, count: rows) }
  public var inputOpen: [Bool] { input?.map { $0 > 0 } ?? [Bool](repeating: true, count: columns / inputGroup) }
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
  private func momentumStep(_ m: inout [Float], axis: Axis, gradients: (Int) -> Float) {
    let beta = options.auxiliaryMomentum, eta = options.etaM
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
    var layerMu = mu
    if options.muScale == .gradientRelative {
      var sumAbs: Float = 0
      for v in weight.grad.storage { sumAbs += abs(v) }
      let stepMean = sumAbs / Float(max(1, weight.count))
      meanAbsGradient = meanAbsGradient == 0 ? stepMean : 0.99 * meanAbsGradient + 0.01 * stepMean
      layerMu = mu * meanAbsGradient
    }
    if !frozen { updateAuxiliary(mu: layerMu) }
    if outputGroup == nil { finishUpdate() }
  }

  /// New masks from `m` (unless frozen), then the weight-gradient and weight-decay rules.
  func finishUpdate() {
    if !frozen { refreshMasks() }
    applyWeightRules()
  }

  private func updateAuxiliary(mu: Float) {
    if options.auxiliaryMomentum > 0 { return updateWithMomentum(mu: mu) }
    let ste = options.ste, both = options.steScope == .both, eta = options.etaM, mode = couplingMode
    let elementPenalty = mu * self.elementPenalty, outputPenalty = mu * self.outputPenalty
    let inputPenalty = mu * self.inputPenalty
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
    let (outputData, inputData) = unitDataTerms(mode: mode)
    if let outputData {
      if let outputGroup {
        outputGroup.contribute(data: outputData, penalty: outputPenalty)
      } else {
        output = zip(output!, outputData).map { AutoPruneGate.step($0, data: $1, penalty: outputPenalty, ste: ste, both: both, eta: eta) }
      }
    }
    if let inputData {
      input = zip(input!, inputData).map { AutoPruneGate.step($0, data: $1, penalty: inputPenalty, ste: ste, both: both, eta: eta) }
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
    return (output == nil ? nil : rowSums, inputData)
  }

  /// The same update as `updateAuxiliary` with a momentum SGD on M (scalar: an ablation path).
  private func updateWithMomentum(mu: Float) {
    let ste = options.ste, both = options.steScope == .both, mode = couplingMode
    let g = weight.grad.storage, w = weight.value.storage
    if var m = element {
      let penalty = mu * elementPenalty
      let current = m
      momentumStep(&m, axis: .element) { i in
        AutoPruneGate.gradient(current[i], data: g[i] * AutoPruneGate.coupling(w[i], mode), penalty: penalty, ste: ste, both: both)
      }
      element = m
    }
    let (outputData, inputData) = unitDataTerms(mode: mode)
    if let outputGroup, let outputData {
      outputGroup.contribute(data: outputData, penalty: mu * outputPenalty)
    } else if var m = output, let outputData {
      let penalty = mu * outputPenalty
      let current = m
      momentumStep(&m, axis: .output) { r in
        AutoPruneGate.gradient(current[r], data: outputData[r], penalty: penalty, ste: ste, both: both)
      }
      output = m
    }
    if var m = input, let inputData {
      let penalty = mu * inputPenalty
      let current = m
      momentumStep(&m, axis: .input) { j in
        AutoPruneGate.gradient(current[j], data: inputData[j], penalty: penalty, ste: ste, both: both)
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

  /// Saves `m` of every axis, the momentum buffers and the gradient mean under `prefix`.
  public func save(into state: inout TrainingState, prefix: String) {
    for (axis, name) in [(Axis.element, "element"), (.output, "output"), (.input, "input")] {
      if let m = values(axis) { state.put("\(prefix).\(name)", m) }
      if let v = velocity[axis] { state.put("\(prefix).\(name).velocity", v) }
    }
    state.put("\(prefix).mean_abs_gradient", float: meanAbsGradient)
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
