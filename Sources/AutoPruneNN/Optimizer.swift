/// Updates parameters from their gradients. State (momentum, moments) is kept per parameter
/// name so it can be saved and restored with a checkpoint.
public protocol Optimizer: AnyObject {
  /// Learning rate used by the next `step` (set by a schedule each epoch or step).
  var learningRate: Float { get set }
  /// Applies one update to every parameter from its `grad`.
  func step(_ parameters: [Parameter])
  /// Everything the next `step` depends on besides the parameters, for checkpoints.
  var state: OptimizerState { get }
  /// Puts back a state read from `state` (of an optimizer with the same settings).
  func restore(_ state: OptimizerState)
}

/// An optimizer's memory between steps: per-parameter buffers by slot and parameter name
/// (`"momentum"` → `"fc1.weight"` → values) and the number of steps taken.
public struct OptimizerState: Equatable, Sendable {
  /// Per-parameter arrays by slot, then parameter name (`"first_moment"` → `"conv1.weight"` →
  /// values), each as long as its parameter.
  public var slots: [String: [String: [Float]]]
  /// Steps taken, which Adam's bias correction depends on; SGD keeps 0.
  public var steps: Int

  /// A state as read back from a checkpoint, for `Optimizer.restore(_:)`.
  public init(slots: [String: [String: [Float]]], steps: Int) {
    self.slots = slots
    self.steps = steps
  }
}
