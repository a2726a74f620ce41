import AutoPruneNN

/// The paper's ImageNet networks with torchvision's exact architectures and parameter names
/// (`features.0.weight`, `layer1.0.downsample.0.weight`, `features.2.conv.1.0.weight`), so a
/// torchvision state dict saved as safetensors loads into them. Each returns an open `Model`;
/// the layers are one flat list per block (names carry the nesting), so pruning, accounting,
/// thinning and export walk them like the CIFAR networks.
public enum ImageNetModels {
  /// A convolution followed by a BatchNorm that closes its pruned filters, as `name.0`/`name.1`
  /// or under the names given.
  static func convBN(
    _ convName: String, _ bnName: String, _ input: Int, _ output: Int, kernel: Int, stride: Int = 1, padding: Int = 0, rng: RandomSource
  ) -> [(String, any Layer)] {
    let conv = Conv2D(input, output, kernelSize: kernel, stride: stride, padding: padding, bias: false, rng: rng)
    let bn = BatchNorm2D(output)
    bn.channelSource = conv.weight
    return [(convName, conv), (bnName, bn)]
  }

  /// How many stride-2 steps of the stem a network drops for small images, so the last feature
  /// map stays at least 4 × 4 (the ImageNet networks divide their input by 32): none from 128
  /// pixels up, one from 64, two below — what CIFAR versions of these networks do (kuangliu's
  /// pytorch-cifar ResNet-18 and MobileNetV2 at 32, for instance).
  public static func droppedStemStrides(inputSize: Int) -> Int { inputSize >= 128 ? 0 : inputSize >= 64 ? 1 : 2 }

  /// AlexNet (torchvision's, one GPU column: 64-192-384-256-256 filters), 61,100,840 parameters
  /// at 1000 classes, 0.71 G multiply-adds at 224 × 224. Below 128 pixels (with `adaptStem`) the
  /// 11 × 11 stride-4 first layer becomes 5 × 5 with stride 2 (the adaptive pooling to 6 × 6
  /// then takes any size from 32 up).
  public static func alexnet(classes: Int = 1000, inputSize: Int = 224, inputChannels: Int = 3, adaptStem: Bool = true, rng: RandomSource) -> Model {
    let small = adaptStem && droppedStemStrides(inputSize: inputSize) > 0
    let first = small
      ? Conv2D(inputChannels, 64, kernelSize: 5, stride: 2, padding: 2, rng: rng)
      : Conv2D(inputChannels, 64, kernelSize: 11, stride: 4, padding: 2, rng: rng)
    let layers: [(String, any Layer)] = [
      ("features.0", first), ("features.1", ReLU()),
      ("features.2", MaxPool2D(3, stride: 2)),
      ("features.3", Conv2D(64, 192, kernelSize: 5, padding: 2, rng: rng)), ("features.4", ReLU()),
      ("features.5", MaxPool2D(3, stride: 2)),
      ("features.6", Conv2D(192, 384, kernelSize: 3, padding: 1, rng: rng)), ("features.7", ReLU()),
      ("features.8", Conv2D(384, 256, kernelSize: 3, padding: 1, rng: rng)), ("features.9", ReLU()),
      ("features.10", Conv2D(256, 256, kernelSize: 3, padding: 1, rng: rng)), ("features.11", ReLU()),
      ("features.12", MaxPool2D(3, stride: 2)),
      ("avgpool", AdaptiveAvgPool2D(6, 6)), ("flatten", Flatten()),
      ("classifier.0", Dropout(0.5)), ("classifier.1", Dense(256 * 36, 4096, rng: rng)), ("classifier.2", ReLU()),
      ("classifier.3", Dropout(0.5)), ("classifier.4", Dense(4096, 4096, rng: rng)), ("classifier.5", ReLU()),
      ("classifier.6", Dense(4096, classes, rng: rng)),
    ]
    return Model(network: Sequential(layers), inputShape: [inputChannels, inputSize, inputSize], name: "alexnet")
  }

