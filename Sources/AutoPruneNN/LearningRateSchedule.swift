import Foundation

/// Learning rate as a function of progress, evaluated per epoch.
///
/// ```swift
/// let schedule = LearningRateSchedule.cosine(base: 0.1, totalEpochs: 10, minimum: 0)
/// schedule.rate(epoch: 3)
/// ```
public enum LearningRateSchedule: Equatable, Sendable {
  case constant(Float)
  /// `base · gamma^⌊epoch / every⌋`, like `StepLR`.
  case step(base: Float, every: Int, gamma: Float)
  /// `min + (base − min)·(1 + cos(π·epoch/total))/2`, like `CosineAnnealingLR`.
  case cosine(base: Float, totalEpochs: Int, minimum: Float)

  /// The rate for zero-based `epoch`.
  public func rate(epoch: Int) -> Float {
    switch self {
    case .constant(let lr):
      return lr
    case .step(let base, let every, let gamma):
      return base * Float(Foundation.pow(Double(gamma), Double(epoch / max(1, every))))
    case .cosine(let base, let total, let minimum):
      let t = Double(min(epoch, total)) / Double(max(1, total))
      return minimum + (base - minimum) * Float((1 + Foundation.cos(Double.pi * t)) / 2)
    }
  }
}
