import AutoPruneNN
import Foundation

/// What the gates cover.
public enum Granularity: String, CaseIterable, Sendable {
  /// One gate per weight of every Dense and Conv2D layer.
  case weight
  /// One gate per output neuron or filter (with its bias) of every layer but the classifier,
  /// and one per input feature of a first dense layer (so input pixels can be pruned).
  case unit
}

/// AutoPrune on a model: attaches an `AutoPruneGate` to every prunable layer, updates the
/// auxiliary parameters after each backward pass, and adapts μ toward an optional target.
///
/// ```swift
/// let pruning = AutoPrunePruning(model: model, granularity: .weight, options: options)
/// trainer.fit(train: train, test: test, afterBackward: pruning.afterBackward)
/// ```
public final class AutoPrunePruning {
  /// Every Dense and Conv2D layer of the network, gated or not, in forward order (accounting
  /// counts them all).
  public let layers: [PrunableLayer]
  /// One gate per layer the plan gives axes, in forward order.
  public let gates: [AutoPruneGate]
  /// Output gates shared by layers whose channels a residual addition ties (one per ResNet stage).
  public let groups: [OutputGateGroup]
  /// What the gates cover; when a per-layer plan chose them, the value given to `init(plan:)`
  /// (default `.unit`), not a description of the plan.
  public let granularity: Granularity
  /// The current μ (changes only with a target).
  public private(set) var mu: Float
  /// The switches in use; `phaseSteps` is filled in by `willStartPhase`.
  public private(set) var options: AutoPruneOptions
  private var step = 0
  /// Phase clock with a target: where the masks landed (nil until the target's deadline).
  public private(set) var budgetOutcome: BudgetOutcome?

  /// What a target came to on the phase clock.
  public struct BudgetOutcome: Equatable, Sendable {
    /// The kept fraction (of weights, or of FLOPs) asked for.
    public var target: Float
    /// The kept fraction the masks froze at.
    public var reached: Float
    /// The step (0-based count of steps taken) at which the masks froze.
    public var step: Int
    /// False when closing every gate would still keep more than the target (e.g. unit gates,
    /// whose classifier stays whole): the masks then freeze where the schedule left them.
    public var reachable: Bool
  }

  /// Gates every Dense and Conv2D layer of `model` at `granularity`.
  public convenience init(model: Model, granularity: Granularity, options: AutoPruneOptions) {
    self.init(network: model.network, inputShape: model.inputShape, granularity: granularity, options: options)
  }

  /// Gates every Dense and Conv2D layer of `network` (per-sample input `inputShape`).
  public convenience init(network: Sequential, inputShape: [Int], granularity: Granularity, options: AutoPruneOptions) {
    let layers = PrunableLayer.discover(in: network, inputShape: inputShape)
    var plan: [String: Set<AutoPruneGate.Axis>] = [:]
    for (index, layer) in layers.enumerated() {
      switch granularity {
      case .weight:
        plan[layer.name] = [.element]
      case .unit:
        var axes: Set<AutoPruneGate.Axis> = []
        if index < layers.count - 1 && !layer.outputPinned { axes.insert(.output) }
        if index == 0 && !layer.isConvolution { axes.insert(.input) }
        plan[layer.name] = axes
      }
    }
    self.init(network: network, inputShape: inputShape, plan: plan, granularity: granularity, options: options)
  }