  /// ResNet-18 (basic blocks 2-2-2-2, 11,689,512 parameters, 1.82 G multiply-adds) or ResNet-50
  /// (bottlenecks 3-4-6-3, 25,557,032 parameters, 4.1 G), torchvision's v1.5 (the stride of a
  /// bottleneck in its 3 × 3 convolution): 7 × 7 stem with stride 2 and a 3 × 3 max-pool, four
  /// stages at 64…512 (×4 for bottlenecks) channels, global average pooling, fc. For small
  /// images (with `adaptStem`, `droppedStemStrides`): from 64 to 127 pixels no max-pool; below
  /// 64 also a 3 × 3 stride-1 `conv1` (the CIFAR ResNet-18).
  public static func resnet(depth: Int, classes: Int = 1000, inputSize: Int = 224, inputChannels: Int = 3, adaptStem: Bool = true, rng: RandomSource) -> Model {
    precondition(depth == 18 || depth == 50, "ResNet-18 or ResNet-50")
    let bottleneck = depth == 50
    let blocks = bottleneck ? [3, 4, 6, 3] : [2, 2, 2, 2]
    let expansion = bottleneck ? 4 : 1
    let dropped = adaptStem ? droppedStemStrides(inputSize: inputSize) : 0
    var layers: [(String, any Layer)] = dropped >= 2
      ? convBN("conv1", "bn1", inputChannels, 64, kernel: 3, stride: 1, padding: 1, rng: rng)
      : convBN("conv1", "bn1", inputChannels, 64, kernel: 7, stride: 2, padding: 3, rng: rng)
    layers.append(("relu", ReLU()))
    if dropped == 0 { layers.append(("maxpool", MaxPool2D(3, stride: 2, padding: 1))) }
    var channels = 64
    for (stage, count) in blocks.enumerated() {
      let width = 64 << stage
      for b in 0..<count {
        let stride = stage > 0 && b == 0 ? 2 : 1
        var body: [(String, any Layer)]
        if bottleneck {
          body = convBN("conv1", "bn1", channels, width, kernel: 1, rng: rng) + [("relu1", ReLU())]
          body += convBN("conv2", "bn2", width, width, kernel: 3, stride: stride, padding: 1, rng: rng) + [("relu2", ReLU())]
          body += convBN("conv3", "bn3", width, width * expansion, kernel: 1, rng: rng)
        } else {
          body = convBN("conv1", "bn1", channels, width, kernel: 3, stride: stride, padding: 1, rng: rng) + [("relu1", ReLU())]
          body += convBN("conv2", "bn2", width, width, kernel: 3, padding: 1, rng: rng)
        }
        let downsample = stride != 1 || channels != width * expansion
          ? convBN("0", "1", channels, width * expansion, kernel: 1, stride: stride, rng: rng) : nil
        layers.append(("layer\(stage + 1).\(b)", Residual(body, shortcut: downsample, shortcutName: "downsample")))
        layers.append(("layer\(stage + 1).\(b).relu", ReLU()))
        channels = width * expansion
      }
    }
    layers += [("avgpool", GlobalAvgPool2D()), ("fc", Dense(channels, classes, rng: rng))]
    return Model(network: Sequential(layers), inputShape: [inputChannels, inputSize, inputSize], name: "resnet\(depth)")
  }

  /// torchvision's `_make_divisible`: `value` rounded to a multiple of 8, never below 90% of it.
  static func divisible(_ value: Double) -> Int {
    var rounded = max(8, Int(value + 4) / 8 * 8)
    if Double(rounded) < 0.9 * value { rounded += 8 }
    return rounded
  }

  /// MobileNetV2 (Sandler et al.; torchvision's): a 3 × 3 stem with stride 2, 17 inverted
  /// residual blocks (1 × 1 expansion by t, depthwise 3 × 3, linear 1 × 1 projection; an
  /// identity shortcut where stride is 1 and the width stays), a 1 × 1 convolution to 1280, dropout
  /// and the classifier. Widths scale with `width` (0.35…1.4) rounded to multiples of 8; at width
  /// 1: 3,504,872 parameters, 0.30 G multiply-adds at 224 × 224. For small images (with
  /// `adaptStem`, `droppedStemStrides`): from 64 to 127 pixels the stem convolution has stride 1;
  /// below 64 the first 24-channel block too (kuangliu's CIFAR MobileNetV2).
  public static func mobilenetV2(
    width: Double = 1, classes: Int = 1000, inputSize: Int = 224, inputChannels: Int = 3, adaptStem: Bool = true, rng: RandomSource
  ) -> Model {
    let dropped = adaptStem ? droppedStemStrides(inputSize: inputSize) : 0
    let settings: [(t: Int, c: Int, n: Int, s: Int)] = [
      (1, 16, 1, 1), (6, 24, 2, dropped >= 2 ? 1 : 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
    ]
    var channels = divisible(32 * width)
    let last = divisible(1280 * max(1, width))
    var layers: [(String, any Layer)] = convBN(
      "features.0.0", "features.0.1", inputChannels, channels, kernel: 3, stride: dropped >= 1 ? 1 : 2, padding: 1, rng: rng)
    layers.append(("features.0.2", ReLU6()))
    var index = 1
    for (t, c, n, s) in settings {
      let output = divisible(Double(c) * width)
      for i in 0..<n {
        let stride = i == 0 ? s : 1, hidden = channels * t
        var body: [(String, any Layer)] = []
        var part = 0
        if t != 1 {
          body += convBN("conv.0.0", "conv.0.1", channels, hidden, kernel: 1, rng: rng) + [("conv.0.2", ReLU6())]
          part = 1
        }
        let depthwise = DepthwiseConv2D(channels: hidden, kernelSize: 3, stride: stride, padding: 1, bias: false, rng: rng)
        let depthwiseBN = BatchNorm2D(hidden)
        depthwiseBN.channelSource = depthwise.weight
        body += [("conv.\(part).0", depthwise), ("conv.\(part).1", depthwiseBN), ("conv.\(part).2", ReLU6())]
        body += convBN("conv.\(part + 1)", "conv.\(part + 2)", hidden, output, kernel: 1, rng: rng)
        if stride == 1 && channels == output {
          layers.append(("features.\(index)", Residual(body)))
        } else {
          layers += body.map { ("features.\(index).\($0.0)", $0.1) }
        }
        channels = output
        index += 1
      }
    }
    layers += convBN("features.\(index).0", "features.\(index).1", channels, last, kernel: 1, rng: rng) + [("features.\(index).2", ReLU6())]
    layers += [("avgpool", GlobalAvgPool2D()), ("classifier.0", Dropout(0.2)), ("classifier.1", Dense(last, classes, rng: rng))]
    return Model(network: Sequential(layers), inputShape: [inputChannels, inputSize, inputSize], name: "mobilenetv2")
  }
}
