/// A residual block: `y = body(x) + shortcut(x)`, the shortcut the identity or a layer stack
/// (He et al. 2016's 1×1-convolution projection with BatchNorm when the shape changes). The
/// ReLU that follows the addition in a ResNet is the next layer, not part of the block.
///
/// Parameters are named as the block's sub-layers (`conv1.weight`, `shortcut.0.weight`), so a
/// ResNet's names match PyTorch's CIFAR implementations (`layer1.0.conv1.weight`).
public final class Residual: Layer {
  /// The main path, its layers named as the block's (`conv1`, `bn1`, …).
  public let body: Sequential
  /// Nil for the identity.
  public let shortcut: Sequential?

  /// Prefix of the shortcut's parameter names: `shortcut` (the CIFAR ResNets') or `downsample`
  /// (torchvision's ImageNet ResNets).
  public let shortcutName: String

  /// Shortcut layers get the `shortcutName.` prefix, so pass `0`, `1` for PyTorch's
  /// `shortcut.0.weight`; a nil shortcut is the identity.
  public init(_ body: [(String, any Layer)], shortcut: [(String, any Layer)]? = nil, shortcutName: String = "shortcut") {
    self.body = Sequential(body)
    self.shortcutName = shortcutName
    self.shortcut = shortcut.map { layers in Sequential(layers.map { ("\(shortcutName).\($0.0)", $0.1) }) }
  }

  public var parameters: [Parameter] { body.parameters + (shortcut?.parameters ?? []) }
  public var buffers: [Buffer] { body.buffers + (shortcut?.buffers ?? []) }

  public func outputShape(for inputShape: [Int]) -> [Int] {
    let main = body.outputShape(for: inputShape)
    let side = shortcut?.outputShape(for: inputShape) ?? inputShape
    precondition(main == side, "Residual: body gives \(main) but the shortcut \(side) for input \(inputShape)")
    return main
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    if !context.training { return inferenceForward(x, relu: false) }
    var y = body.forward(x, context: context)
    let side = shortcut?.forward(x, context: context) ?? x
    precondition(y.shape == side.shape, "Residual: body gives \(y.shape) but the shortcut \(side.shape)")
    let count = y.count
    y.withMutablePointer { yp in
      side.withPointer { sp in
        for i in 0..<count { yp[i] += sp[i] }
      }
    }
    return y
  }

  /// Inference, `f(body(x) + shortcut(x))` with `f` a ReLU when `relu`: the addition and ReLU
  /// happen as the body's last convolution writes its outputs (`Sequential.inferenceForward`).
  func inferenceForward(_ x: Tensor, relu: Bool) -> Tensor {
    let side = shortcut?.forward(x, context: .inference) ?? x
    return body.inferenceForward(x, residual: side, relu: relu)
  }

  public func backward(_ dY: Tensor) -> Tensor {
    var dX = body.backward(dY)
    let side = shortcut?.backward(dY) ?? dY
    let count = dX.count
    dX.withMutablePointer { xp in
      side.withPointer { sp in
        for i in 0..<count { xp[i] += sp[i] }
      }
    }
    return dX
  }
}
