import AutoPruneKernels

/// A trainable tensor with its gradient, named as in PyTorch (`fc1.weight`).
///
/// Layers compute with `effective` — `value ⊙ gate.mask` when a pruning gate is attached, else
/// `value` itself — and accumulate `∂L/∂effective` into `grad`; optimizers update `value`.
public final class Parameter {
  public var name: String
  public var value: Tensor {
    didSet { changed() }
  }
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

  public init(name: String, value: Tensor, prunable: Bool) {
    self.name = name
    self.value = value
    self.grad = Tensor(shape: value.shape)
    self.prunable = prunable
  }

  public var shape: [Int] { value.shape }
  public var count: Int { value.count }

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
  public var name: String
  public var value: Tensor

  public init(name: String, value: Tensor) {
    self.name = name
    self.value = value
  }
}
