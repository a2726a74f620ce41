import AutoPruneNN

/// The architectures the tool knows by name.
public enum ModelKind: String, CaseIterable, Codable, Sendable {
  /// LeNet-300-100: 784-300-100-10 fully connected, ReLU.
  case lenet300
  /// LeNet-5, Caffe variant: conv 20@5×5 → pool → conv 50@5×5 → pool → fc 800→500 → fc 500→10.
  case lenet5
  /// The CIFAR VGG-16 with BatchNorm and a 512-512-10 classifier (`CIFARModels.vggLike`), on
  /// 32 × 32 images; widths scale with `--width`.
  case vggLike = "vgg-like"
  /// He et al.'s CIFAR ResNet-20 and ResNet-56 (`CIFARModels.resnet`), on 32 × 32 images.
  case resnet20
  case resnet56
  /// torchvision's AlexNet, ResNet-18, ResNet-50 and MobileNetV2 (`ImageNetModels`): 224 × 224
  /// by default, any `--input-size` from 32 (small images get the stem CIFAR versions use).
  case alexnet
  case resnet18
  case resnet50
  case mobilenetv2

  /// The two networks of the paper's MNIST experiments.
  public static let lenets: [ModelKind] = [.lenet300, .lenet5]
  /// The paper's ImageNet networks.
  public static let imageNet: [ModelKind] = [.alexnet, .resnet18, .resnet50, .mobilenetv2]

  /// Image side the network takes by default (28 for the LeNets, 32 for the CIFAR networks, 224
  /// for the ImageNet ones, which take other sizes too: `takesAnySize`).
  public var imageSide: Int { ModelKind.lenets.contains(self) ? 28 : takesAnySize ? 224 : 32 }

  /// Whether the network is built for any image size (`inputSize`), not one fixed side.
  public var takesAnySize: Bool { ModelKind.imageNet.contains(self) }

  /// Whether `width` scales the network's channels (vgg-like and MobileNetV2).
  public var hasWidth: Bool { self == .vggLike || self == .mobilenetv2 }

  /// Names accepted on the command line, for error messages.
  public static var names: String { allCases.map(\.rawValue).joined(separator: ", ") }
}

/// A named network with the input shape it expects; parameters named as in PyTorch.
///
/// The built-in architectures are factories (`Model(.lenet5, rng:)`); any `Sequential` of the
/// library's layers is a model too, and prunes, saves, thins and exports like them:
///
/// ```swift
/// let rng = RandomSource(seed: 1)
/// let mine = Model(network: Sequential([
///   ("flatten", Flatten()), ("fc1", Dense(784, 128, rng: rng)), ("relu1", ReLU()), ("fc2", Dense(128, 10, rng: rng)),
/// ]), inputShape: [1, 28, 28], name: "mlp128")
/// let logits = mine.network(images)      // images: [N, 1, 28, 28]
/// ```
public final class Model {
  /// What the weights file records as the model (`lenet5`, or the name given to an open model).
  public let name: String
  /// The built-in architecture, nil for a network of the caller's own.
  public let kind: ModelKind?
  /// The layers in forward order; parameter names follow the path to each layer (`fc1.weight`).
  public let network: Sequential
  /// Per-sample input shape, `[channels, height, width]`.
  public let inputShape: [Int]

  /// Width multiplier of a `vgg-like` or `mobilenetv2` network (1 for every other model).
  public let width: Double

  /// A model of any network: `inputShape` is one sample's `[channels, height, width]`, `name`
  /// what weights files record (loading checks it). The network's first layer gets no input
  /// gradient (nothing comes before it). A BatchNorm right after a convolution closes the
  /// channels whose filters are pruned away, as in the built-in networks (its
  /// `channelSource`, where not set already), so unit pruning removes them whole.
  public convenience init(network: Sequential, inputShape: [Int], name: String) {
    Model.tieBatchNorms(in: network)
    self.init(network: network, inputShape: inputShape, name: name, kind: nil, width: 1)
  }

  /// Sets `channelSource` of every BatchNorm that follows a convolution of its channel count
  /// directly, in nested blocks too.
  static func tieBatchNorms(in network: Sequential) {
    var previous: (any Layer)?
    for (_, layer) in network.layers {
      if let bn = layer as? BatchNorm2D, bn.channelSource == nil {
        if let conv = previous as? Conv2D, conv.outputChannels == bn.channels { bn.channelSource = conv.weight }
        if let depthwise = previous as? DepthwiseConv2D, depthwise.channels == bn.channels { bn.channelSource = depthwise.weight }
      }
      if let block = layer as? Residual {
        tieBatchNorms(in: block.body)
        if let shortcut = block.shortcut { tieBatchNorms(in: shortcut) }
      }
      if let join = layer as? Concatenation { for branch in join.branches { tieBatchNorms(in: branch.network) } }
      if let nested = layer as? Sequential { tieBatchNorms(in: nested) }
      previous = layer
    }
  }

