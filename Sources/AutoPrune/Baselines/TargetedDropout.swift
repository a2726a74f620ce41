import AutoPruneNN

/// Targeted dropout (Gomez et al. 2019): in training, the `targetFraction` γ of each layer's
/// weights with the smallest magnitude are candidates, and each candidate is dropped with
/// probability `dropRate` α at every step, so the network learns not to rely on them;
/// evaluation uses every weight. `freeze()` prunes the candidates for good (the fine-tuning
/// phase then trains with that fixed mask).
public final class TargetedDropoutGate: Gate {
  /// The gated layer; only its weight is dropped, never its bias.
  public let layer: PrunableLayer
  /// γ: the fraction of the layer's weights, smallest magnitude first, that are candidates (and
  /// are pruned in the end).
  public let targetFraction: Float
  /// α: the probability a candidate is dropped at a training step.
  public let dropRate: Float
  /// This step's mask: drawn per training step, all ones for evaluation, final after `prune()`.
  public private(set) var mask: Tensor
  /// When true the mask is the final pruning mask and no longer resampled.
  public private(set) var pruned = false

  /// An open gate on `layer`'s weight.
  public init(layer: PrunableLayer, targetFraction: Float, dropRate: Float) {
    self.layer = layer
    self.targetFraction = targetFraction
    self.dropRate = dropRate
    mask = Tensor(shape: layer.weight.shape, repeating: 1)
    layer.weight.gate = self
  }

  public func mask(for parameter: Parameter) -> Tensor? { parameter === layer.weight ? mask : nil }

  /// Indices of the γ smallest-magnitude weights (ties → lower index), in index order.
  ///
  /// Found with a linear-time selection of the γ-quantile rather than a sort: this runs every
  /// step on every layer (a sort made a LeNet-300 epoch ~25× slower than dense).
  public func candidates() -> [Int] {
    let magnitudes = layer.weight.value.storage.map(abs)
    let count = Int((Float(magnitudes.count) * targetFraction).rounded())
    guard count > 0 else { return [] }
    let cut = Selection.kthSmallest(magnitudes, k: count - 1)
    // Everything below the cut, then as many ties at the cut as fit, lowest index first.
    var ties = count - magnitudes.reduce(0) { $0 + ($1 < cut ? 1 : 0) }
    var result: [Int] = []
    result.reserveCapacity(count)
    for (i, m) in magnitudes.enumerated() {
      if m < cut {
        result.append(i)
      } else if m == cut && ties > 0 {
        result.append(i)
        ties -= 1
      }
    }
    return result
  }

  public func prepare(training: Bool, rng: RandomSource?) {
    guard !pruned else { return }
    var next = Tensor(shape: layer.weight.shape, repeating: 1)
    if training, let rng {
      for i in candidates() where rng.uniform() < dropRate { next[i] = 0 }
    }
    mask = next
    layer.weight.maskDidChange()
  }

  /// Makes the candidates' removal permanent.
  public func prune() {
    var final = Tensor(shape: layer.weight.shape, repeating: 1)
    for i in candidates() { final[i] = 0 }
    mask = final
    pruned = true
    layer.weight.maskDidChange()
  }

  /// Saves the mask and whether it is final under `prefix`.
  public func save(into state: inout TrainingState, prefix: String) {
    state.put("\(prefix).mask", mask.storage)
    state.put("\(prefix).pruned", bool: pruned)
  }

  /// Restores a `save`; an unpruned gate redraws its mask at the next `prepare` anyway.
  public func restore(from state: TrainingState, prefix: String) throws {
    mask = Tensor(shape: mask.shape, values: try state.floats("\(prefix).mask", count: mask.count))
    pruned = try state.bool("\(prefix).pruned")
    layer.weight.maskDidChange()
  }

  /// Dropped (or pruned) weights get no update this step.
  public func afterBackward() { layer.weight.grad.multiply(by: mask) }
}

/// Targeted dropout on every prunable layer, as a pruning method.
public final class TargetedDropout: PruningMethod {
  public let layers: [PrunableLayer]
  /// One gate per prunable layer, each choosing its own candidates.
  public let gates: [TargetedDropoutGate]

  /// Targeted dropout on every Dense and Conv2D layer of `model`, with the same γ and α for all.
  public init(model: Model, targetFraction: Float, dropRate: Float) {
    layers = PrunableLayer.discover(in: model)
    gates = layers.map { TargetedDropoutGate(layer: $0, targetFraction: targetFraction, dropRate: dropRate) }
  }

  public func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int) {}
  public func afterBackward() { for gate in gates { gate.afterBackward() } }
  /// Prunes each layer's candidates for good: fine-tuning trains under that fixed mask.
  public func freeze() { for gate in gates { gate.prune() } }

  public var summary: String {
    "targeted dropout, γ \(gates.first?.targetFraction ?? 0), α \(gates.first?.dropRate ?? 0) (pruned after the pruning phase)"
  }

  public var state: [(name: String, shape: [Int], values: [Float])] { [] }

  public func save(into state: inout TrainingState, prefix: String) {
    for gate in gates { gate.save(into: &state, prefix: "\(prefix).\(gate.layer.name)") }
  }

  public func restore(from state: TrainingState, prefix: String) throws {
    for gate in gates { try gate.restore(from: state, prefix: "\(prefix).\(gate.layer.name)") }
  }
}

/// Order statistics without sorting.
enum Selection {
  /// The `k`-th smallest value (0-based) of `values`: quickselect with a median-of-three pivot,
  /// expected linear time.
  static func kthSmallest(_ values: [Float], k: Int) -> Float {
    precondition(k >= 0 && k < values.count, "k \(k) outside 0..<\(values.count)")
    var a = values
    var lo = 0, hi = a.count - 1
    while lo < hi {
      let mid = lo + (hi - lo) / 2
      let pivot = max(min(a[lo], a[mid]), min(max(a[lo], a[mid]), a[hi]))
      var i = lo, j = hi
      while i <= j {
        while a[i] < pivot { i += 1 }
        while a[j] > pivot { j -= 1 }
        if i <= j {
          a.swapAt(i, j)
          i += 1
          j -= 1
        }
      }
      if k <= j {
        hi = j
      } else if k >= i {
        lo = i
      } else {
        return a[k]
      }
    }
    return a[lo]
  }
}
