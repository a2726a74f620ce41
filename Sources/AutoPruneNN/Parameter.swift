/// A trainable tensor with its gradient, named as in PyTorch (`fc1.weight`).
///
/// Layers read `value` in forward and accumulate into `grad` in backward; optimizers update
/// `value` from `grad`. `prunable` marks weights a pruning method may gate (not biases).
public final class Parameter {
  public var name: String
  public var value: Tensor
  public var grad: Tensor
  /// True for weights a pruning method may gate; false for biases.
  public let prunable: Bool

  public init(name: String, value: Tensor, prunable: Bool) {
    self.name = name
    self.value = value
    self.grad = Tensor(shape: value.shape)
    self.prunable = prunable
  }

  public var shape: [Int] { value.shape }
  public var count: Int { value.count }

  public func zeroGrad() { grad.zero() }
}
