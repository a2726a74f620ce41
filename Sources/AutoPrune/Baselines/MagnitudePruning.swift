import AutoPruneNN

/// Magnitude-based baselines on the same `Gate` protocol as AutoPrune: one-shot (global or
/// layer-wise), iterative prune-and-retrain (Han et al. 2015), gradual with a cubic schedule
/// (Zhu & Gupta 2017) and random pruning at equal sparsity (a floor).
///
/// ```swift
/// let pruning = MagnitudePruning(model: model)
/// pruning.prune(toSparsity: 0.97, scope: .global)     // then fine-tune with pruning.afterBackward
/// ```
public final class MagnitudePruning {
  /// Where the kept fraction is decided.
  public enum Scope: String, CaseIterable, Sendable {
    /// One threshold over every layer's weights.
    case global
    /// The same fraction pruned in every layer.
    case layerwise
  }

  /// Every Dense and Conv2D layer, in forward order.
  public let layers: [PrunableLayer]
  /// One `MaskGate` per layer, pruned weights frozen (prune-and-retrain).
  public let gates: [MaskGate]

  /// Open gates on every Dense and Conv2D layer of `model`.
  public convenience init(model: Model) {
    self.init(layers: PrunableLayer.discover(in: model))
  }

  /// Open gates on `layers`.
  public init(layers: [PrunableLayer]) {
    self.layers = layers
    gates = layers.map { MaskGate(layer: $0) }
  }

  /// Fraction of weights pruned now.
  public var sparsity: Float {
    let total = gates.reduce(0) { $0 + $1.weight.count }
    return 1 - Float(gates.reduce(0) { $0 + $1.keptCount }) / Float(max(1, total))
  }

  /// Keeps the largest-magnitude weights so that `sparsity` of them are pruned. Already-pruned
  /// weights stay pruned (their magnitude counts as 0), so repeated calls only remove more.
  /// Ties break toward the lower index, so the result is deterministic.
  public func prune(toSparsity sparsity: Float, scope: Scope) {
    precondition(sparsity >= 0 && sparsity <= 1, "sparsity \(sparsity) outside [0, 1]")
    switch scope {
    case .global:
      var scored: [(magnitude: Float, gate: Int, index: Int)] = []
      for (g, gate) in gates.enumerated() {
        let w = gate.weight.value.storage, m = gate.mask.storage
        for i in 0..<w.count { scored.append((m[i] == 0 ? 0 : abs(w[i]), g, i)) }
      }
      let keep = scored.count - Int((Float(scored.count) * sparsity).rounded())
      let kept = MagnitudePruning.largest(scored.map(\.magnitude), count: keep)
      var masks = gates.map { Tensor(shape: $0.mask.shape) }
      for k in kept { masks[scored[k].gate][scored[k].index] = 1 }
      for (gate, mask) in zip(gates, masks) { gate.setMask(mask) }
    case .layerwise:
      for gate in gates {
        let w = gate.weight.value.storage, m = gate.mask.storage
        let magnitudes = (0..<w.count).map { m[$0] == 0 ? 0 : abs(w[$0]) }
        let keep = w.count - Int((Float(w.count) * sparsity).rounded())
        var mask = Tensor(shape: gate.mask.shape)
        for i in MagnitudePruning.largest(magnitudes, count: keep) { mask[i] = 1 }
        gate.setMask(mask)
      }
    }
  }

  /// One round of Han et al.'s iterative schedule: prune `fraction` of each layer's remaining
  /// weights (then retrain before the next round).
  public func pruneRound(fraction: Float) {
    for gate in gates {
      let w = gate.weight.value.storage, m = gate.mask.storage
      let alive = (0..<w.count).filter { m[$0] != 0 }
      let keep = alive.count - Int((Float(alive.count) * fraction).rounded())
      let kept = MagnitudePruning.largest(alive.map { abs(w[$0]) }, count: keep)
      var mask = Tensor(shape: gate.mask.shape)
      for k in kept { mask[alive[k]] = 1 }
      gate.setMask(mask)
    }
  }

  /// Random pruning to `sparsity` in every layer (same per-layer counts as layer-wise magnitude).
  public func pruneRandomly(toSparsity sparsity: Float, rng: RandomSource) {
    for gate in gates {
      let n = gate.weight.count
      let keep = n - Int((Float(n) * sparsity).rounded())
      var mask = Tensor(shape: gate.mask.shape)
      for i in rng.permutation(n).prefix(keep) { mask[i] = 1 }
      gate.setMask(mask)
    }
  }

  /// Applies every gate's weight-gradient rule (pruned weights get no update); use as the
  /// trainer's `afterBackward` while fine-tuning.
  public func afterBackward() { for gate in gates { gate.applyWeightRule() } }

  /// Saves every gate's masks under `prefix.LAYER`.
  public func save(into state: inout TrainingState, prefix: String) {
    for gate in gates { gate.save(into: &state, prefix: "\(prefix).\(gate.layer.name)") }
  }

  /// Restores the masks `save` wrote.
  public func restore(from state: TrainingState, prefix: String) throws {
    for gate in gates { try gate.restore(from: state, prefix: "\(prefix).\(gate.layer.name)") }
  }

  /// Removes every gate: the layers compute with their plain weights again.
  public func detach() { for gate in gates { gate.detach() } }

  /// Indices of the `count` largest values (ties → lower index first).
  static func largest(_ values: [Float], count: Int) -> [Int] {
    guard count > 0 else { return [] }
    let order = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
    return Array(order.prefix(min(count, values.count)))
  }
}

/// Zhu & Gupta's gradual schedule: `s_t = s_f + (s_i − s_f)·(1 − (t − t0)/(n·Δt))³` for
/// `t0 ≤ t ≤ t0 + n·Δt`, pruning by magnitude every `Δt` steps.
public struct GradualSchedule: Equatable, Sendable {
  /// `s_i`, the sparsity at `startStep` (default 0).
  public var initialSparsity: Float
  /// `s_f`, reached after `n` intervals and kept from then on.
  public var finalSparsity: Float
  /// `t0`, the step of the first update (default 0).
  public var startStep: Int
  /// `Δt`, steps between updates (at least 1).
  public var interval: Int
  /// `n`, the intervals the ramp spans (at least 1): masks are recomputed n + 1 times, at t0 and
  /// after each interval.
  public var updates: Int

  /// A schedule; `interval` and `updates` below 1 count as 1.
  public init(initialSparsity: Float = 0, finalSparsity: Float, startStep: Int = 0, interval: Int, updates: Int) {
    self.initialSparsity = initialSparsity
    self.finalSparsity = finalSparsity
    self.startStep = startStep
    self.interval = max(1, interval)
    self.updates = max(1, updates)
  }

  /// Target sparsity at `step`.
  public func sparsity(at step: Int) -> Float {
    let span = Float(interval * updates)
    let progress = min(1, max(0, Float(step - startStep) / span))
    let remaining = 1 - progress
    return finalSparsity + (initialSparsity - finalSparsity) * remaining * remaining * remaining
  }

  /// True on the steps where the masks are recomputed.
  public func isUpdate(_ step: Int) -> Bool {
    step >= startStep && step <= startStep + interval * updates && (step - startStep) % interval == 0
  }
}
