import AutoPruneNN
import Foundation

/// A pruning method as the prune command drives it: AutoPrune and every baseline.
public protocol PruningMethod: AnyObject {
  /// The layers it gates (for accounting).
  var layers: [PrunableLayer] { get }
  /// Before the pruning phase (also when it resumes), with the phase's number of steps.
  func willStartPhase(steps: Int)
  /// Before each epoch of the pruning phase (0-based), with the steps an epoch has.
  func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int)
  /// Between each backward pass and the optimizer step.
  func afterBackward()
  /// For fine-tuning: masks stay as they are and masked weights stop learning.
  func freeze()
  /// One line saying what the method does with which settings.
  var summary: String { get }
  /// Extra tensors to save with the model (gate state), PyTorch-style names.
  var state: [(name: String, shape: [Int], values: [Float])] { get }
  /// Saves everything the method changes while it runs (masks, gate parameters, counters,
  /// schedules) under `prefix`, for a checkpoint.
  func save(into state: inout TrainingState, prefix: String)
  /// Restores a `save` on a method built with the same settings on the same model.
  func restore(from state: TrainingState, prefix: String) throws
}

extension PruningMethod {
  /// Default: nothing (only AutoPrune's phase clock needs the phase's length).
  public func willStartPhase(steps: Int) {}
}

extension AutoPrunePruning: PruningMethod {
  public func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int) {}
  public func freeze() { frozen = true }

  public var summary: String {
    let tied = groups.isEmpty ? "" : " (\(groups.count) groups of layers tied by residual additions share their filter gates)"
    let rate = options.clock == .phase
      ? "phase clock (travel \(options.travel)\(options.targetKeptFraction == nil ? "" : ", target by \(options.budgetBy) of the phase"))"
      : "η_M \(options.etaM)"
    let scale = (options.muScale == .absolute ? "" : " (\(options.muScale.rawValue))")
      + (options.densityFeedback == 0 ? "" : " × kept^\(options.densityFeedback)")
    return "AutoPrune, \(gates.count) gated layers\(tied), μ \(options.mu)\(scale), \(rate), STE \(options.ste)"
  }

  public var state: [(name: String, shape: [Int], values: [Float])] {
    gates.flatMap { gate -> [(name: String, shape: [Int], values: [Float])] in
      [("element", gate.element), ("output", gate.output), ("input", gate.input)].compactMap { axis, m in
        m.map { ("gate.\(gate.layerName).\(axis)", [$0.count], $0) }
      }
    }
  }
}

/// The magnitude family and random pruning, driven epoch by epoch.
public final class MagnitudeBaseline: PruningMethod {
  /// How and when the masks are set.
  public enum Kind: Sendable, Equatable {
    /// Prune once before the first epoch, then train with the mask.
    case oneShot(MagnitudePruning.Scope)
    /// Han et al.: one round per epoch for `rounds` epochs, each pruning the same fraction of
    /// each layer's remaining weights, reaching the target after the last round.
    case iterative(rounds: Int)
    /// Zhu & Gupta: cubic schedule from 0 to the target over the pruning epochs, updated
    /// `updatesPerEpoch` times an epoch, global magnitude.
    case gradual(updatesPerEpoch: Int, epochs: Int)
    /// Random masks at the target, per layer (a floor).
    case random(seed: UInt64)
  }

  /// The schedule the masks follow.
  public let kind: Kind
  /// Fraction of weights pruned in the end, in (0, 1).
  public let targetSparsity: Float
  /// The masks, one `MaskGate` per layer; pruned weights get no update.
  public let pruning: MagnitudePruning
  private var schedule: GradualSchedule?
  private var step = 0

  /// Gates every Dense and Conv2D layer of `model`, all open until the pruning phase starts.
  public init(model: Model, kind: Kind, targetSparsity: Float) {
    self.kind = kind
    self.targetSparsity = targetSparsity
    pruning = MagnitudePruning(model: model)
  }

  public var layers: [PrunableLayer] { pruning.layers }

  /// Prunes where the kind says: one-shot and random before epoch 0, iterative one round before
  /// each of its first `rounds` epochs; gradual sets up its schedule at epoch 0 and prunes in
  /// `afterBackward`.
  public func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int) {
    switch kind {
    case .oneShot(let scope):
      if epoch == 0 { pruning.prune(toSparsity: targetSparsity, scope: scope) }
    case .iterative(let rounds):
      guard epoch < rounds else { return }
      let fraction = 1 - Float(Foundation.pow(Double(1 - targetSparsity), 1 / Double(rounds)))
      pruning.pruneRound(fraction: fraction)
    case .gradual(let updates, let epochs):
      if epoch == 0 {
        let interval = max(1, stepsPerEpoch / max(1, updates))
        schedule = GradualSchedule(finalSparsity: targetSparsity, interval: interval, updates: max(1, epochs * stepsPerEpoch / interval))
      }
    case .random(let seed):
      if epoch == 0 { pruning.pruneRandomly(toSparsity: targetSparsity, rng: RandomSource(seed: seed)) }
    }
  }

  public func afterBackward() {
    if let schedule, schedule.isUpdate(step) {
      pruning.prune(toSparsity: schedule.sparsity(at: step), scope: .global)
    }
    step += 1
    pruning.afterBackward()
  }

  /// Stops the gradual schedule; the masks already keep pruned weights from learning.
  public func freeze() { schedule = nil }

  public func save(into state: inout TrainingState, prefix: String) {
    pruning.save(into: &state, prefix: prefix)
    state.put("\(prefix).step", int: step)
    if let schedule {
      state.put("\(prefix).schedule", [schedule.initialSparsity, schedule.finalSparsity])
      state.put("\(prefix).schedule_steps", text: "\(schedule.startStep),\(schedule.interval),\(schedule.updates)")
    }
  }

  public func restore(from state: TrainingState, prefix: String) throws {
    try pruning.restore(from: state, prefix: prefix)
    step = try state.int("\(prefix).step")
    schedule = nil
    if state.has("\(prefix).schedule") {
      let sparsities = try state.floats("\(prefix).schedule", count: 2)
      let text = try state.text("\(prefix).schedule_steps")
      let steps = text.split(separator: ",").compactMap { Int($0) }
      guard steps.count == 3 else { throw CheckpointError.badValue(state.source, entry: "\(prefix).schedule_steps", value: text) }
      schedule = GradualSchedule(
        initialSparsity: sparsities[0], finalSparsity: sparsities[1], startStep: steps[0], interval: steps[1], updates: steps[2])
    }
  }

  public var summary: String {
    let name: String
    switch kind {
    case .oneShot(let scope): name = "one-shot \(scope.rawValue) magnitude"
    case .iterative(let rounds): name = "iterative magnitude, \(rounds) rounds"
    case .gradual(let updates, let epochs): name = "gradual magnitude (cubic, \(epochs) epochs, \(updates) updates/epoch)"
    case .random(let seed): name = "random (seed \(seed))"
    }
    return "\(name), target sparsity \(targetSparsity)"
  }
  public var state: [(name: String, shape: [Int], values: [Float])] { [] }
}

