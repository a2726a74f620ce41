import AutoPruneKernels
import AutoPruneNN
import Foundation

/// A command's checkpoints across its stages (`dense`, `prune`, `finetune`): decides when one is
/// due, writes it with what the running stage's `capture` adds, and on resume tells each stage
/// where to start. The epoch reports of finished stages travel in the checkpoint, so the final
/// summary of a resumed run is the one an uninterrupted run writes.
public final class CheckpointSession {
  /// The run directory checkpoints go to; nil writes none (the policy is then `never`).
  public let directory: String?
  /// When checkpoints are due (`never` without a directory).
  public let policy: CheckpointPolicy
  /// The command's arguments (without `--resume`), stored so `--resume DIR` alone can go on.
  public let arguments: [String]
  /// The run log, whose length and clock every checkpoint records for a resume.
  public let log: RunLog?
  /// The checkpoint a resumed run starts from; nil for a new run.
  public let resumed: TrainingState?
  /// Optimizer steps in one epoch, for the run's global step count.
  public let stepsPerEpoch: Int
  /// Stages in run order with their epochs (global step and epoch counts come from them).
  public let stages: [(name: String, epochs: Int)]
  /// Epoch reports per stage name, those the checkpoint carried included.
  public private(set) var reports: [String: [EpochReport]] = [:]
  /// Figures a command computed before the checkpoint and needs at the end (the dense model's
  /// accuracy, which the restored, already pruned model can no longer give).
  public private(set) var remembered: [String: Float] = [:]
  private var stage = ""
  /// Sees every optimizer step with the running stage's name (progress display).
  public var onStep: ((_ stage: String, _ position: TrainingPosition) -> Void)?
  private var capture: (inout TrainingState) -> Void = { _ in }

  /// Where a stage starts.
  public enum Start: Equatable {
    /// The checkpoint is past this stage: its effects are in the restored state.
    case skip
    case fresh
    case resume(TrainingPosition)
  }

  /// A session for a run of `stages`. With `resumed`, its reports, remembered values and position
  /// are read and checked first; an error names the entry at fault.
  public init(
    directory: String?, policy: CheckpointPolicy, arguments: [String], log: RunLog?, resumed: TrainingState?,
    stepsPerEpoch: Int, stages: [(name: String, epochs: Int)]
  ) throws {
    self.directory = directory
    self.policy = directory == nil ? .never : policy
    self.arguments = arguments
    self.log = log
    self.resumed = resumed
    self.stepsPerEpoch = stepsPerEpoch
    self.stages = stages
    if let resumed {
      let text = try resumed.text("reports")
      guard let decoded = try? JSONDecoder().decode([String: [EpochReport]].self, from: Data(text.utf8)) else {
        throw CheckpointError.badValue(resumed.source, entry: "reports", value: "not the JSON of epoch reports")
      }
      reports = decoded
      for (key, _) in resumed.scalars where key.hasPrefix("value.") {
        remembered[String(key.dropFirst("value.".count))] = try resumed.float(key)
      }
      let name = try resumed.text("stage")
      guard let stage = stages.first(where: { $0.name == name }) else {
        throw CheckpointError.badValue(resumed.source, entry: "stage", value: name)
      }
      // The position must lie inside its stage, or the training loop's ranges (and anything
      // printed from it) would trap; checked here, before anything reads it.
      let epoch = try resumed.int("position.epoch"), step = try resumed.int("position.step")
      // A checkpoint written after a stage's last epoch stands at (epochs, 0): the stage is done.
      guard (0..<stage.epochs).contains(epoch) && (0...stepsPerEpoch).contains(step) || (epoch == stage.epochs && step == 0) else {
        throw CheckpointError.badValue(
          resumed.source, entry: "position", value: "epoch \(epoch), step \(step) (the \(name) stage has \(stage.epochs) epochs of \(stepsPerEpoch) steps)")
      }
      resumedAt = "stage \(name), epoch \(epoch + 1), step \(step)"
    }
  }

  /// Where a resumed run goes on ("stage prune, epoch 3, step 7"), from the checked position;
  /// nil for a new run.
  public private(set) var resumedAt: String?

  /// Run-order indices of stage `name` and of the stage the checkpoint stopped in (nil for a new
  /// run or a stage this run does not have).
  private func order(of name: String) -> (here: Int, there: Int)? {
    guard let resumed, let stageName = try? resumed.text("stage"), let here = stages.firstIndex(where: { $0.name == name }),
      let there = stages.firstIndex(where: { $0.name == stageName })
    else { return nil }
    return (here, there)
  }

  /// Where `name` starts (a run with `samples` training samples).
  public func start(of name: String, samples: Int) throws -> Start {
    guard let resumed, let (here, there) = order(of: name) else { return .fresh }
    if there > here { return .skip }
    if there < here { return .fresh }
    return .resume(try resumed.position("position", samples: samples))
  }

  /// The restored state, when `name` is the stage the checkpoint stopped in or a later one.
  public func restoredState(atOrAfter name: String) -> TrainingState? {
    guard let (here, there) = order(of: name) else { return nil }
    return there >= here ? resumed : nil
  }

