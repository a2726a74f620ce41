import AutoPruneNN

/// Targeted dropout (Gomez et al. 2019): in training, the `targetFraction` γ of each layer's
/// weights with the smallest magnitude are candidates, and each candidate is dropped with
/// probability `dropRate` α at every step, so the network learns not to rely on them;
/// evaluation uses every weight. `freeze()` prunes the candidates for good (the fine-tuning
/// phase then trains with that fixed mask).
public final class TargetedDropoutGate: Gate {
  public let layer: PrunableLayer
  public let targetFraction: Float
  public let dropRate: Float
  public private(set) var mask: Tensor
  /// When true the mask is the final pruning mask and no longer resampled.
  public private(set) var pruned = false

  public init(layer: PrunableLayer, targetFraction: Float, dropRate: Float) {
    self.layer = layer
    self.targetFraction = targetFraction
    self.dropRate = dropRate
    mask = Tensor(shape: layer.weight.shape, repeating: 1)
    layer.weight.gate = self
  }

  public func mask(for parameter: Parameter) -> Tensor? { parameter === layer.weight ? mask : nil }

  /// Indices of the γ smallest-magnitude weights (ties → lower index).
  func candidates() -> ArraySlice<Int> {
    let w = layer.weight.value.storage
    let count = Int((Float(w.count) * targetFraction).rounded())
    return w.indices.sorted { abs(w[$0]) != abs(w[$1]) ? abs(w[$0]) < abs(w[$1]) : $0 < $1 }.prefix(count)
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

  /// Dropped (or pruned) weights get no update this step.
  public func afterBackward() { layer.weight.grad.multiply(by: mask) }
}

/// Targeted dropout on every prunable layer, as a pruning method.
public final class TargetedDropout: PruningMethod {
  public let layers: [PrunableLayer]
  public let gates: [TargetedDropoutGate]

  public init(model: Model, targetFraction: Float, dropRate: Float) {
    layers = PrunableLayer.discover(in: model)
    gates = layers.map { TargetedDropoutGate(layer: $0, targetFraction: targetFraction, dropRate: dropRate) }
  }

  public func willStartEpoch(_ epoch: Int, stepsPerEpoch: Int) {}
  public func afterBackward() { for gate in gates { gate.afterBackward() } }
  public func freeze() { for gate in gates { gate.prune() } }

  public var summary: String {
    "targeted dropout, γ \(gates.first?.targetFraction ?? 0), α \(gates.first?.dropRate ?? 0) (pruned after the pruning phase)"
  }

  public var state: [(name: String, shape: [Int], values: [Float])] { [] }
}
