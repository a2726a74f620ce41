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
  public static func resnet(depth: Int, inputChannels: Int = 3, classes: Int = 10, rng: RandomSource) -> Sequential {
    precondition(depth >= 8 && (depth - 2) % 6 == 0, "a CIFAR ResNet has depth 6n + 2 (20, 32, 44, 56, 110), not \(depth)")
    let blocks = (depth - 2) / 6
    var layers: [(String, any Layer)] = [
      ("conv1", Conv2D(inputChannels, 16, kernelSize: 3, padding: 1, bias: false, rng: rng)), ("bn1", BatchNorm2D(16)), ("relu1", ReLU()),
    ]
    var channels = 16
    for (stage, width) in [16, 32, 64].enumerated() {
      for b in 0..<blocks {
        let stride = stage > 0 && b == 0 ? 2 : 1
        let body: [(String, any Layer)] = [
          ("conv1", Conv2D(channels, width, kernelSize: 3, stride: stride, padding: 1, bias: false, rng: rng)), ("bn1", BatchNorm2D(width)),
          ("relu1", ReLU()),
          ("conv2", Conv2D(width, width, kernelSize: 3, padding: 1, bias: false, rng: rng)), ("bn2", BatchNorm2D(width)),
        ]
        let shortcut: [(String, any Layer)]? = stride != 1 || channels != width
          ? [("0", Conv2D(channels, width, kernelSize: 1, stride: stride, bias: false, rng: rng)), ("1", BatchNorm2D(width))] : nil
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

  public static func vggLike(width: Double = 1, inputChannels: Int = 3, classes: Int = 10, rng: RandomSource) -> Sequential {
    precondition(width > 0 && width <= 4, "VGG width multiplier must be in (0, 4], got \(width)")
    func scaled(_ c: Int) -> Int { max(1, Int((Double(c) * width).rounded())) }
    var layers: [(String, any Layer)] = []
    var channels = inputChannels, conv = 0, pool = 0
    for entry in vgg16 {
      if let c = entry {
        conv += 1
        layers += [
          ("conv\(conv)", Conv2D(channels, scaled(c), kernelSize: 3, padding: 1, bias: false, rng: rng)), ("bn\(conv)", BatchNorm2D(scaled(c))),
          ("relu\(conv)", ReLU()),
        ]
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
