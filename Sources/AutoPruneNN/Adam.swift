import AutoPruneKernels
import Foundation

/// Adam (Kingma & Ba) with bias correction and PyTorch's L2-style `weightDecay` (added to g).
///
/// ```swift
/// let adam = Adam(learningRate: 1e-3)
/// ```
public final class Adam: Optimizer {
  public var learningRate: Float
  /// Decay per step of the running mean of gradients (first moment), in [0, 1).
  public let beta1: Float
  /// Decay per step of the running mean of squared gradients (second moment), in [0, 1).
  public let beta2: Float
  /// Added to `√v̂` in the denominator, so entries that never saw a gradient do not divide by zero.
  public let epsilon: Float
  /// L2 coefficient λ: `λw` joins the gradient before the moments (PyTorch's `Adam`, not the
  /// decoupled `AdamW`), skipped where `Parameter.weightDecayMask` is 0.
  public let weightDecay: Float
  /// Running mean of gradients per parameter name (`m`, before bias correction).
  public private(set) var firstMoments: [String: [Float]] = [:]
  /// Running mean of squared gradients per parameter name (`v`, before bias correction).
  public private(set) var secondMoments: [String: [Float]] = [:]
  /// Steps taken, one count for all parameters: the `t` of the bias correction `1 − βᵗ`.
  public private(set) var stepCount = 0

  public var state: OptimizerState {
    OptimizerState(slots: ["first_moment": firstMoments, "second_moment": secondMoments], steps: stepCount)
  }

  public func restore(_ state: OptimizerState) {
    firstMoments = state.slots["first_moment"] ?? [:]
    secondMoments = state.slots["second_moment"] ?? [:]
    stepCount = state.steps
  }

  /// The defaults are the paper's and PyTorch's.
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
    for p in parameters where p.count > 0 {
      var m = firstMoments.removeValue(forKey: p.name) ?? [Float](repeating: 0, count: p.count)
      var v = secondMoments.removeValue(forKey: p.name) ?? [Float](repeating: 0, count: p.count)
      // The loops below run over p.count entries of each buffer: a state restored from another
      // model (same names, other shapes) must stop here, not write past its end.
      precondition(m.count == p.count && v.count == p.count, "Adam: moments of \(p.name) hold \(m.count)/\(v.count) values, the parameter \(p.count)")
      // Gated parameters may exempt closed entries from decay (empty: decay everywhere).
      let decayMask = p.weightDecayMask?.storage ?? []
      decayMask.withUnsafeBufferPointer { dm in
      p.grad.withUnsafeBufferPointer { g in
        p.value.withUnsafeMutableBufferPointer { w in
          m.withUnsafeMutableBufferPointer { m in
            v.withUnsafeMutableBufferPointer { v in
              // In 16-float chunks over threads (elementwise: the split changes nothing), the
              // same operations per element in the same order as the scalar formula:
              // d = g + wd·w; m = β1·m + (1−β1)·d; v = β2·v + (1−β2)·d·d;
              // w −= lr/c1 · m / (sqrt(v/c2) + eps)   (PyTorch's form)
              let count = g.count
              let gp = SharedPointer(UnsafeMutablePointer(mutating: g.baseAddress!)), wp = SharedPointer(w.baseAddress!)
              let mp = SharedPointer(m.baseAddress!), vp = SharedPointer(v.baseAddress!)
              let dmp = dm.isEmpty ? nil : dm.baseAddress.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
              typealias V = Chunks.Vector
              let decay = V(repeating: wd), beta1 = V(repeating: b1), beta2 = V(repeating: b2)
              let rest1 = V(repeating: 1 - b1), rest2 = V(repeating: 1 - b2), c2 = V(repeating: correction2)
              let rate = V(repeating: stepSize), epsilon = V(repeating: eps)
              Chunks.forEachInParallel(count) { i, lanes in
                let weights = Chunks.load(wp.base, i, lanes)
                let d = Chunks.load(gp.base, i, lanes) + (dmp.map { decay * Chunks.load($0.base, i, lanes) } ?? decay) * weights
                let first = beta1 * Chunks.load(mp.base, i, lanes) + rest1 * d
                let second = beta2 * Chunks.load(vp.base, i, lanes) + rest2 * d * d
                Chunks.store(first, mp.base, i, lanes)
                Chunks.store(second, vp.base, i, lanes)
                Chunks.store(weights - rate * first / ((second / c2).squareRoot() + epsilon), wp.base, i, lanes)
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
