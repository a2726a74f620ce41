import AutoPruneNN

/// A 0/1 mask set from outside (magnitude, gradual, DNS and random pruning, masks read from a
/// pruned file), on one weight and optionally its bias (units removed by unit pruning).
///
/// `maskedWeightsLearn` chooses the weight gradient: false gives `g · mask` (pruned weights stay
/// where they were, as in prune-and-retrain), true gives `g` (dynamic network surgery's
/// "splicing": a pruned weight keeps learning and may come back).
public final class MaskGate: Gate {
  /// The layer whose weight (and, after `setBiasMask`, bias) the masks cover.
  public let layer: PrunableLayer
  /// 0/1 per weight (1 kept), in the weight's shape; all ones at first.
  public private(set) var mask: Tensor
  /// Mask of the bias; nil keeps every bias entry.
  public private(set) var biasMask: Tensor?
  /// See above: false gives `g · mask`, true gives `g` (splicing).
  public var maskedWeightsLearn: Bool

  /// An open gate on `layer`'s weight; the bias stays unmasked until `setBiasMask`.
  public init(layer: PrunableLayer, maskedWeightsLearn: Bool = false) {
    self.layer = layer
    self.maskedWeightsLearn = maskedWeightsLearn
    mask = Tensor(shape: layer.weight.shape, repeating: 1)
    layer.weight.gate = self
  }

  /// The layer's weight, the parameter `mask` covers.
  public var weight: Parameter { layer.weight }

  public func mask(for parameter: Parameter) -> Tensor? {
    if parameter === layer.weight { return mask }
    if parameter === layer.bias { return biasMask }
    return nil
  }

  /// Replaces the mask (same shape as the weight).
  public func setMask(_ newMask: Tensor) {
    precondition(newMask.shape == mask.shape, "mask \(newMask.shape) for \(weight.name) \(mask.shape)")
    mask = newMask
    weight.maskDidChange()
  }

  /// Masks the bias too (same shape as the bias); the gate then covers both parameters.
  public func setBiasMask(_ newMask: Tensor) {
    precondition(newMask.shape == layer.bias.shape, "mask \(newMask.shape) for \(layer.bias.name) \(layer.bias.shape)")
    biasMask = newMask
    layer.bias.gate = self
    layer.bias.maskDidChange()
  }

  /// Saves the masks and the gradient rule under `prefix`.
  public func save(into state: inout TrainingState, prefix: String) {
    state.put("\(prefix).mask", mask.storage)
    if let biasMask { state.put("\(prefix).bias_mask", biasMask.storage) }
    state.put("\(prefix).masked_weights_learn", bool: maskedWeightsLearn)
  }

  /// Restores the masks and the gradient rule `save` wrote.
  public func restore(from state: TrainingState, prefix: String) throws {
    setMask(Tensor(shape: mask.shape, values: try state.floats("\(prefix).mask", count: mask.count)))
    if state.has("\(prefix).bias_mask") {
      setBiasMask(Tensor(shape: layer.bias.shape, values: try state.floats("\(prefix).bias_mask", count: layer.bias.count)))
    }
    maskedWeightsLearn = try state.bool("\(prefix).masked_weights_learn")
  }

  /// Kept entries.
  public var keptCount: Int { mask.storage.reduce(0) { $0 + ($1 != 0 ? 1 : 0) } }

  /// Applies the weight-gradient rule; call after backward, before the optimizer step.
  public func applyWeightRule() {
    guard !maskedWeightsLearn else { return }
    weight.grad.multiply(by: mask)
    if let biasMask { layer.bias.grad.multiply(by: biasMask) }
  }

  /// Removes the gate from the weight (and the bias when it covers it).
  public func detach() {
    weight.gate = nil
    if biasMask != nil { layer.bias.gate = nil }
  }
}
