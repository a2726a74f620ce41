/// Layers applied in order, each with a name that prefixes its parameters (`fc1.weight`).
///
/// ```swift
/// let net = Sequential([("fc1", Dense(784, 300, rng: rng)), ("relu1", ReLU()),
///                       ("fc2", Dense(300, 10, rng: rng))])
/// let logits = net(x)
/// ```
public final class Sequential: Layer {
  public let layers: [(name: String, layer: any Layer)]

  public init(_ layers: [(String, any Layer)]) {
    self.layers = layers.map { (name: $0.0, layer: $0.1) }
    for (name, layer) in self.layers {
      for p in layer.parameters where !p.name.hasPrefix(name + ".") { p.name = "\(name).\(p.name)" }
    }
  }

  public var parameters: [Parameter] { layers.flatMap { $0.layer.parameters } }

  public func outputShape(for inputShape: [Int]) -> [Int] {
    layers.reduce(inputShape) { $1.layer.outputShape(for: $0) }
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    layers.reduce(x) { $1.layer.forward($0, context: context) }
  }

  public func backward(_ dY: Tensor) -> Tensor {
    layers.reversed().reduce(dY) { $1.layer.backward($0) }
  }

  /// The layer registered under `name`, if any.
  public func layer(named name: String) -> (any Layer)? {
    layers.first { $0.name == name }?.layer
  }
}
