/// Inverted dropout: in training each element is zeroed with probability `p` and the rest
/// scaled by `1/(1−p)`; identity in inference. The mask comes from the context's seeded RNG.
public final class Dropout: Layer {
  /// Chance `p` that an element is zeroed in training, in [0, 1).
  public let probability: Float
  private var mask: [Float] = []

  /// Traps outside [0, 1): at 1 every element is dropped and the rescale divides by zero.
  public init(_ probability: Float) {
    precondition(probability >= 0 && probability < 1, "dropout probability must be in [0, 1)")
    self.probability = probability
  }

  public func outputShape(for inputShape: [Int]) -> [Int] { inputShape }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    guard context.training, probability > 0 else { return x }
    guard let rng = context.rng else { preconditionFailure("Dropout in training needs an RNG") }
    let keepScale = 1 / (1 - probability)
    mask = (0..<x.count).map { _ in rng.uniform() < probability ? 0 : keepScale }
    var y = x
    for i in 0..<y.count { y[i] *= mask[i] }
    return y
  }

  // dX = dY ⊙ mask
  public func backward(_ dY: Tensor) -> Tensor {
    guard probability > 0, mask.count == dY.count else { return dY }
    var dX = dY
    for i in 0..<dX.count { dX[i] *= mask[i] }
    return dX
  }
}
