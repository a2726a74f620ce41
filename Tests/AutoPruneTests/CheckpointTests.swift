import AutoPrune
import AutoPruneNN
import XCTest

/// Exact resume: a run stopped after a checkpoint and resumed from it ends bit-identical to a
/// run that never stopped, for every pruning method and for a stop in either phase.
final class CheckpointTests: XCTestCase {
  private var directory: URL!

  override func setUpWithError() throws {
    directory = FileManager.default.temporaryDirectory.appendingPathComponent("ckpt-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
  }

  override func tearDown() { try? FileManager.default.removeItem(at: directory) }

  /// 240 random 28×28 images whose label is set by which quarter is brightest (learnable).
  private func data(_ count: Int, seed: UInt64) -> ImageDataset {
    let rng = RandomSource(seed: seed)
    var pixels: [UInt8] = [], labels: [Int] = []
    for _ in 0..<count {
      let label = Int(rng.uniform() * 4) % 4
      for y in 0..<28 {
        for x in 0..<28 {
          let quarter = (y / 14) * 2 + x / 14
          pixels.append(UInt8(min(255, rng.uniform() * 120 + (quarter == label ? 120 : 0))))
        }
      }
      labels.append(label)
    }
    return ImageDataset(pixels: pixels, labels: labels, channels: 1, height: 28, width: 28, classes: 10)
  }

  private func method(_ name: String, on model: Model) throws -> any PruningMethod {
    switch name {
    case "autoprune":
      var options = AutoPruneOptions.stepClock
      options.mu = 3e-3
      options.auxiliaryMomentum = 0.5
      options.targetKeptFraction = 0.5
      return AutoPrunePruning(model: model, granularity: .weight, options: options)
    case "autoprune-unit":
      var options = AutoPruneOptions.stepClock
      options.mu = 1e-2
      options.muScale = .gradientRelative
      return AutoPrunePruning(model: model, granularity: .unit, options: options)
    case "autoprune-phase":  // the defaults: phase clock, budget landed at mid-phase then frozen
      var options = AutoPruneOptions()
      options.targetKeptFraction = 0.3
      return AutoPrunePruning(model: model, granularity: .weight, options: options)
    case "autoprune-phase-unit":
      return AutoPrunePruning(model: model, granularity: .unit, options: AutoPruneOptions())
    case "magnitude": return MagnitudeBaseline(model: model, kind: .oneShot(.global), targetSparsity: 0.8)
    case "iterative": return MagnitudeBaseline(model: model, kind: .iterative(rounds: 3), targetSparsity: 0.8)
    case "gradual": return MagnitudeBaseline(model: model, kind: .gradual(updatesPerEpoch: 3, epochs: 2), targetSparsity: 0.8)
    case "random": return MagnitudeBaseline(model: model, kind: .random(seed: 5), targetSparsity: 0.8)
    case "dns": return DynamicNetworkSurgery(model: model, c: 0.5)
    case "l0": return L0Pruning(model: model, perUnit: false, lambda: 1e-3, learningRate: 0.05)
    case "l0-unit": return L0Pruning(model: model, perUnit: true, lambda: 1e-3, learningRate: 0.05)
    case "targeted-dropout": return TargetedDropout(model: model, targetFraction: 0.7, dropRate: 0.5)
    default: throw UnknownMethod(name: name)
    }
  }

  private struct Stop: Error {}
  private struct UnknownMethod: Error { let name: String }

  /// Runs 1 dense + 3 prune + 2 fine-tune epochs (6 steps each), optionally with checkpoints
  /// every 4 steps, stopping (as a crash would) at the end of `stopAt`; returns every parameter
  /// and mask.
  private func run(
    _ name: String, checkpoints: Bool, resume: Bool, stopAt: (phase: String, epoch: Int)?, policy: CheckpointPolicy = .steps(4)
  ) throws -> [String: [Float]] {
    let train = data(240, seed: 1), test = data(60, seed: 2)
    var config = TrainingConfig()
    config.batchSize = 40
    config.seed = 11
    config.optimizer = .adam
    config.learningRate = 1e-3
    let rng = RandomSource(seed: config.seed)
    let model = Model(.lenet300, rng: rng)
    let normalization = Normalization.fitted(to: train)
    let resumed = resume ? try Checkpoint.read(directory: directory.path) : nil
    let session = try CheckpointSession(
      directory: checkpoints ? directory.path : nil, policy: policy, arguments: ["prune"], log: nil, resumed: resumed,
      stepsPerEpoch: 6, stages: [("dense", 1), ("prune", 3), ("finetune", 2)])
    try session.restoreModel(model.parameters, rng: rng)
    config.epochs = 1
    try DenseStage.run(Trainer(model: model, config: config, normalization: normalization, rng: rng), train: train, test: test, session: session) { r in
      if stopAt?.phase == "dense" && stopAt?.epoch == r.epoch { throw Stop() }
    }
    let pruning = try method(name, on: model)
    try PruningPhases.run(
      model: model, method: pruning, config: config, pruneEpochs: 3, finetuneEpochs: 2, learningRate: 0.01,
      train: train, test: test, normalization: normalization, rng: rng, session: session
    ) { phase, r in
      if stopAt?.phase == phase.rawValue && stopAt?.epoch == r.epoch { throw Stop() }
    }
    var result: [String: [Float]] = [:]
    for p in model.parameters {
      result[p.name] = p.value.storage
      result[p.name + ".effective"] = p.effective.storage
    }
    for (name, _, values) in pruning.state { result[name] = values }
    return result
  }

  func testEveryMethodResumesBitIdenticallyFromEitherPhase() throws {
    let methods = ["autoprune", "autoprune-unit", "autoprune-phase", "autoprune-phase-unit", "magnitude", "iterative", "gradual", "random", "dns", "l0", "l0-unit", "targeted-dropout"]
    // 6 steps an epoch, checkpoints every 4: a stop after dense epoch 1 resumes from step 4
    // (inside the dense epoch), after prune epoch 2 from step 16 (prune epoch 2, step 4), after
    // fine-tune epoch 1 from step 28 (fine-tune epoch 1, step 4).
    for name in methods {
      let straight = try run(name, checkpoints: false, resume: false, stopAt: nil)
      for stop in [("dense", 1), ("prune", 2), ("finetune", 1)] {
        XCTAssertThrowsError(try run(name, checkpoints: true, resume: false, stopAt: stop))
        let resumed = try run(name, checkpoints: true, resume: true, stopAt: nil)
        XCTAssertEqual(resumed.keys.sorted(), straight.keys.sorted(), "\(name) \(stop)")
        for (key, values) in straight {
          XCTAssertTrue(resumed[key] == values, "\(name), stopped after \(stop): \(key) differs after resuming")
        }
      }
    }
  }

  /// With a checkpoint every epoch, a run stopped inside the first fine-tuning epoch resumes
  /// from the one written after the pruning phase's last epoch (a position at the stage's end).
  func testARunResumesFromTheCheckpointAtTheEndOfAStage() throws {
    for name in ["autoprune", "magnitude"] {
      let straight = try run(name, checkpoints: false, resume: false, stopAt: nil)
      XCTAssertThrowsError(try run(name, checkpoints: true, resume: false, stopAt: ("finetune", 1), policy: .epochs(1)))
      XCTAssertEqual(try Checkpoint.read(directory: directory.path).int("position.epoch"), 3, "the prune stage's end")
      let resumed = try run(name, checkpoints: true, resume: true, stopAt: nil, policy: .epochs(1))
      for (key, values) in straight { XCTAssertTrue(resumed[key] == values, "\(name): \(key) differs after resuming") }
    }
  }

  func testCheckpointPolicyParsing() {
    XCTAssertEqual(CheckpointPolicy("500"), .steps(500))
    XCTAssertEqual(CheckpointPolicy("2epochs"), .epochs(2))
    XCTAssertEqual(CheckpointPolicy("1epoch"), .epochs(1))
    XCTAssertEqual(CheckpointPolicy("0"), .never)
    XCTAssertNil(CheckpointPolicy("-3"))
    XCTAssertNil(CheckpointPolicy("0epochs"))
    XCTAssertNil(CheckpointPolicy("often"))
    XCTAssertTrue(CheckpointPolicy.steps(4).isDue(afterStep: 8))
    XCTAssertFalse(CheckpointPolicy.steps(4).isDue(afterStep: 9))
    XCTAssertTrue(CheckpointPolicy.epochs(2).isDue(afterEpoch: 4))
  }

  /// A checkpoint whose content is wrong for the run is refused with the entry's name.
  func testDamagedCheckpointContentIsRefused() throws {
    var state = TrainingState()
    state.put("position.epoch", int: 0)
    state.put("position.step", int: 2)
    state.put("position.order", [0, 1, 1].map(Float.init))
    state.put("position.loss_sum", double: 0)
    state.put("position.correct", int: 0)
    state.put("position.seconds", double: 0)
    XCTAssertThrowsError(try state.position("position", samples: 3)) { error in
      XCTAssertTrue("\(error)".contains("not a permutation"), "\(error)")
    }
    XCTAssertThrowsError(try state.position("position", samples: 4)) { error in
      XCTAssertTrue("\(error)".contains("position.order has 3 values"), "\(error)")
    }
    state.put("rng", text: "0,0,0,0")
    XCTAssertThrowsError(try state.restore(RandomSource(seed: 1), from: "rng"))
    state.put("flag", text: "maybe")
    XCTAssertThrowsError(try state.bool("flag"))
    XCTAssertThrowsError(try state.floats("missing")) { error in
      XCTAssertEqual(error as? CheckpointError, .missing("checkpoint", entry: "missing"))
    }
    // A plain weights file is not a checkpoint.
    try SafeTensors.write([("w", [1], [1])], metadata: [:], to: directory.appendingPathComponent(Checkpoint.fileName).path)
    XCTAssertThrowsError(try Checkpoint.read(directory: directory.path)) { error in
      XCTAssertEqual(error as? CheckpointError, .notACheckpoint(Checkpoint.path(in: self.directory.path)))
    }
  }

  /// Metadata that trapped on resume (issue 18): NaN or fractional sample indices, an epoch far
  /// past the stage, negative counts. Each is now an error naming the entry.
  func testHostilePositionsAreErrorsNotTraps() throws {
    func state(epoch: Int = 0, step: Int = 2, order: [Float] = [2, 0, 1], lossSum: Double = 0, correct: Int = 0) -> TrainingState {
      var s = TrainingState(tensors: [], scalars: [:], source: "ckpt")
      s.put("position.epoch", int: epoch)
      s.put("position.step", int: step)
      s.put("position.order", order)
      s.put("position.loss_sum", double: lossSum)
      s.put("position.correct", int: correct)
      s.put("position.seconds", double: 0)
      s.put("stage", text: "dense")
      s.put("reports", text: "{}")
      return s
    }
    for order: [Float] in [[.nan, 0, 1], [.infinity, 0, 1], [0.5, 0, 1], [1e30, 0, 1]] {
      XCTAssertThrowsError(try state(order: order).position("position", samples: 3)) { error in
        XCTAssertTrue("\(error)".contains("position.order"), "\(error)")
      }
    }
    XCTAssertThrowsError(try state(lossSum: .nan).position("position", samples: 3))
    XCTAssertThrowsError(try state(correct: -1).position("position", samples: 3))
    // An epoch past the stage's end, or a step past the epoch's: refused by the session.
    for (epoch, step) in [(999_999_999_999, 2), (Int.max, 0), (0, 99), (2, 1), (3, 0)] {
      XCTAssertThrowsError(
        try CheckpointSession(
          directory: nil, policy: .never, arguments: ["train"], log: nil, resumed: state(epoch: epoch, step: step),
          stepsPerEpoch: 3, stages: [("dense", 2)])
      ) { error in
        XCTAssertTrue("\(error)".contains("the dense stage has 2 epochs of 3 steps"), "\(error)")
      }
    }
    // The stage's end, (2, 0), is where a checkpoint after its last epoch stands.
    XCTAssertNoThrow(try CheckpointSession(
      directory: nil, policy: .never, arguments: ["train"], log: nil, resumed: state(epoch: 2, step: 0), stepsPerEpoch: 3, stages: [("dense", 2)]))
    // Non-finite parameter values in a checkpoint are refused, not trained on.
    var weights = state()
    weights.put("w", [1, .nan], shape: [2])
    XCTAssertThrowsError(try weights.restore(parameters: [Parameter(name: "w", value: Tensor(shape: [2], repeating: 0), prunable: false)])) { error in
      XCTAssertTrue("\(error)".contains("w = nan at index 1"), "\(error)")
    }
  }

  func testExactScalarsSurviveTheTrip() throws {
    var state = TrainingState()
    let awkward = 0.1 + 0.2
    state.put("d", double: awkward)
    state.put("f", float: Float.leastNonzeroMagnitude)
    state.put("w", words: [UInt64.max, 0, 42])
    try Checkpoint.write(state, directory: directory.path)
    let read = try Checkpoint.read(directory: directory.path)
    XCTAssertEqual(try read.double("d").bitPattern, awkward.bitPattern)
    XCTAssertEqual(try read.float("f"), Float.leastNonzeroMagnitude)
    XCTAssertEqual(try read.words("w", count: 3), [UInt64.max, 0, 42])
  }
}
