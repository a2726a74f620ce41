/// Flattens `[N, d1, d2, …]` to `[N, d1·d2·…]` (row-major, so NCHW order as `torch.flatten`).
public final class Flatten: Layer {
  private var inputShape: [Int] = []

  /// No settings: the batch dimension is kept and the rest merged, whatever the input shape.
  public init() {}

  public func outputShape(for inputShape: [Int]) -> [Int] { [inputShape.reduce(1, *)] }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    if context.training { inputShape = x.shape }
    return x.reshaped([x.shape[0], x.count / max(1, x.shape[0])])
  }

  public func backward(_ dY: Tensor) -> Tensor { dY.reshaped(inputShape) }
}
