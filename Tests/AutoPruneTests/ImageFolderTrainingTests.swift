import AutoPrune
import AutoPruneNN
import Foundation
import XCTest

/// Training from an image folder of JPEG and PNG files with a corrupt file among them: one step
/// of each ImageNet network, reproducible batches made ahead, class names in the weights file.
final class ImageFolderTrainingTests: XCTestCase {
  var root: String!

  /// 24 training and 6 validation images of 3 classes (JPEG and PNG alternating where
  /// libturbojpeg is installed, PNG otherwise) and one corrupt `.jpg` in class 1.
  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("autoprune-train-folder-\(UUID().uuidString)").path
    let rng = RandomSource(seed: 4)
    let pixels = (0..<(30 * 3 * 20 * 20)).map { _ in UInt8(rng.below(256)) }
    let data = ImageDataset(pixels: pixels, labels: (0..<30).map { $0 % 3 }, channels: 3, height: 20, width: 20, classes: 3)
    let format: ImageFolderWriter.Format = TurboJPEG.shared == nil ? .png : .mixed
    try ImageFolderWriter.write(train: data.prefix(24), validation: ImageDataset(
      pixels: Array(pixels[(24 * 1200)...]), labels: Array(data.labels[24...]), channels: 3, height: 20, width: 20, classes: 3),
      to: root, size: 40, format: format)
    try Data([0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 0x4A, 0x46]).write(to: URL(fileURLWithPath: root + "/train/1/corrupt.jpg"))
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(atPath: root) }

  func splits(size: Int) throws -> (ImageFolderDataset, ImageFolderDataset, LockedNames) {
    let folder = try ImageFolder(root: root)
    let skipped = LockedNames()
    return (ImageFolderDataset(folder, training: true, size: size, onSkip: { skipped.append("\($0)") }),
            ImageFolderDataset(folder, training: false, size: size), skipped)
  }

  func testOneStepOfEveryImageNetNetwork() throws {
    let (train, test, skipped) = try splits(size: 32)
    XCTAssertEqual(train.count, 25)
    for kind in ModelKind.imageNet {
      var config = TrainingConfig()
      config.batchSize = 25
      config.learningRate = 0.01
      let run = try PruningRun(kind, train: train, test: test, config: config, width: kind == .mobilenetv2 ? 0.35 : 1)
      XCTAssertEqual(run.model.inputShape, [3, 32, 32])
      XCTAssertEqual(run.model.classes, 3)
      let before = run.model.parameters.map(\.value.storage)
      let reports = try run.trainDense(epochs: 1)
      XCTAssertEqual(reports.count, 1)
      XCTAssertTrue(reports[0].trainLoss.isFinite && reports[0].testLoss.isFinite, "\(kind)")
      XCTAssertNotEqual(run.model.parameters.map(\.value.storage), before, "\(kind) did not change")
    }
    XCTAssertEqual(skipped.items.count, 1, "\(skipped.items)")
    XCTAssertTrue(skipped.items[0].contains("corrupt.jpg"), skipped.items[0])
  }

  /// Batches are made one ahead on another thread: two runs with one seed give the same weights.
  func testPrefetchedTrainingIsReproducible() throws {
    func trained() throws -> [[Float]] {
      let (train, test, _) = try splits(size: 16)
      let rng = RandomSource(seed: 2)
      let model = Model(network: Sequential([
        ("conv", Conv2D(3, 4, kernelSize: 3, rng: rng)), ("relu", ReLU()), ("pool", GlobalAvgPool2D()), ("fc", Dense(4, 3, rng: rng)),
      ]), inputShape: [3, 16, 16], name: "tiny")
      var config = TrainingConfig()
      config.batchSize = 4
      let run = try PruningRun(model: model, train: train, test: test, config: config)
      try run.trainDense(epochs: 2)
      return model.parameters.map(\.value.storage)
    }
    XCTAssertEqual(try trained(), try trained())
  }

  func testWeightsRecordTheClassNamesAndRefuseAnotherFolder() throws {
    let (train, test, _) = try splits(size: 32)
    var config = TrainingConfig()
    config.batchSize = 25
    let run = try PruningRun(.resnet18, train: train, test: test, config: config)
    let path = root + "/model.safetensors"
    try run.save(to: path)
    XCTAssertEqual(try WeightsFile.classNames(path: path), ["0", "1", "2"])
    let loaded = try XCTUnwrap(WeightsFile.loadModel(path: path, kind: nil))
    XCTAssertEqual(loaded.model.inputShape, [3, 32, 32])
    XCTAssertEqual(loaded.model.classes, 3)
    let other = ImageFolderDataset(
      paths: train.paths, labels: train.labels, classNames: ["cat", "dog", "emu"], transform: ImageFolderTransform(size: 32, training: false))
    XCTAssertThrowsError(try WeightsFile.checkClassNames(path: path, against: other)) { error in
      XCTAssertTrue("\(error)".contains("cat, dog, emu"), "\(error)")
    }
  }
}

/// Names appended to from decoding threads.
final class LockedNames: @unchecked Sendable {
  private let lock = NSLock()
  private var list: [String] = []
  func append(_ s: String) { lock.withLock { list.append(s) } }
  var items: [String] { lock.withLock { list } }
}
