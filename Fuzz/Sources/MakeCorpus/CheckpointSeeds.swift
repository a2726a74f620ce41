import AutoPrune
import AutoPruneNN
import Foundation
import FuzzSupport

/// Checkpoints of `TinyRun` written by `CheckpointSession` itself (mid-epoch, at an epoch's end,
/// in the prune stage), then copies with one entry made hostile: the metadata the resume path
/// interprets (position, log length, sample order, stage, reports, RNG, optimizer).
enum CheckpointSeeds {
  static func write(_ seeds: Seeds) throws {
    let valid = try checkpoint(
      stage: "dense",
      position: TrainingPosition(
        epoch: 1, step: 1, order: [3, 0, 7, 1, 6, 2, 5, 4], lossSum: 1.25, correct: 3, seconds: 0.5))
    try seeds.write("dense-mid-epoch.safetensors", try encode(valid))
    try seeds.write(
      "dense-epoch-end.safetensors", try encode(try checkpoint(stage: "dense", position: TrainingPosition(epoch: 2))))
    try seeds.write(
      "prune-stage.safetensors",
      try encode(try checkpoint(stage: "prune", position: TrainingPosition(epoch: 0, step: 2, order: Array(0..<8)))))
    let hostile: [(String, (inout TrainingState) -> Void)] = [
      ("epoch-999999999999", { $0.put("position.epoch", int: 999_999_999_999) }),
      ("epoch-negative", { $0.put("position.epoch", int: -1) }),
      ("step-past-epoch", { $0.put("position.step", int: 1_000_000) }),
      ("log-bytes-negative", { $0.put("log_bytes", int: -1) }),
      ("log-bytes-huge", { $0.put("log_bytes", int: Int.max) }),
      ("elapsed-nan", { $0.put("elapsed_seconds", double: .nan) }),
      ("order-nan", { $0.put("position.order", [3, .nan, 7, 1, 6, 2, 5, 4]) }),
      ("order-infinity", { $0.put("position.order", [3, .infinity, 7, 1, 6, 2, 5, 4]) }),
      ("order-repeats", { $0.put("position.order", [3, 3, 7, 1, 6, 2, 5, 4]) }),
      ("order-too-short", { $0.put("position.order", [3, 0]) }),
      ("order-huge-values", { $0.put("position.order", [3e38, -3e38, 7, 1, 6, 2, 5, 4]) }),
      ("loss-sum-infinite", { $0.put("position.loss_sum", double: .infinity) }),
      ("stage-unknown", { $0.put("stage", text: "distill") }),
      ("reports-not-json", { $0.put("reports", text: "{\"dense\": [{\"epoch\": 1e999}]") }),
      ("arguments-not-json", { $0.put("arguments", text: "train --epochs") }),
      ("rng-all-zero", { $0.put("rng", words: [0, 0, 0, 0]) }),
      ("rng-short", { $0.put("rng", text: "1,2") }),
      ("value-not-float", { $0.put("value.dense_accuracy", words: [UInt64.max]) }),
      ("weights-nan", { $0.put("fc1.weight", [.nan, 0, 0, 0, 0, 0], shape: [2, 3]) }),
      ("weights-wrong-size", { $0.put("fc1.weight", [1, 2], shape: [2]) }),
      ("optimizer-buffer-wrong-size", { $0.put("optimizer.momentum.fc1.weight", [1, 2, 3]) }),
      ("optimizer-unknown-parameter", { $0.put("optimizer.momentum.names", text: "fc9.weight") }),
      ("format-other", { $0.put("checkpoint_format", text: "autoprune-checkpoint-99") }),
    ]
    for (name, change) in hostile {
      var state = valid
      change(&state)
      try seeds.write("\(name).safetensors", try encode(state))
    }
  }

  /// What `CheckpointSession` writes for `TinyRun` at `position` of `stage`, read back.
  static func checkpoint(stage: String, position: TrainingPosition) throws -> TrainingState {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("make-corpus-run-\(getpid())").path
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let log = try RunLog(directory: directory)
    log.record(EpochRecord(
      phase: "dense",
      try JSONDecoder().decode(EpochReport.self, from: Data(#"{"epoch": 1, "learningRate": 0.1, "trainLoss": 1, "trainAccuracy": 0.5, "testLoss": 1, "testAccuracy": 0.5, "seconds": 1}"#.utf8)),
      stepsPerEpoch: TinyRun.stepsPerEpoch, stepOffset: 0))
    let session = try CheckpointSession(
      directory: directory, policy: .steps(1), arguments: TinyRun.arguments, log: log, resumed: nil,
      stepsPerEpoch: TinyRun.stepsPerEpoch, stages: TinyRun.stages)
    session.remember("dense_accuracy") { 0.75 }
    let parameters = TinyRun.parameters(), buffers = TinyRun.buffers(), optimizer = TinyRun.optimizer(),
      rng = RandomSource(seed: 7)
    for p in parameters { p.grad = Tensor(shape: p.shape, repeating: 0.5) }
    optimizer.step(parameters)  // fills the momentum buffers
    session.begin(stage) { state in
      state.put(parameters: parameters)
      state.put(buffers: buffers)
      state.put("optimizer", optimizer: optimizer)
      state.put("rng", rng: rng)
    }
    let report = try JSONDecoder().decode(
      EpochReport.self,
      from: Data(
        #"{"epoch":1,"learningRate":0.05,"trainLoss":0.7,"trainAccuracy":0.6,"testLoss":0.8,"testAccuracy":0.55,"seconds":0.25}"#
          .utf8))
    try session.epochDone(report)  // not due under a step policy: only kept for the reports
    try session.stepDone(position)
    return try Checkpoint.read(directory: directory)
  }

  /// The checkpoint file's bytes for `state`.
  static func encode(_ state: TrainingState) throws -> [UInt8] {
    var metadata = state.scalars
    metadata["checkpoint_format"] = metadata["checkpoint_format"] ?? Checkpoint.format
    return try SafeTensors.encode(state.tensors, metadata: metadata)
  }
}
