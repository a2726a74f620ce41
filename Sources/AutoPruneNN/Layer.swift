/// What a forward pass needs besides its input.
public struct ForwardContext {
  /// Training mode (dropout active, caches kept for backward).
  public var training: Bool
  /// The run's random source (dropout masks); nil in inference.
  public var rng: RandomSource?

  public init(training: Bool, rng: RandomSource? = nil) {
    self.training = training
    self.rng = rng
  }

  public static var inference: ForwardContext { ForwardContext(training: false) }
}

/// A network layer with an explicit forward and backward pass.
///
/// `forward` caches what `backward` needs; `backward` receives `∂L/∂output`, accumulates
/// parameter gradients into `Parameter.grad` and returns `∂L/∂input`.
public protocol Layer: AnyObject {
  func forward(_ x: Tensor, context: ForwardContext) -> Tensor
  func backward(_ dY: Tensor) -> Tensor
  /// Parameters in a stable order, with their local names (`weight`, `bias`).
  var parameters: [Parameter] { get }
  /// Saved state that is not trained (BatchNorm's running averages), stable order.
  var buffers: [Buffer] { get }
  /// Output shape (without batch) for an input shape (without batch).
  func outputShape(for inputShape: [Int]) -> [Int]
}

extension Layer {
  public var parameters: [Parameter] { [] }
  public var buffers: [Buffer] { [] }

  /// Forward in inference mode.
  public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, context: .inference) }
}

/// A layer whose backward can skip `∂L/∂input` (the network's first trainable layer).
public protocol InputGradientOptional: AnyObject {
  /// When false, `backward` only accumulates parameter gradients and returns an empty tensor.
  var computesInputGradient: Bool { get set }
}