  /// Gates chosen per layer: `plan[layerName]` lists the axes of that layer's gate (layers not
  /// named stay ungated), e.g. `["fc1": [.input]]` prunes only the input features. Output gates
  /// of layers writing one channel space (a residual stream) are tied into an `OutputGateGroup`.
  public init(
    network: Sequential, inputShape: [Int], plan: [String: Set<AutoPruneGate.Axis>], granularity: Granularity = .unit,
    options: AutoPruneOptions
  ) {
    self.layers = PrunableLayer.discover(in: network, inputShape: inputShape)
    self.granularity = granularity
    self.options = options
    mu = options.mu
    gates = layers.compactMap { layer in
      guard let axes = plan[layer.name], !axes.isEmpty else { return nil }
      return AutoPruneGate(
        layerName: layer.name, weight: layer.weight, bias: layer.bias, rows: layer.rows, columns: layer.columns,
        inputGroup: layer.columnsPerInput, axes: axes, positions: layer.positions, options: options)
    }
    for gate in gates {
      if let bn = layers.first(where: { $0.weight === gate.weight })?.batchNorm { gate.batchNormAffine = (bn.weight, bn.bias) }
    }
    // Members in forward order; groups ordered by their first member.
    var tied: [Int: [AutoPruneGate]] = [:]
    for layer in layers {
      if let gate = gates.first(where: { $0.weight === layer.weight }), gate.output != nil {
        tied[layer.outputSpace, default: []].append(gate)
      }
    }
    let order = Dictionary(uniqueKeysWithValues: gates.enumerated().map { (ObjectIdentifier($1), $0) })
    groups = tied.values.filter { $0.count > 1 }.sorted { order[ObjectIdentifier($0[0])]! < order[ObjectIdentifier($1[0])]! }
      .map(OutputGateGroup.init(members:))
    if options.clock == .phase && options.penaltyWeighting != .count {
      // Weighted penalties charge a gate what it removes; on the phase clock the average gate
      // keeps the phase's travel, so divide by the network's mean charge per gate.
      var charged: Float = 0, count = 0
      for gate in gates {
        for (m, rho) in [(gate.element, gate.elementPenalty), (gate.output, gate.outputPenalty), (gate.input, gate.inputPenalty)] {
          guard let m else { continue }
          charged += Float(m.count) * rho
          count += m.count
        }
      }
      let unit = count > 0 ? charged / Float(count) : 1
      for gate in gates { gate.penaltyUnit = unit }
    }
  }

  /// Tells the gates how many steps the pruning phase has (the phase clock's unit).
  public func willStartPhase(steps: Int) {
    options.phaseSteps = max(0, steps)
    for gate in gates { gate.options.phaseSteps = options.phaseSteps }
  }

  /// Stops (or resumes) updating the auxiliary parameters; closed weights then get `g·h(m)`.
  public var frozen: Bool = false {
    didSet { for g in gates { g.frozen = frozen } }
  }

  /// One auxiliary update of every gate; call between backward and the optimizer step.
  public func afterBackward() {
    for gate in gates { gate.update(mu: mu) }
    for group in groups { group.step() }
    step += 1
    refreshNetworkScale()
    adaptMu()
  }

  /// `muScale = networkRelative`: hands every gate the network's scale per axis for the next
  /// step, the geometric mean of the gated layers' scales. Each layer counts once: a mean
  /// weighted by size is the largest layer's scale alone (LeNet-5's fc1 holds 93% of the
  /// weights), an arithmetic mean the scale of the layer with the largest gradients; measured
  /// on both LeNets, the geometric mean is the one that prunes both alike (docs/pruning.md).
  private func refreshNetworkScale() {
    guard options.muScale == .networkRelative else { return }
    var logSums: [AutoPruneGate.Axis: (sum: Float, layers: Int)] = [:]
    for gate in gates {
      for (axis, scale) in gate.layerScales() {
        let (sum, layers) = logSums[axis] ?? (0, 0)
        logSums[axis] = (sum + log(scale), layers + 1)
      }
    }
    let scale = logSums.mapValues { exp($0.sum / Float($0.layers)) }
    for gate in gates { gate.networkScale = scale }
  }

  /// The kept fraction the target is about: of weights, or of multiply-adds.
  private func keptFraction() -> Float {
    let report = PruningReport(layers: layers)
    return options.targetIsFLOPs ? report.flopsFraction : report.keptFraction
  }

  /// Phase clock with a target: μ follows a cubic schedule of the kept fraction from 1 down to
  /// the target at `budgetBy` of the phase (the first cuts are the largest, while W has the
  /// most time left to adapt), rising or falling 5% at each check (one every 1/200 of the phase).
  /// At the deadline the masks land as close to the target as the gates allow, and freeze.
  private func followBudget(target: Float) {
    let deadline = max(1, Int((options.budgetBy * Float(options.phaseSteps)).rounded()))
    if step >= deadline { return landOnTarget(target) }
    let interval = max(1, options.phaseSteps / 200)
    guard step % interval == 0 else { return }
    let remaining = 1 - Float(step) / Float(deadline)
    let scheduled = target + (1 - target) * remaining * remaining * remaining
    mu *= keptFraction() > scheduled ? 1.05 : 1 / 1.05
  }

