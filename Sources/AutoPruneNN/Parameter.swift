import AutoPruneKernels

/// A trainable tensor with its gradient, named as in PyTorch (`fc1.weight`).
///
/// Layers compute with `effective` — `value ⊙ gate.mask` when a pruning gate is attached, else
/// `value` itself — and accumulate `∂L/∂effective` into `grad`; optimizers update `value`.
public final class Parameter {
  /// Full dotted name (`fc1.weight`): the key for checkpoints, optimizer state and export.
  /// `Sequential` prefixes it with the layer's name when the layer is added.
  public var name: String
  /// The trained weights before any mask; replacing or mutating them invalidates `effective`
  /// and bumps `version`.
  public var value: Tensor {
    didSet { changed() }
  }
  /// `∂L/∂effective`, shaped like `value`. Backward adds into it, so call `zeroGrad()` before
  /// each batch.
  public var grad: Tensor
  /// True for weights a pruning method may gate; false for biases.
  public let prunable: Bool
  /// The pruning gate covering this parameter, if any.
  public var gate: (any Gate)? {
    didSet { changed() }
  }
  /// Per-element weight-decay multiplier (0 skips decay), set by gates whose closed entries must
  /// not shrink; nil means decay applies everywhere.
  public var weightDecayMask: Tensor?

  private var cachedEffective: Tensor?
  private var effectiveIsStale = true

  /// Counts changes of `effective` (a new or mutated `value`, a new gate, a changed mask), so a
  /// layer can keep something derived from it, such as weights packed for a kernel, until the
  /// next change.
  public private(set) var version = 0

  private func changed() {
    effectiveIsStale = true
    version &+= 1
  }

  /// Starts with a zero gradient and no gate.
  public init(name: String, value: Tensor, prunable: Bool) {
    self.name = name
    self.value = value
    self.grad = Tensor(shape: value.shape)
    self.prunable = prunable
  }

  /// `value`'s shape, such as `[out, in]` for a Dense weight.
  public var shape: [Int] { value.shape }
  /// Elements of `value`: what parameter counts and sparsity figures count.
  public var count: Int { value.count }

  /// Clears `grad` for the next backward, which accumulates into it.
  public func zeroGrad() { grad.zero() }

  /// The tensor layers compute with: `value ⊙ mask`, recomputed only after `value` or the mask
  /// changed.
  public var effective: Tensor {
    guard let gate, let mask = gate.mask(for: self) else { return value }
    if effectiveIsStale || cachedEffective == nil {
      cachedEffective = value.withUnsafeBufferPointer { v in
        mask.withUnsafeBufferPointer { m in
          Tensor(shape: value.shape) { out in
            let vp = SharedPointer(UnsafeMutablePointer(mutating: v.baseAddress!))
            let mp = SharedPointer(UnsafeMutablePointer(mutating: m.baseAddress!))
            let op = SharedPointer(out.baseAddress!)
            // Once per step for every gated weight: worth both cores on LeNet-sized layers.
            Parallel.forRanges(out.count, minPerThread: 32_768) { range in
              for i in range { op[i] = vp[i] * mp[i] }
            }
          }
        }
      }
      effectiveIsStale = false
    }
    return cachedEffective!
  }

  /// Tells the parameter its gate's mask changed, so `effective` is recomputed.
  public func maskDidChange() { changed() }
}

/// A layer's non-trainable state that is saved with the weights, like PyTorch's buffers
/// (BatchNorm's `running_mean`): no gradient, no optimizer, no pruning gate.
public final class Buffer {
  /// Full dotted name (`bn1.running_mean`), prefixed by `Sequential` like a parameter's.
  public var name: String
  /// The saved values; the owning layer updates them during training forwards.
  public var value: Tensor

  /// A buffer under its local name (`running_mean`): `Sequential` adds the layer's name.
  public init(name: String, value: Tensor) {
    self.name = name
    self.value = value
  }
}
