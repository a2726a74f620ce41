import AutoPrune
import AutoPruneNN
import XCTest

/// torchvision's architectures: parameter counts exactly torchvision's, multiply-adds at
/// 224 × 224 the published ones, names torchvision's, and a training step at small input sizes.
final class ImageNetModelTests: XCTestCase {
  func testParameterCountsAndMultiplyAddsAreTorchvisions() {
    let rng = RandomSource(seed: 1)
    // (model, torchvision's parameter count, published multiply-adds in G at 224 × 224)
    let cases: [(Model, Int, Double)] = [
      (ImageNetModels.alexnet(rng: rng), 61_100_840, 0.71), (ImageNetModels.resnet(depth: 18, rng: rng), 11_689_512, 1.82),
      (ImageNetModels.resnet(depth: 50, rng: rng), 25_557_032, 4.1), (ImageNetModels.mobilenetV2(rng: rng), 3_504_872, 0.30),
    ]
    for (model, parameters, gigaMACs) in cases {
      XCTAssertEqual(model.parameterCount, parameters, model.name)
      let macs = Double(model.network.multiplyAdds(for: model.inputShape)) / 1e9
      XCTAssertEqual(macs, gigaMACs, accuracy: 0.015 * gigaMACs + 0.005, model.name)
      XCTAssertEqual(model.network.outputShape(for: model.inputShape), [1000], model.name)
      XCTAssertNil(model.network.shapeProblem(for: model.inputShape), model.name)
    }
  }

  func testParameterNamesAreTorchvisions() {
    let rng = RandomSource(seed: 2)
    let resnet = Set(ImageNetModels.resnet(depth: 50, rng: rng).parameters.map(\.name))
    for name in ["conv1.weight", "bn1.weight", "layer1.0.conv3.weight", "layer1.0.downsample.0.weight", "layer1.0.downsample.1.bias",
                 "layer4.2.bn3.bias", "fc.weight"] {
      XCTAssertTrue(resnet.contains(name), name)
    }
    XCTAssertFalse(resnet.contains("layer1.1.downsample.0.weight"), "only the first block of a stage projects")
    let mobile = ImageNetModels.mobilenetV2(rng: rng)
    let names = Set(mobile.parameters.map(\.name))
    for name in ["features.0.0.weight", "features.0.1.weight", "features.1.conv.0.0.weight", "features.1.conv.1.weight",
                 "features.2.conv.1.0.weight", "features.2.conv.3.bias", "features.3.conv.2.weight", "features.18.0.weight", "classifier.1.weight"] {
      XCTAssertTrue(names.contains(name), name)
    }
    XCTAssertEqual(mobile.parameter(named: "features.2.conv.1.0.weight")?.shape, [96, 1, 3, 3], "depthwise, torchvision's layout")
    let alex = Set(ImageNetModels.alexnet(rng: rng).parameters.map(\.name))
    XCTAssertEqual(alex, Set(["features.0", "features.3", "features.6", "features.8", "features.10", "classifier.1", "classifier.4", "classifier.6"]
      .flatMap { ["\($0).weight", "\($0).bias"] }))
    // The width multiplier rounds to multiples of 8 as torchvision does (0.5: 1,968,680 parameters).
    XCTAssertEqual(ImageNetModels.mobilenetV2(width: 0.5, rng: rng).parameterCount, 1_968_680)
  }

  /// Small images get the stems CIFAR versions use: the last feature map stays at least 4 × 4
  /// (ResNet: no max-pool from 64 px, a 3 × 3 stride-1 conv1 below; MobileNetV2: a stride-1 stem
  /// from 64, and a stride-1 first 24-channel block below; AlexNet: a 5 × 5 stride-2 first layer).
  func testSmallInputsKeepAFeatureMapOfAtLeastFourPixels() throws {
    let rng = RandomSource(seed: 1)
    for size in [32, 48, 64, 128] {
      for kind in [ModelKind.resnet18, .resnet50, .mobilenetv2] {
        let model = Model(kind, rng: rng, width: kind == .mobilenetv2 ? 0.35 : 1, inputSize: size, classes: 10)
        XCTAssertNil(model.network.shapeProblem(for: model.inputShape), "\(kind) at \(size)")
        // The shape reaching global pooling: the network up to its `avgpool`.
        var shape = model.inputShape
        for (name, layer) in model.network.layers {
          if name == "avgpool" { break }
          shape = layer.outputShape(for: shape)
        }
        XCTAssertGreaterThanOrEqual(shape[1], min(4, size / 32), "\(kind) at \(size): \(shape)")
        XCTAssertLessThanOrEqual(shape[1], max(4, size / 32) + 3, "\(kind) at \(size): \(shape)")
        XCTAssertEqual(model.classes, 10)
      }
      let alexnet = Model(.alexnet, rng: rng, inputSize: size, classes: 10)
      XCTAssertNil(alexnet.network.shapeProblem(for: alexnet.inputShape), "alexnet at \(size)")
    }
    XCTAssertEqual(Model(.resnet18, rng: rng, inputSize: 32).parameter(named: "conv1.weight")?.shape, [64, 3, 3, 3])
    XCTAssertEqual(Model(.resnet18, rng: rng, inputSize: 64).parameter(named: "conv1.weight")?.shape, [64, 3, 7, 7])
    XCTAssertEqual(Model(.alexnet, rng: rng, inputSize: 64).parameter(named: "features.0.weight")?.shape, [64, 3, 5, 5])
    // Parameter counts of the torchvision networks do not depend on the image size.
    XCTAssertEqual(Model(.mobilenetv2, rng: rng, inputSize: 64).parameterCount, 3_504_872)
    XCTAssertEqual(Model(.resnet50, rng: rng, inputSize: 128).parameterCount, 25_557_032)
  }

