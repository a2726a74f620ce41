/// Layers applied in order, each with a name that prefixes its parameters (`fc1.weight`).
///
/// ```swift
/// let net = Sequential([("fc1", Dense(784, 300, rng: rng)), ("relu1", ReLU()),
///                       ("fc2", Dense(300, 10, rng: rng))])
/// let logits = net(x)
/// ```
public final class Sequential: Layer {
  /// The stack in order, each layer with its name: the prefix of its parameter and buffer names
  /// and the key `layer(named:)` looks up.
  public let layers: [(name: String, layer: any Layer)]

  /// Prefixes each layer's parameter and buffer names with the layer's name, once (a name
  /// already prefixed stays). It renames the shared `Parameter` objects themselves.
  public init(_ layers: [(String, any Layer)]) {
    self.layers = layers.map { (name: $0.0, layer: $0.1) }
    for (name, layer) in self.layers {
      for p in layer.parameters where !p.name.hasPrefix(name + ".") { p.name = "\(name).\(p.name)" }
      for b in layer.buffers where !b.name.hasPrefix(name + ".") { b.name = "\(name).\(b.name)" }
    }
  }

  public var parameters: [Parameter] { layers.flatMap { $0.layer.parameters } }
  public var buffers: [Buffer] { layers.flatMap { $0.layer.buffers } }

  public func outputShape(for inputShape: [Int]) -> [Int] {
    layers.reduce(inputShape) { $1.layer.outputShape(for: $0) }
  }

  public func forward(_ x: Tensor, context: ForwardContext) -> Tensor {
    if !context.training { return inferenceForward(x, residual: nil, relu: false) }
    return layers.reduce(x) { $1.layer.forward($0, context: context) }
  }

  /// Inference, `f(layers(x) (+ residual))` with `f` a ReLU when `relu`: every convolution runs
  /// with the BatchNorm and ReLU after it (and, ending the stack, the residual and final ReLU)
  /// folded into how it writes its outputs, so a ResNet block makes two passes over its
  /// activations instead of eight. The result equals the layer-by-layer one up to rounding.
  func inferenceForward(_ x: Tensor, residual: Tensor?, relu: Bool) -> Tensor {
    var y = x, i = 0, applied = false
    while i < layers.count {
      let layer = layers[i].layer
      if let conv = layer as? Conv2D {
        var epilogue = ConvolutionEpilogue()
        (epilogue, i, applied) = self.epilogue(after: i, channels: conv.outputChannels, residual: residual, relu: relu, applied: applied)
        y = conv.forward(y, epilogue: epilogue)
      } else if let depthwise = layer as? DepthwiseConv2D {
        var epilogue = ConvolutionEpilogue()
        (epilogue, i, applied) = self.epilogue(after: i, channels: depthwise.channels, residual: residual, relu: relu, applied: applied)
        y = depthwise.forward(y, epilogue: epilogue)
      } else if let block = layer as? Residual, i + 1 < layers.count, layers[i + 1].layer is ReLU {
        y = block.inferenceForward(y, relu: true)
        i += 2
      } else {
        y = layer.forward(y, context: .inference)
        i += 1
      }
    }
    if applied || (residual == nil && !relu) { return y }
    let count = y.count
    y.withMutablePointer { yp in
      (residual ?? Tensor(shape: [1])).withPointer { rp in
        for i in 0..<count {
          let v = residual == nil ? yp[i] : yp[i] + rp[i]
          yp[i] = relu ? max(v, 0) : v
        }
      }
    }
    return y
  }

  /// What a convolution at `i` folds in: the BatchNorm right after it (of `channels`), then a
  /// ReLU or ReLU6; or, ending the stack, the block's residual and final ReLU. Returns the
  /// epilogue, the index of the first layer not folded, and whether the residual was taken.
  private func epilogue(
    after i: Int, channels: Int, residual: Tensor?, relu: Bool, applied: Bool
  ) -> (ConvolutionEpilogue, next: Int, applied: Bool) {
    var epilogue = ConvolutionEpilogue(), next = i + 1, applied = applied
    if next < layers.count, let norm = layers[next].layer as? BatchNorm2D, norm.channels == channels {
      (epilogue.scale, epilogue.shift) = norm.inferenceScaleShift
      next += 1
    }
    if next < layers.count, layers[next].layer is ReLU {
      epilogue.relu = true
      next += 1
    } else if next < layers.count, layers[next].layer is ReLU6 {
      (epilogue.relu, epilogue.upper) = (true, 6)
      next += 1
    } else if next == layers.count {
      (epilogue.residual, epilogue.relu, applied) = (residual, relu, true)
    }
    return (epilogue, next, applied)
  }

  /// When true, backward stops at the first layer with parameters and returns an empty
  /// tensor: the network's input needs no gradient, and for a first conv layer that skips
  /// its largest GEMM and the col2im.
  public var skipsInputGradient = false {
    didSet {
      if let first = layers.first(where: { !$0.layer.parameters.isEmpty })?.layer as? any InputGradientOptional {
        first.computesInputGradient = !skipsInputGradient
      }
    }
  }

  public func backward(_ dY: Tensor) -> Tensor { backward(dY, finished: { _ in }) }

  /// `backward`, handing each layer's parameters to `finished` as soon as their gradients are
  /// complete (last layer first): a data-parallel job starts summing them over its ranks while
  /// the rest of the pass runs.
  public func backward(_ dY: Tensor, finished: ([Parameter]) -> Void) -> Tensor {
    var gradient = dY
    for (_, layer) in layers.reversed() {
      gradient = layer.backward(gradient)
      finished(layer.parameters)
      if skipsInputGradient, let optional = layer as? any InputGradientOptional, !optional.computesInputGradient {
        return Tensor(shape: [0])
      }
    }
    return gradient
  }

  /// True when a residual block or a concatenation lies anywhere in the stack (the network is
  /// not one chain).
  public var containsResidual: Bool {
    layers.contains { $0.layer is Residual || $0.layer is Concatenation || ($0.layer as? Sequential)?.containsResidual == true }
  }

  /// The layer registered under `name`, if any.
  public func layer(named name: String) -> (any Layer)? {
    layers.first { $0.name == name }?.layer
  }
}
