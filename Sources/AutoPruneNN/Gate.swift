/// A pruning gate on one or more parameters (DESIGN principle 3): the layer computes with the
/// effective tensor `value ⊙ mask`, writes `∂L/∂(effective)` into `grad`, and never knows how
/// the mask is made. Pruning methods (AutoPrune, magnitude, …) implement this protocol.
public protocol Gate: AnyObject {
  /// The multiplier for `parameter`, with its shape; nil when this gate does not cover it.
  func mask(for parameter: Parameter) -> Tensor?
}
