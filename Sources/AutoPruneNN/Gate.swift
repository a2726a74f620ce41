/// A pruning gate on one or more parameters (DESIGN principle 3): the layer computes with the
/// effective tensor `value ⊙ mask`, writes `∂L/∂(effective)` into `grad`, and never knows how
/// the mask is made. Pruning methods (AutoPrune, magnitude, …) implement this protocol.
public protocol Gate: AnyObject {
  /// The multiplier for `parameter`, with its shape; nil when this gate does not cover it.
  func mask(for parameter: Parameter) -> Tensor?
  /// Called before each training forward (`training` true, with the run's RNG) and before
  /// evaluation (`training` false): stochastic gates (L0's hard concrete) draw or fix their mask.
  func prepare(training: Bool, rng: RandomSource?)
}

extension Gate {
  /// Does nothing: a deterministic gate's mask is the same in training and evaluation.
  public func prepare(training: Bool, rng: RandomSource?) {}
}

extension Sequential {
  /// The distinct gates on this network's parameters.
  public var gates: [any Gate] {
    var seen = Set<ObjectIdentifier>()
    return parameters.compactMap(\.gate).filter { seen.insert(ObjectIdentifier($0)).inserted }
  }
}
