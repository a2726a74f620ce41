/// What a forward pass needs besides its input.
public struct ForwardContext {
  /// Training mode (dropout active, caches kept for backward).
  public var training: Bool
  /// The run's random source (dropout masks); nil in inference.
  public var rng: RandomSource?

  /// `rng` is needed when training runs stochastic layers: Dropout traps without one.
  public init(training: Bool, rng: RandomSource? = nil) {
    self.training = training
    self.rng = rng
  }

  /// Inference without a random source: what `callAsFunction` and evaluation use.
  public static var inference: ForwardContext { ForwardContext(training: false) }
}

/// A network layer with an explicit forward and backward pass.
///
/// `forward` caches what `backward` needs; `backward` receives `∂L/∂output`, accumulates
/// parameter gradients into `Parameter.grad` and returns `∂L/∂input`.
public protocol Layer: AnyObject {
  /// The output for a batch `x` (batch first). A training forward keeps what `backward` needs,
  /// so `backward` must follow a training forward of the same batch.
  func forward(_ x: Tensor, context: ForwardContext) -> Tensor
  /// Takes `∂L/∂output` of the last training forward, adds this layer's parameter gradients into
  /// their `grad` (accumulating, never overwriting) and returns `∂L/∂input`.
  func backward(_ dY: Tensor) -> Tensor
  /// Parameters in a stable order, with their local names (`weight`, `bias`).
  var parameters: [Parameter] { get }
  /// Saved state that is not trained (BatchNorm's running averages), stable order.
  var buffers: [Buffer] { get }
  /// Output shape (without batch) for an input shape (without batch).
  func outputShape(for inputShape: [Int]) -> [Int]
}

extension Layer {
  /// None by default, so layers without weights (ReLU, pooling) need not declare any.
  public var parameters: [Parameter] { [] }
  /// None by default: only layers with saved statistics (BatchNorm) have buffers.
  public var buffers: [Buffer] { [] }

  /// Forward in inference mode.
  public func callAsFunction(_ x: Tensor) -> Tensor { forward(x, context: .inference) }
}

/// A layer whose backward can skip `∂L/∂input` (the network's first trainable layer).
public protocol InputGradientOptional: AnyObject {
  /// When false, `backward` only accumulates parameter gradients and returns an empty tensor.
  var computesInputGradient: Bool { get set }
}
