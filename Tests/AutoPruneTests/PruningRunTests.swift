import AutoPrune
import AutoPruneNN
import Foundation
import XCTest

/// The library-first API: an experiment from Swift without the command line.
final class PruningRunTests: XCTestCase {
  private var root: URL!

  override func setUpWithError() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  }

  override func tearDownWithError() throws { try? FileManager.default.removeItem(at: root) }

  private func bundled() throws -> (train: ImageDataset, test: ImageDataset) {
    let (train, test) = try MNISTFormat.load(directory: try XCTUnwrap(BundledData.directory))
    return (train.prefix(400), test.prefix(100))
  }

  /// A network of the caller's own (not a built-in kind) with a custom name.
  private func smallConvNet(seed: UInt64) -> Model {
    let rng = RandomSource(seed: seed)
    return Model(network: Sequential([
      ("stem", Conv2D(1, 6, kernelSize: 5, rng: rng)), ("relu1", ReLU()), ("pool", MaxPool2D(2)),
      ("flatten", Flatten()), ("hidden", Dense(6 * 12 * 12, 32, rng: rng)), ("relu2", ReLU()), ("head", Dense(32, 10, rng: rng)),
    ]), inputShape: [1, 28, 28], name: "tiny-cnn")
  }

  func testAnOpenModelPrunesSavesAndReloadsWithItsGates() throws {
    let (train, test) = try bundled()
    let model = smallConvNet(seed: 3)
    XCTAssertNil(model.kind)
    XCTAssertTrue(model.isChain)
    let run = try PruningRun(model: model, train: train, test: test, logDirectory: root.appendingPathComponent("log").path)
    var epochs: [String] = []
    run.onEpoch = { epochs.append("\($0.phase) \($0.report.epoch)") }
    try run.trainDense(epochs: 1)
    var settings = PruningSettings()
    settings.autoprune.mu = 0.3
    let outcome = try run.prune(method: "autoprune", settings: settings, epochs: 3, finetuneEpochs: 1)
    XCTAssertEqual(epochs, ["dense 1", "prune 1", "prune 2", "prune 3", "finetune 1"])
    XCTAssertGreaterThan(outcome.report.compression, 1.5, "μ 0.3 prunes")
    XCTAssertEqual(outcome.report.layers.map(\.name), ["stem", "hidden", "head"])

    let path = root.appendingPathComponent("tiny.safetensors").path
    try run.save(to: path)
    let file = try SafeTensors.read(path: path)
    XCTAssertEqual(file.metadata["model"], "tiny-cnn")
    XCTAssertEqual(file.metadata["method"], "autoprune")
    XCTAssertNotNil(file.tensor(named: "gate.stem.element"), "the gate state is saved")
    let copy = smallConvNet(seed: 9)
    XCTAssertEqual(try WeightsFile.load(into: copy, from: path), run.normalization)
    for (a, b) in zip(model.parameters, copy.parameters) {
      XCTAssertEqual(a.value, b.value)
      XCTAssertEqual(a.gate?.mask(for: a), b.gate?.mask(for: b), a.name)
    }
    XCTAssertEqual(PruningReport(layers: PrunableLayer.discover(in: copy)).keptWeights, outcome.report.keptWeights)
    // Another architecture (or name) is refused by name.
    XCTAssertThrowsError(try WeightsFile.load(into: Model(.lenet5, rng: RandomSource(seed: 1)), from: path)) {
      XCTAssertEqual($0 as? WeightsError, .wrongModel(path, fileModel: "tiny-cnn", expected: "lenet5"))
    }
    // The run directory reads back as typed records.
    let summary = try run.writeSummary(outcome: outcome, out: path)
    let read = try RunRecordCoding.decode(
      RunSummary.self, from: Data(contentsOf: root.appendingPathComponent("log/summary.json")), path: "summary.json")
    XCTAssertEqual(read, summary)
    XCTAssertEqual(read.model, "tiny-cnn")
    XCTAssertEqual(read.perLayer?.map(\.name), ["stem", "hidden", "head"])
  }

  func testDataOfAnotherShapeIsRefusedBeforeAnyWork() throws {
    let (train, test) = try bundled()
    XCTAssertThrowsError(try PruningRun(.resnet20, train: train, test: test)) {
      XCTAssertTrue("\($0)".contains("resnet20 takes 1×32×32 images; the data has 1×28×28"), "\($0)")
    }
  }

  func testEveryStandardMethodIsBuiltByName() throws {
    let registry = PruningMethodRegistry.standard
    XCTAssertEqual(registry.names, [
      "autoprune", "magnitude", "magnitude-layerwise", "iterative", "gradual", "dns", "random", "scratch", "l0", "targeted-dropout",
    ])
    let masks = root.appendingPathComponent("masks.safetensors").path
    let source = Model(.lenet300, rng: RandomSource(seed: 1))
    MagnitudePruning(model: source).prune(toSparsity: 0.8, scope: .global)
    try WeightsFile.save(source, normalization: Normalization(mean: 0, std: 1), to: masks)
    var settings = PruningSettings()
    settings.sparsity = 0.8
    settings.masksFrom = masks
    for name in registry.names {
      let model = Model(.lenet300, rng: RandomSource(seed: 1))
      let method = try registry.make(name, model: model, settings: settings)
      XCTAssertEqual(method.layers.map(\.name), ["fc1", "fc2", "fc3"], name)
      XCTAssertFalse(method.summary.isEmpty, name)
    }
    XCTAssertThrowsError(try registry.make("prune-it", model: source, settings: settings)) {
      XCTAssertTrue("\($0)".contains("unknown method prune-it (known: autoprune, magnitude"), "\($0)")
    }
    settings.sparsity = nil
    XCTAssertThrowsError(try registry.make("gradual", model: source, settings: settings)) {
      XCTAssertTrue("\($0)".contains("needs a sparsity"), "\($0)")
    }
    settings.sparsity = 1
    XCTAssertThrowsError(try registry.make("magnitude", model: source, settings: settings)) {
      XCTAssertTrue("\($0)".contains("(0, 1)"), "\($0)")
    }
  }

  func testARegisteredMethodRunsLikeABuiltInOne() throws {
    let (train, test) = try bundled()
    var registry = PruningMethodRegistry.standard
    registry.register(.init(name: "half", help: "layer-wise magnitude at 50%", needsSparsity: false) { model, _ in
      MagnitudeBaseline(model: model, kind: .oneShot(.layerwise), targetSparsity: 0.5)
    })
    XCTAssertEqual(registry.names.last, "half")
    let run = try PruningRun(.lenet300, train: train, test: test)
    let outcome = try run.prune(method: "half", registry: registry, epochs: 1, finetuneEpochs: 0)
    XCTAssertEqual(outcome.report.keptFraction, 0.5, accuracy: 0.01)
    XCTAssertEqual(outcome.method, "half")
  }

  func testGatePlansParseAndAreCheckedAgainstTheModel() throws {
    let plan = try GatePlan(parsing: "fc1=input+output,fc2=element")
    XCTAssertEqual(plan.axes, ["fc1": [.input, .output], "fc2": [.element]])
    for (text, message) in [
      ("", "empty"), ("fc1", "not NAME=AXES"), ("=output", "not NAME=AXES"), ("fc1=", "not NAME=AXES"),
      ("fc1=rows", "unknown axis 'rows'"), ("fc1=output,fc1=input", "named twice"), ("fc1=output+", "unknown axis ''"),
    ] {
      XCTAssertThrowsError(try GatePlan(parsing: text), text) { XCTAssertTrue("\($0)".contains(message), "\(text): \($0)") }
    }
    let model = Model(.lenet300, rng: RandomSource(seed: 1))
    XCTAssertNoThrow(try plan.check(against: model))
    XCTAssertThrowsError(try GatePlan(parsing: "conv9=output").check(against: model)) {
      XCTAssertEqual("\($0)", "lenet300 has no prunable layer conv9 (it has fc1, fc2, fc3)")
    }
  }

  /// A loop of one's own over `Trainer.step` gives the weights `fit` gives.
  func testOwnLoopOfStepsEqualsFit() throws {
    let (train, test) = try bundled()
    var config = TrainingConfig()
    config.schedule = .constant
    config.epochs = 1
    func model() -> Model { Model(.lenet300, rng: RandomSource(seed: 4)) }
    let normalization = Normalization.fitted(to: train)
    let fitted = model()
    let report = try Trainer(model: fitted, config: config, normalization: normalization, rng: RandomSource(seed: 5)).fit(train: train, test: test)
    let looped = model(), rng = RandomSource(seed: 5)
    let trainer = Trainer(model: looped, config: config, normalization: normalization, rng: rng)
    var correct = 0
    for indices in Batcher(count: train.count, batchSize: config.batchSize).epoch(rng: rng) {
      let (x, y) = train.batch(indices, normalization: normalization)
      correct += try trainer.step(images: x, labels: y).correct
    }
    XCTAssertEqual(Float(correct) / Float(train.count), report[0].trainAccuracy)
    for (a, b) in zip(fitted.parameters, looped.parameters) { XCTAssertEqual(a.value, b.value, a.name) }
  }

  /// Files of earlier versions (explicit nulls, extra keys) and partial log lines still read;
  /// figures out of range and wrong types are named.
  func testRunRecordsReadOldFilesAndNameBadOnes() throws {
    let old = #"{"command":"prune","dense_test_accuracy":null,"eta_m":null,"test_accuracy":0.9,"compression":12.5,"per_layer":[{"name":"fc1","weights":10,"kept_weights":2}],"future_key":[1]}"#
    let summary = try RunRecordCoding.decode(RunSummary.self, from: Data(old.utf8), path: "s.json")
    XCTAssertNil(summary.denseTestAccuracy)
    XCTAssertEqual(summary.compression, 12.5)
    XCTAssertEqual(summary.perLayer?.first?.keptWeights, 2)
    let line = try RunRecordCoding.decode(EpochRecord.self, from: Data(#"{"phase":"dense","epoch":1,"test_accuracy":0.8}"#.utf8), path: "l")
    XCTAssertEqual(line.testAccuracy, 0.8)
    XCTAssertNil(line.loss)
    for (text, message) in [
      (#"{"test_accuracy":1.5}"#, "test_accuracy = 1.5 is not a valid value"), (#"{"model":3}"#, "model has the wrong type"),
      ("[1]", "not a JSON object"),
    ] {
      XCTAssertThrowsError(try RunRecordCoding.decode(RunSummary.self, from: Data(text.utf8), path: "s.json")) {
        XCTAssertTrue("\($0)".contains(message), "\(text): \($0)")
      }
    }
    XCTAssertThrowsError(try RunRecordCoding.decode(EpochRecord.self, from: Data(#"{"epoch":1}"#.utf8), path: "l")) {
      XCTAssertTrue("\($0)".contains("phase is missing"), "\($0)")
    }
    // Written keys are the documented snake_case ones (docs/run-log.md), figures in their
    // shortest decimal form.
    var written = RunSummary()
    written.denseTestAccuracy = Double(shortest: Float(0.644))
    written.peakRssMib = 12
    let text = String(decoding: try RunRecordCoding.line(written), as: UTF8.self)
    XCTAssertEqual(text, #"{"dense_test_accuracy":0.644,"peak_rss_mib":12}"#)
  }
}

/// Mistakes a library user makes are thrown errors naming the problem, before any work: the
/// layers themselves trap on shapes that would read outside their buffers.
final class PruningRunMistakeTests: XCTestCase {
  private func data() throws -> (train: ImageDataset, test: ImageDataset) {
    let (train, test) = try MNISTFormat.load(directory: try XCTUnwrap(BundledData.directory))
    return (train.prefix(200), test.prefix(50))
  }

  private func expect(_ message: String, _ body: () throws -> Void, line: UInt = #line) {
    XCTAssertThrowsError(try body(), line: line) { XCTAssertTrue("\($0)".contains(message), "\($0)", line: line) }
  }

  func testNetworksThatDoNotFitTheirDataAreRefused() throws {
    let (train, test) = try data()
    let rng = RandomSource(seed: 1)
    func model(_ layers: [(String, any Layer)], input: [Int] = [1, 28, 28]) -> Model { Model(network: Sequential(layers), inputShape: input, name: "mine") }
    // Fewer outputs than classes (labels would index past the logits).
    expect("the last layer needs one output per class") {
      _ = try PruningRun(model: model([("flatten", Flatten()), ("fc", Dense(784, 5, rng: rng))]), train: train, test: test)
    }
    // A dense layer of the wrong width, a convolution of the wrong channels.
    expect("fc (Dense) takes 800 features, gets 784") {
      _ = try PruningRun(model: model([("flatten", Flatten()), ("fc", Dense(800, 10, rng: rng))]), train: train, test: test)
    }
    expect("fc (Dense) takes 20 features, gets 1×28×28 = 784") {
      _ = try PruningRun(model: model([("fc", Dense(20, 10, rng: rng))]), train: train, test: test)
    }
    expect("conv (Conv2D 3→4, 3×3) gets 1×28×28") {
      _ = try PruningRun(model: model([("conv", Conv2D(3, 4, kernelSize: 3, rng: rng)), ("flatten", Flatten()), ("fc", Dense(2704, 10, rng: rng))]), train: train, test: test)
    }
    // Two layers of one name (their optimizer state would be one buffer).
    expect("two parameters are named fc.weight") {
      _ = try PruningRun(model: model([("flatten", Flatten()), ("fc", Dense(784, 32, rng: rng)), ("relu", ReLU()), ("fc", Dense(32, 10, rng: rng))]), train: train, test: test)
    }
    var config = TrainingConfig()
    config.batchSize = 0
    expect("batch size must be at least 1") { _ = try PruningRun(.lenet300, train: train, test: test, config: config) }
    let run = try PruningRun(.lenet300, train: train, test: test)
    expect("0 or more epochs") { try run.trainDense(epochs: -3) }
    var settings = PruningSettings()
    settings.autoprune.mu = .nan
    expect("autoprune: μ must be a finite number") { try run.prune(method: "autoprune", settings: settings, epochs: 1, finetuneEpochs: 0) }
    settings = PruningSettings()
    settings.autoprune.targetKeptFraction = -0.5
    expect("target kept fraction must be in (0, 1)") { try run.prune(method: "autoprune", settings: settings, epochs: 1, finetuneEpochs: 0) }
    settings = PruningSettings()
    settings.gatePlan = GatePlan(["fc1": []])
    expect("gates no layer") { try run.prune(method: "autoprune", settings: settings, epochs: 1, finetuneEpochs: 0) }
    let empty = try PruningRun(model: model([("flatten", Flatten())]), train: train, test: test)
    expect("no Dense or Conv2D layer to prune") { try empty.prune(method: "magnitude", epochs: 1, finetuneEpochs: 0) }
  }
}
