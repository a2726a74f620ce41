import AutoPruneNN

/// The CIFAR networks of the pruning literature, built as layer stacks with PyTorch-style names.
///
/// - `resnet(depth:)`: He et al. 2016's CIFAR ResNets (depth 6n + 2: ResNet-20 n = 3, ResNet-56
///   n = 9): a 3×3 convolution to 16 channels, three stages of n basic blocks at 16, 32 and 64
///   channels (the first block of stages 2 and 3 halves the resolution), global average
///   pooling and a 64 → 10 classifier. Shortcuts are the identity, or a 1×1 convolution with
///   BatchNorm where the shape changes (their option B). Convolutions have no bias (BatchNorm
///   follows each).
/// - `vggLike(width:)`: the CIFAR VGG-16 with BatchNorm (13 3×3 convolutions in five groups,
///   max-pooling after each) and a 512-512-10 classifier, every width times `width`.
public enum CIFARModels {
  /// A convolution and the BatchNorm after it, the BatchNorm closing the channels of pruned filters.
  static func convBN(_ c: Int, _ o: Int, kernel: Int, stride: Int = 1, padding: Int, rng: RandomSource) -> (Conv2D, BatchNorm2D) {
    let conv = Conv2D(c, o, kernelSize: kernel, stride: stride, padding: padding, bias: false, rng: rng)
    let bn = BatchNorm2D(o)
    bn.channelSource = conv.weight
    return (conv, bn)
  }

  /// He et al.'s CIFAR ResNet of `depth` = 6n + 2 (see above); `classes` outputs.
  public static func resnet(depth: Int, inputChannels: Int = 3, classes: Int = 10, rng: RandomSource) -> Sequential {
    precondition(depth >= 8 && (depth - 2) % 6 == 0, "a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, 110), not \(depth)")
    let blocks = (depth - 2) / 6
    let (stem, stemBN) = convBN(inputChannels, 16, kernel: 3, padding: 1, rng: rng)
    var layers: [(String, any Layer)] = [("conv1", stem), ("bn1", stemBN), ("relu1", ReLU())]
    var channels = 16
    for (stage, width) in [16, 32, 64].enumerated() {
      for b in 0..<blocks {
        let stride = stage > 0 && b == 0 ? 2 : 1
        let (conv1, bn1) = convBN(channels, width, kernel: 3, stride: stride, padding: 1, rng: rng)
        let (conv2, bn2) = convBN(width, width, kernel: 3, padding: 1, rng: rng)
        let body: [(String, any Layer)] = [("conv1", conv1), ("bn1", bn1), ("relu1", ReLU()), ("conv2", conv2), ("bn2", bn2)]
        var shortcut: [(String, any Layer)]?
        if stride != 1 || channels != width {
          let (projection, projectionBN) = convBN(channels, width, kernel: 1, stride: stride, padding: 0, rng: rng)
          shortcut = [("0", projection), ("1", projectionBN)]
        }
        layers.append(("layer\(stage + 1).\(b)", Residual(body, shortcut: shortcut)))
        layers.append(("layer\(stage + 1).\(b).relu", ReLU()))
        channels = width
      }
    }
    layers += [("pool", GlobalAvgPool2D()), ("fc", Dense(64, classes, rng: rng))]
    return Sequential(layers)
  }

  /// Convolution widths of the CIFAR VGG-16, "M" marking a 2×2 max-pooling.
  static let vgg16: [Int?] = [64, 64, nil, 128, 128, nil, 256, 256, 256, nil, 512, 512, 512, nil, 512, 512, 512, nil]

  /// `c` channels of the full-width VGG at `width` (at least one).
  static func vggChannels(_ c: Int, width: Double) -> Int { max(1, Int((Double(c) * width).rounded())) }

  /// Weights of the convolutions and dense layers of `vggLike(width:inputChannels:classes:)`
  /// (biases and BatchNorm left out), counted without building it: a file must hold at least
  /// this many values before a model that size is worth allocating.
  public static func vggLikeWeightCount(width: Double, inputChannels: Int = 3, classes: Int = 10) -> Int {
    func scaled(_ c: Int) -> Int { vggChannels(c, width: width) }
    var channels = inputChannels, total = 0
    for c in vgg16.compactMap({ $0 }) {
      total += 9 * channels * scaled(c)
      channels = scaled(c)
    }
    return total + channels * scaled(512) + scaled(512) * classes
  }

  /// The CIFAR VGG-16 with BatchNorm (see above), every width times `width` (in (0, 4]).
  public static func vggLike(width: Double = 1, inputChannels: Int = 3, classes: Int = 10, rng: RandomSource) -> Sequential {
    precondition(width > 0 && width <= 4, "VGG width multiplier must be in (0, 4], got \(width)")
    func scaled(_ c: Int) -> Int { vggChannels(c, width: width) }
    var layers: [(String, any Layer)] = []
    var channels = inputChannels, conv = 0, pool = 0
    for entry in vgg16 {
      if let c = entry {
        conv += 1
        let (convolution, bn) = convBN(channels, scaled(c), kernel: 3, padding: 1, rng: rng)
        layers += [("conv\(conv)", convolution), ("bn\(conv)", bn), ("relu\(conv)", ReLU())]
        channels = scaled(c)
      } else {
        pool += 1
        layers.append(("pool\(pool)", MaxPool2D(2)))
      }
    }
    layers += [
      ("flatten", Flatten()), ("fc1", Dense(channels, scaled(512), rng: rng)), ("relu_fc1", ReLU()),
      ("fc2", Dense(scaled(512), classes, rng: rng)),
    ]
    return Sequential(layers)
  }
}
