/// Updates parameters from their gradients. State (momentum, moments) is kept per parameter
/// name so it can be saved and restored with a checkpoint.
public protocol Optimizer: AnyObject {
  /// Learning rate used by the next `step` (set by a schedule each epoch or step).
  var learningRate: Float { get set }
  /// Applies one update to every parameter from its `grad`.
  func step(_ parameters: [Parameter])
}
