/// Stochastic gradient descent with PyTorch's semantics for momentum, Nesterov and weight decay.
///
/// `d = g + λw;  b = μb + d (b = d on the first step);  d = nesterov ? d + μb : b;  w −= lr·d`
///
/// ```swift
/// let sgd = SGD(learningRate: 0.1, momentum: 0.9, nesterov: true, weightDecay: 5e-4)
/// ```
public final class SGD: Optimizer {
  public var learningRate: Float
  public let momentum: Float
  public let nesterov: Bool
  public let weightDecay: Float
  /// Momentum buffers by parameter name.
  public private(set) var buffers: [String: [Float]] = [:]

  public var state: OptimizerState { OptimizerState(slots: ["momentum": buffers], steps: 0) }

  public func restore(_ state: OptimizerState) { buffers = state.slots["momentum"] ?? [:] }

  public init(learningRate: Float, momentum: Float = 0, nesterov: Bool = false, weightDecay: Float = 0) {
    precondition(!nesterov || momentum > 0, "Nesterov momentum requires momentum > 0")
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
  }

  public func step(_ parameters: [Parameter]) {
    for p in parameters {
      let count = p.count
      let lr = learningRate, mu = momentum, wd = weightDecay, nesterov = nesterov
      let fresh = buffers[p.name] == nil
      var buffer = buffers.removeValue(forKey: p.name) ?? (mu != 0 ? [Float](repeating: 0, count: count) : [])
      // Gated parameters may exempt closed entries from decay (empty: decay everywhere).
      let decayMask = p.weightDecayMask?.storage ?? []
      decayMask.withUnsafeBufferPointer { dm in
      p.grad.withUnsafeBufferPointer { g in
        p.value.withUnsafeMutableBufferPointer { w in
          buffer.withUnsafeMutableBufferPointer { b in
            for i in 0..<count {
              var d = g[i] + (dm.isEmpty ? wd : wd * dm[i]) * w[i]
              if mu != 0 {
                b[i] = fresh ? d : mu * b[i] + d
                d = nesterov ? d + mu * b[i] : b[i]
              }
              w[i] -= lr * d
            }
          }
        }
      }
      }
      if mu != 0 { buffers[p.name] = buffer }
    }
  }
}