  /// Moves every auxiliary parameter by one shift, chosen so the kept fraction comes closest
  /// to `target`: the gates close in the order of their `m` (the ranking the phase has
  /// learned), whichever side of the target the schedule left them. Then freezes the gates.
  private func landOnTarget(_ target: Float) {
    let originals = gates.map { ($0.element, $0.output, $0.input) }
    func shift(by theta: Float) {
      for (gate, values) in zip(gates, originals) {
        gate.element = values.0?.map { $0 - theta }
        gate.output = values.1?.map { $0 - theta }
        gate.input = values.2?.map { $0 - theta }
        gate.refreshMasks()
      }
    }
    // Candidate shifts: just below the smallest m (every gate open), then each distinct m
    // (gates with m ≤ the shift close; h(0) = 0). The kept fraction falls as the shift grows.
    let values = Array(Set(originals.flatMap { [$0.0, $0.1, $0.2].compactMap { $0 }.joined() })).sorted()
    let before = keptFraction()
    guard let lowest = values.first else { return finishBudget(target: target, reached: before, reachable: false) }
    let candidates = [lowest - max(1, abs(lowest))] + values
    shift(by: candidates[candidates.count - 1])
    if keptFraction() > target {
      // Closing every gate still keeps more than the target: leave the masks as they were.
      shift(by: 0)
      return finishBudget(target: target, reached: before, reachable: false)
    }
    var low = 0, high = candidates.count - 1  // kept(low) > target ≥ kept(high), unless low already ≤
    shift(by: candidates[0])
    if keptFraction() <= target { high = 0 }
    while high - low > 1 {
      let middle = (low + high) / 2
      shift(by: candidates[middle])
      if keptFraction() <= target { high = middle } else { low = middle }
    }
    // The closest of the two neighbours of the target.
    shift(by: candidates[low])
    let above = keptFraction()
    shift(by: candidates[high])
    let below = keptFraction()
    if high != low && above - target < target - below { shift(by: candidates[low]) }
    finishBudget(target: target, reached: keptFraction(), reachable: true)
  }

  private func finishBudget(target: Float, reached: Float, reachable: Bool) {
    budgetOutcome = BudgetOutcome(target: target, reached: reached, step: step, reachable: reachable)
    frozen = true
  }

  /// Moves μ by 2% every 20 steps toward the target kept fraction, when there is one. With
  /// `freezeAtTarget` the target is checked after every step and the gates freeze the first time
  /// it is reached: gates that walked down together cross zero within a few steps, so a check
  /// every 20 steps overshot (VGG-like: 41.9% of the FLOPs kept for a 45% target).
  private func adaptMu() {
    guard let target = options.targetKeptFraction, !frozen else { return }
    if options.usesPhaseClock { return followBudget(target: target) }
    let adapting = step % 20 == 0
    guard adapting || options.freezeAtTarget else { return }
    let report = PruningReport(layers: layers)
    let kept = options.targetIsFLOPs ? report.flopsFraction : report.keptFraction
    if options.freezeAtTarget && kept <= target {
      frozen = true
      return
    }
    if adapting { mu *= kept > target ? 1.02 : 1 / 1.02 }
  }

  /// Saves μ, the step count and every gate under `prefix`.
  public func save(into state: inout TrainingState, prefix: String) {
    state.put("\(prefix).mu", float: mu)
    state.put("\(prefix).step", int: step)
    state.put("\(prefix).frozen", bool: frozen)
    if let b = budgetOutcome {
      state.put("\(prefix).budget", [b.target, b.reached, Float(b.step), b.reachable ? 1 : 0])
    }
    for gate in gates { gate.save(into: &state, prefix: "\(prefix).\(gate.layerName)") }
    for group in groups { group.save(into: &state, prefix: "\(prefix).group.\(group.members[0].layerName)") }
  }

  /// Restores a `save` on a method built with the same plan and options on the same model.
  public func restore(from state: TrainingState, prefix: String) throws {
    mu = try state.float("\(prefix).mu")
    step = try state.int("\(prefix).step")
    // Gates carry their own frozen flag; set the method's without touching theirs.
    let isFrozen = try state.bool("\(prefix).frozen")
    budgetOutcome = nil
    if state.has("\(prefix).budget") {
      let b = try state.floats("\(prefix).budget", count: 4)
      guard b[2].isFinite, b[2] >= 0, b[2] < Float(Int32.max) else {
        throw CheckpointError.badValue(state.source, entry: "\(prefix).budget", value: "\(b)")
      }
      budgetOutcome = BudgetOutcome(target: b[0], reached: b[1], step: Int(b[2]), reachable: b[3] != 0)
    }
    for gate in gates { try gate.restore(from: state, prefix: "\(prefix).\(gate.layerName)") }
    for group in groups { try group.restore(from: state, prefix: "\(prefix).group.\(group.members[0].layerName)") }
    if isFrozen != frozen { frozen = isFrozen }
    refreshNetworkScale()
  }

  /// Removes every gate from the model.
  public func detach() { for g in gates { g.detach() } }
}