  private init(network: Sequential, inputShape: [Int], name: String, kind: ModelKind?, width: Double) {
    self.network = network
    self.inputShape = inputShape
    self.name = name
    self.kind = kind
    self.width = width
    network.skipsInputGradient = true
  }

  /// A built-in architecture. `inputChannels` is the data's channel count for the CIFAR and
  /// ImageNet networks (3 for colour images, 1 for padded Fashion-MNIST); the LeNets take one
  /// channel. `inputSize` is the image side of the ImageNet networks (default 224; the others
  /// take `kind.imageSide` only), `classes` the classifier's outputs (default 10, 1000 for the
  /// ImageNet networks).
  public convenience init(
    _ kind: ModelKind, rng: RandomSource, inputChannels: Int? = nil, width: Double = 1, inputSize: Int? = nil, classes: Int? = nil
  ) {
    let channels = inputChannels ?? (ModelKind.lenets.contains(kind) ? 1 : 3)
    let side = kind.takesAnySize ? inputSize ?? kind.imageSide : kind.imageSide
    precondition(inputSize == nil || inputSize == side, "\(kind.rawValue) takes \(side) × \(side) images only")
    let classes = classes ?? (kind.takesAnySize ? 1000 : 10)
    precondition(classes >= 1, "a classifier needs at least one class")
    let network: Sequential
    switch kind {
    case .lenet300:
      network = Sequential([
        ("flatten", Flatten()),
        ("fc1", Dense(784, 300, rng: rng)), ("relu1", ReLU()),
        ("fc2", Dense(300, 100, rng: rng)), ("relu2", ReLU()),
        ("fc3", Dense(100, classes, rng: rng)),
      ])
    case .lenet5:
      // Caffe's LeNet-5 sizes (20-50-800-500, 431,080 parameters) with a ReLU after each conv,
      // as the PyTorch versions used by pruning papers (L0, DNS ports) have.
      network = Sequential([
        ("conv1", Conv2D(1, 20, kernelSize: 5, rng: rng)), ("relu1", ReLU()),
        ("pool1", MaxPool2D(2)),
        ("conv2", Conv2D(20, 50, kernelSize: 5, rng: rng)), ("relu2", ReLU()),
        ("pool2", MaxPool2D(2)),
        ("flatten", Flatten()),
        ("fc1", Dense(800, 500, rng: rng)), ("relu3", ReLU()),
        ("fc2", Dense(500, classes, rng: rng)),
      ])
    case .vggLike:
      network = CIFARModels.vggLike(width: width, inputChannels: channels, classes: classes, rng: rng)
    case .resnet20, .resnet56:
      network = CIFARModels.resnet(depth: kind == .resnet20 ? 20 : 56, inputChannels: channels, classes: classes, rng: rng)
    case .alexnet:
      network = ImageNetModels.alexnet(classes: classes, inputSize: side, inputChannels: channels, rng: rng).network
    case .resnet18, .resnet50:
      network = ImageNetModels.resnet(depth: kind == .resnet18 ? 18 : 50, classes: classes, inputSize: side, inputChannels: channels, rng: rng).network
    case .mobilenetv2:
      network = ImageNetModels.mobilenetV2(width: width, classes: classes, inputSize: side, inputChannels: channels, rng: rng).network
    }
    self.init(
      network: network, inputShape: [ModelKind.lenets.contains(kind) ? 1 : channels, side, side], name: kind.rawValue,
      kind: kind, width: kind.hasWidth ? width : 1)
  }

  /// True when the network is one chain of layers (no residual block anywhere): sparse
  /// inference follows such a chain.
  public var isChain: Bool { !network.containsResidual }

  /// Every trainable parameter (weights, biases, BatchNorm's γ and β) in forward order.
  public var parameters: [Parameter] { network.parameters }
  /// State saved with the weights but not trained (BatchNorm's running mean and variance).
  public var buffers: [Buffer] { network.buffers }
  /// Values in `parameters`: the dense size, whatever the masks keep.
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.count } }

  /// Outputs of the network: the classes it tells apart.
  public var classes: Int { network.outputShape(for: inputShape).reduce(1, *) }

  /// Parameter by PyTorch name (`fc1.weight`).
  public func parameter(named name: String) -> Parameter? { parameters.first { $0.name == name } }
}