extension DynamicNetworkSurgery: PruningMethod {
  public func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int) {}

  /// Masks stop changing and cut weights stop learning (the end of DNS's splicing).
  public func freeze() {
    frozen = true
    for gate in gates { gate.maskedWeightsLearn = false }
  }

  public func save(into state: inout TrainingState, prefix: String) {
    for (gate, threshold) in zip(gates, thresholds) {
      gate.save(into: &state, prefix: "\(prefix).\(gate.layer.name)")
      state.put("\(prefix).\(gate.layer.name).thresholds", [threshold.cut, threshold.splice])
    }
    state.put("\(prefix).step", int: step)
    state.put("\(prefix).frozen", bool: frozen)
  }

  public func restore(from state: TrainingState, prefix: String) throws {
    // Thresholds come from the weights at attach time: take the saved ones, not the restored weights'.
    thresholds = try gates.map { gate in
      try gate.restore(from: state, prefix: "\(prefix).\(gate.layer.name)")
      let t = try state.floats("\(prefix).\(gate.layer.name).thresholds", count: 2)
      return (t[0], t[1])
    }
    step = try state.int("\(prefix).step")
    frozen = try state.bool("\(prefix).frozen")
  }

  public var summary: String { "dynamic network surgery, thresholds \(thresholds.map { String(format: "%.3g/%.3g", $0.cut, $0.splice) })" }
  public var state: [(name: String, shape: [Int], values: [Float])] { [] }
}

/// "Rethinking the value of network pruning" (Liu et al. 2019): a pruned model's masks (weight
/// pruning) or surviving architecture (unit pruning, whose masks remove whole rows and columns)
/// on freshly initialised weights, trained with the masks fixed.
public final class ScratchBaseline: PruningMethod {
  /// The fixed masks, set once at init; pruned weights get no update.
  public let pruning: MagnitudePruning
  /// The file the masks came from (named in `summary`).
  public let source: String

  /// `masks[name]` is the mask of parameter `name` (e.g. from a pruned file's `NAME_mask`).
  /// A layer the file leaves unmasked stays dense (unit pruning keeps the classifier whole);
  /// bias masks (units removed by unit pruning) are applied too, so the surviving architecture
  /// is what trains.
  public init(model: Model, masks: [String: Tensor], source: String) throws {
    pruning = MagnitudePruning(model: model)
    self.source = source
    guard pruning.gates.contains(where: { masks[$0.weight.name] != nil }) else {
      throw WeightsError.noMasks(source, model: model.name)
    }
    for gate in pruning.gates {
      let bias = gate.layer.bias
      for (parameter, apply) in [(gate.weight, gate.setMask), (bias, gate.setBiasMask)] {
        guard let mask = masks[parameter.name] else { continue }
        guard mask.shape == parameter.shape else {
          throw WeightsError.shapeMismatch(source, name: parameter.name + "_mask", fileShape: mask.shape, modelShape: parameter.shape)
        }
        apply(mask)
      }
    }
  }

  /// The masks of a pruned model's file (`NAME_mask` tensors, as `prune` writes them).
  public convenience init(model: Model, maskFile path: String) throws {
    let file = try SafeTensors.read(path: path)
    var masks: [String: Tensor] = [:]
    for t in file.tensors where t.name.hasSuffix("_mask") {
      masks[String(t.name.dropLast("_mask".count))] = Tensor(shape: t.shape, values: t.values)
    }
    try self.init(model: model, masks: masks, source: path)
  }

  public var layers: [PrunableLayer] { pruning.layers }
  public func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int) {}
  public func afterBackward() { pruning.afterBackward() }
  public func freeze() {}
  public func save(into state: inout TrainingState, prefix: String) { pruning.save(into: &state, prefix: prefix) }
  public func restore(from state: TrainingState, prefix: String) throws { try pruning.restore(from: state, prefix: prefix) }
  public var summary: String { "scratch training of the masks in \(source)" }
  public var state: [(name: String, shape: [Int], values: [Float])] { [] }
}
