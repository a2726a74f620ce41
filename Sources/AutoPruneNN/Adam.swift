import Foundation

/// Adam (Kingma & Ba) with bias correction and PyTorch's L2-style `weightDecay` (added to g).
///
/// ```swift
/// let adam = Adam(learningRate: 1e-3)
/// ```
public final class Adam: Optimizer {
  public var learningRate: Float
  public let beta1: Float
  public let beta2: Float
  public let epsilon: Float
  public let weightDecay: Float
  /// First and second moments by parameter name, and the shared step count.
  public private(set) var firstMoments: [String: [Float]] = [:]
  public private(set) var secondMoments: [String: [Float]] = [:]
  public private(set) var stepCount = 0

  public var state: OptimizerState {
    OptimizerState(slots: ["first_moment": firstMoments, "second_moment": secondMoments], steps: stepCount)
  }

  public func restore(_ state: OptimizerState) {
    firstMoments = state.slots["first_moment"] ?? [:]
    secondMoments = state.slots["second_moment"] ?? [:]
    stepCount = state.steps
  }

  public init(learningRate: Float = 1e-3, beta1: Float = 0.9, beta2: Float = 0.999, epsilon: Float = 1e-8, weightDecay: Float = 0) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
  }

  public func step(_ parameters: [Parameter]) {
    stepCount += 1
    let correction1 = 1 - Float(Foundation.pow(Double(beta1), Double(stepCount)))
    let correction2 = 1 - Float(Foundation.pow(Double(beta2), Double(stepCount)))
    let stepSize = learningRate / correction1
    let b1 = beta1, b2 = beta2, eps = epsilon, wd = weightDecay
    for p in parameters {
      var m = firstMoments.removeValue(forKey: p.name) ?? [Float](repeating: 0, count: p.count)
      var v = secondMoments.removeValue(forKey: p.name) ?? [Float](repeating: 0, count: p.count)
      // Gated parameters may exempt closed entries from decay (empty: decay everywhere).
      let decayMask = p.weightDecayMask?.storage ?? []
      decayMask.withUnsafeBufferPointer { dm in
      p.grad.withUnsafeBufferPointer { g in
        p.value.withUnsafeMutableBufferPointer { w in
          m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
              for i in 0..<g.count {
                let d = g[i] + (dm.isEmpty ? wd : wd * dm[i]) * w[i]
                m[i] = b1 * m[i] + (1 - b1) * d
                v[i] = b2 * v[i] + (1 - b2) * d * d
                // PyTorch: w −= lr/c1 · m / (sqrt(v)/sqrt(c2) + eps)
                w[i] -= stepSize * m[i] / ((v[i] / correction2).squareRoot() + eps)
              }
            }
          }
        }
      }
      }
      firstMoments[p.name] = m
      secondMoments[p.name] = v
    }
  }
}