  /// One training step of each at a small input size (the stems stride by 32: 32 × 32 leaves
  /// 1 × 1 before pooling; AlexNet needs 63 at least).
  func testEachTrainsAStepAtSmallInputs() throws {
    let rng = RandomSource(seed: 3)
    for model in [ImageNetModels.alexnet(classes: 10, inputSize: 64, rng: rng), ImageNetModels.resnet(depth: 18, classes: 10, inputSize: 32, adaptStem: false, rng: rng),
                  ImageNetModels.resnet(depth: 50, classes: 10, inputSize: 32, adaptStem: false, rng: rng), ImageNetModels.mobilenetV2(width: 0.35, classes: 10, inputSize: 32, adaptStem: false, rng: rng)] {
      let count = 2 * model.inputShape.reduce(1, *)
      let x = Tensor(shape: [2] + model.inputShape, values: (0..<count).map { _ in rng.uniform(-1, 1) })
      var config = TrainingConfig()
      config.learningRate = 0.01
      let trainer = Trainer(model: model, config: config, normalization: Normalization(mean: 0, std: 1), rng: rng)
      let before = model.parameters[0].value
      let step = try trainer.step(images: x, labels: [3, 7])
      XCTAssertTrue(step.loss.isFinite, model.name)
      XCTAssertNotEqual(model.parameters[0].value, before, "\(model.name): the stem learned")
    }
  }

  /// Unit gates through MobileNetV2: a depthwise layer's filter gates are tied with the gates of
  /// the expansion feeding it (a depthwise channel lives and dies with its input channel), and
  /// a short AutoPrune run with a FLOPs budget leaves a network whose report and thinned form
  /// agree and compute the same.
  func testMobileNetV2PrunesByUnitsThroughDepthwiseLayers() throws {
    let rng = RandomSource(seed: 6)
    let model = ImageNetModels.mobilenetV2(width: 0.35, classes: 10, inputSize: 32, adaptStem: false, rng: rng)
    func images(_ n: Int) -> ImageDataset {
      ImageDataset(pixels: (0..<(n * 3 * 32 * 32)).map { _ in UInt8(rng.below(256)) }, labels: (0..<n).map { $0 % 10 },
                   channels: 3, height: 32, width: 32, classes: 10)
    }
    var config = TrainingConfig()
    config.batchSize = 8
    let run = try PruningRun(model: model, train: images(32), test: images(8), config: config, rng: rng)
    var settings = PruningSettings()
    settings.granularity = .unit
    settings.autoprune.targetKeptFraction = 0.6
    settings.autoprune.targetIsFLOPs = true
    let outcome = try run.prune(method: "autoprune", settings: settings, epochs: 4, finetuneEpochs: 0)
    let pruning = try XCTUnwrap(run.method as? AutoPrunePruning)
    XCTAssertTrue(pruning.groups.contains { group in
      Set(group.members.map(\.layerName)).isSuperset(of: ["features.2.conv.0.0", "features.2.conv.1.0"])
    }, "the depthwise gates are tied with the expansion's")
    XCTAssertLessThan(outcome.report.flopsFraction, 0.95)
    let thinned = try Thinning.thin(model)
    XCTAssertEqual(outcome.report.layers.map(\.aliveUnits), thinned.units.map(\.kept))
    let x = Tensor(shape: [2, 3, 32, 32], values: (0..<(2 * 3 * 1024)).map { _ in rng.uniform(-1, 1) })
    let expected = model.network.forward(x, context: .inference), got = thinned.network.forward(x, context: .inference)
    XCTAssertLessThan(zip(got.storage, expected.storage).map { abs($0 - $1) }.max() ?? 1, 1e-4 * max(1, expected.storage.map(abs).max() ?? 1))
  }
}
