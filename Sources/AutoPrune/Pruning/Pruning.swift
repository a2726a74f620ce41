import AutoPruneNN

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
  public let layers: [PrunableLayer]
  public let gates: [AutoPruneGate]
  /// Output gates shared by layers whose channels a residual addition ties (one per ResNet stage).
  public let groups: [OutputGateGroup]
  public let granularity: Granularity
  /// The current μ (changes only with a target).
  public private(set) var mu: Float
  public let options: AutoPruneOptions
  private var step = 0

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
        if index < layers.count - 1 { axes.insert(.output) }
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
    adaptMu()
  }

  /// Moves μ by 2% every 20 steps toward the target kept fraction, when there is one. With
  /// `freezeAtTarget` the target is checked after every step and the gates freeze the first time
  /// it is reached: gates that walked down together cross zero within a few steps, so a check
  /// every 20 steps overshot (VGG-like: 41.9% of the FLOPs kept for a 45% target).
  private func adaptMu() {
    guard let target = options.targetKeptFraction, !frozen else { return }
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
    for gate in gates { gate.save(into: &state, prefix: "\(prefix).\(gate.layerName)") }
    for group in groups { group.save(into: &state, prefix: "\(prefix).group.\(group.members[0].layerName)") }
  }

  public func restore(from state: TrainingState, prefix: String) throws {
    mu = try state.float("\(prefix).mu")
    step = try state.int("\(prefix).step")
    // Gates carry their own frozen flag; set the method's without touching theirs.
    let isFrozen = try state.bool("\(prefix).frozen")
    for gate in gates { try gate.restore(from: state, prefix: "\(prefix).\(gate.layerName)") }
    for group in groups { try group.restore(from: state, prefix: "\(prefix).group.\(group.members[0].layerName)") }
    if isFrozen != frozen { frozen = isFrozen }
  }

  /// Removes every gate from the model.
  public func detach() { for g in gates { g.detach() } }
}