  /// Puts back the parameters and the RNG of a resumed run; call once the model is built (and
  /// loaded from its starting file), before any stage runs. No-op for a new run.
  public func restoreModel(_ parameters: [Parameter], buffers: [Buffer] = [], rng: RandomSource) throws {
    guard let resumed else { return }
    try resumed.restore(parameters: parameters)
    try resumed.restore(buffers: buffers)
    try resumed.restore(rng, from: "rng")
  }

  /// Keeps `value` under `key` in every later checkpoint; returns the value a resumed run
  /// remembered instead when it has one.
  @discardableResult
  public func remember(_ key: String, _ value: () throws -> Float) rethrows -> Float {
    if let kept = remembered[key] { return kept }
    let v = try value()
    remembered[key] = v
    return v
  }

  /// Starts stage `name`; `capture` adds everything it changes (model, method, optimizer, RNG).
  public func begin(_ name: String, capture: @escaping (inout TrainingState) -> Void) {
    stage = name
    self.capture = capture
  }

  private var stageOffset: (steps: Int, epochs: Int) {
    let before = stages.prefix { $0.name != stage }.reduce(0) { $0 + $1.epochs }
    return (before * stepsPerEpoch, before)
  }

  /// After every optimizer step.
  public func stepDone(_ position: TrainingPosition) throws {
    onStep?(stage, position)
    let step = stageOffset.steps + position.epoch * stepsPerEpoch + position.step
    guard policy.isDue(afterStep: step) else { return }
    try write(position)
  }

  /// After every epoch's report (and its log line).
  public func epochDone(_ report: EpochReport) throws {
    reports[stage, default: []].append(report)
    guard policy.isDue(afterEpoch: stageOffset.epochs + report.epoch) else { return }
    try write(TrainingPosition(epoch: report.epoch))
  }

  private func write(_ position: TrainingPosition) throws {
    guard let directory else { return }
    var state = TrainingState()
    capture(&state)
    for (key, value) in remembered { state.put("value.\(key)", float: value) }
    state.put("stage", text: stage)
    state.put("position", position: position)
    let json = try JSONEncoder().encode(reports)
    state.put("reports", text: String(decoding: json, as: UTF8.self))
    state.put("arguments", text: String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self))
    if let log {
      state.put("log_bytes", int: Int(log.byteCount))
      state.put("elapsed_seconds", double: log.elapsed)
    }
    try Checkpoint.write(state, directory: directory)
  }

  /// The run finished and wrote its results: its checkpoint has no further use.
  public func finish() {
    guard let directory, MPI.writes else { return }  // under MPI the checkpoint is rank 0's
    try? FileManager.default.removeItem(atPath: Checkpoint.path(in: directory))
  }

  /// The arguments a checkpoint was made with.
  public static func arguments(of state: TrainingState) throws -> [String] {
    let text = try state.text("arguments")
    guard let arguments = try? JSONDecoder().decode([String].self, from: Data(text.utf8)) else {
      throw CheckpointError.badValue(state.source, entry: "arguments", value: text)
    }
    return arguments
  }
}

/// Dense training as a checkpointed stage named `dense` (used by `train` and by `prune`'s
/// pretraining), after `CheckpointSession.restoreModel`: restores the optimizer when the
/// checkpoint is inside it, skips it when the checkpoint is past it.
package enum DenseStage {
  package static func run(
    _ trainer: Trainer, train: any LabelledImages, test: any LabelledImages, session: CheckpointSession,
    onEpoch: @escaping (EpochReport) throws -> Void
  ) throws {
    let parameters = trainer.model.parameters
    let start = try session.start(of: "dense", samples: train.count)
    if start == .skip { return }
    var position: TrainingPosition?
    if case .resume(let p) = start, let restored = session.resumed {
      try restored.restore(trainer.optimizer, from: "optimizer", parameters: parameters)
      position = p
    }
    session.begin("dense") { state in
      state.put(parameters: parameters)
      state.put(buffers: trainer.model.buffers)
      state.put("optimizer", optimizer: trainer.optimizer)
      state.put("rng", rng: trainer.rng)
    }
    try trainer.fit(
      train: train, test: test,
      onEpoch: { report in
        try onEpoch(report)
        try session.epochDone(report)
      }, resume: position, afterStep: { try session.stepDone($0) })
  }
}

extension RunLog {
  /// Opens the run log in `directory` for a new run, or for one resuming from `resumed`: cut
  /// back to its length at the checkpoint (`log_bytes`) and its clock going on from
  /// `elapsed_seconds`, both checked first (a negative length or a NaN clock is an error naming
  /// the entry, not a trap).
  public static func open(directory: String, resuming resumed: TrainingState?) throws -> RunLog {
    guard let resumed else { return try RunLog(directory: directory) }
    let logBytes = try resumed.int("log_bytes")
    let elapsed = try resumed.double("elapsed_seconds")
    guard logBytes >= 0 else { throw CheckpointError.badValue(resumed.source, entry: "log_bytes", value: "\(logBytes)") }
    guard elapsed.isFinite && elapsed >= 0 else {
      throw CheckpointError.badValue(resumed.source, entry: "elapsed_seconds", value: "\(elapsed)")
    }
    return try RunLog(directory: directory, keepingBytes: UInt64(logBytes), elapsedBefore: elapsed)
  }
}
