import AutoPruneNN

/// A gate with a fixed mask (a pruned model loaded for evaluation or export).
public final class FixedMaskGate: Gate {
  private var masks: [ObjectIdentifier: Tensor] = [:]

  /// A gate with no masks yet; `attach` adds one per parameter.
  public init() {}

  /// Attaches `mask` (the parameter's shape) to `parameter`.
  public func attach(_ mask: Tensor, to parameter: Parameter) {
    precondition(mask.shape == parameter.shape, "mask \(mask.shape) for \(parameter.name) \(parameter.shape)")
    masks[ObjectIdentifier(parameter)] = mask
    parameter.gate = self
    parameter.maskDidChange()
  }

  public func mask(for parameter: Parameter) -> Tensor? { masks[ObjectIdentifier(parameter)] }
}
