import AutoPruneKernels

/// Stochastic gradient descent with PyTorch's semantics for momentum, Nesterov and weight decay.
///
/// `d = g + λw;  b = μb + d (b = d on the first step);  d = nesterov ? d + μb : b;  w −= lr·d`
///
/// ```swift
/// let sgd = SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4)
/// ```
public final class SGD: Optimizer {
  public var learningRate: Float
  /// μ in the update above; 0 keeps no buffer (plain SGD).
  public let momentum: Float
  /// Steps along `d + μb` instead of `b` (Sutskever et al.'s form, as PyTorch); needs `momentum` > 0.
  public let nesterov: Bool
  /// λ in the update: L2 added to the gradient, skipped where `Parameter.weightDecayMask` is 0.
  public let weightDecay: Float
  /// Momentum buffers by parameter name.
  public private(set) var buffers: [String: [Float]] = [:]

  public var state: OptimizerState { OptimizerState(slots: ["momentum": buffers], steps: 0) }

  public func restore(_ state: OptimizerState) { buffers = state.slots["momentum"] ?? [:] }

  /// Traps on `nesterov` without momentum (PyTorch raises there too): the update would be plain SGD.
  public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
    precondition(!nesterov || momentum > 0, "Nesterov momentum requires momentum > 0")
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
  }

  public func step(_ parameters: [Parameter]) {
    for p in parameters where p.count > 0 {
      let count = p.count
      let lr = learningRate, mu = momentum, wd = weightDecay, nesterov = nesterov
      let fresh = buffers[p.name] == nil
      var buffer = buffers.removeValue(forKey: p.name) ?? (mu != 0 ? [Float](repeating: 0, count: count) : [])
      // The loop below runs over `count` entries of the buffer: a state restored from another
      // model (same names, other shapes) must stop here, not write past its end.
      precondition(mu == 0 || buffer.count == count, "SGD: the momentum buffer of \(p.name) holds \(buffer.count) values, the parameter \(count)")
      // Gated parameters may exempt closed entries from decay (empty: decay everywhere).
      let decayMask = p.weightDecayMask?.storage ?? []
      decayMask.withUnsafeBufferPointer { dm in
      p.grad.withUnsafeBufferPointer { g in
        p.value.withUnsafeMutableBufferPointer { w in
          buffer.withUnsafeMutableBufferPointer { b in
            // In 16-float chunks over threads (a scalar loop with per-element branches stayed scalar
            // in a generic build); per element the same operations in the same order as
            // d = g + wd·w; b = μb + d (b = d on the first step); d = d + μb (Nesterov) or b; w −= lr·d.
            let gp = SharedPointer(UnsafeMutablePointer(mutating: g.baseAddress!)), wp = SharedPointer(w.baseAddress!)
            let bp = b.baseAddress.map { SharedPointer($0) }
            let dmp = dm.isEmpty ? nil : dm.baseAddress.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
            let decay = Chunks.Vector(repeating: wd), rate = Chunks.Vector(repeating: lr), momentum = Chunks.Vector(repeating: mu)
            Chunks.forEachInParallel(count) { i, lanes in
              let weights = Chunks.load(wp.base, i, lanes)
              var d = Chunks.load(gp.base, i, lanes) + (dmp.map { decay * Chunks.load($0.base, i, lanes) } ?? decay) * weights
              if mu != 0, let bp {
                let velocity = fresh ? d : momentum * Chunks.load(bp.base, i, lanes) + d
                Chunks.store(velocity, bp.base, i, lanes)
                d = nesterov ? d + momentum * velocity : velocity
              }
              Chunks.store(weights - rate * d, wp.base, i, lanes)
            }
          }
        }
      }
      }
      if mu != 0 { buffers[p.name] = buffer }
    }
  }
}
