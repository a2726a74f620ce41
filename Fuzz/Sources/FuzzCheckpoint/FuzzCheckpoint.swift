import AutoPrune
import AutoPruneNN
import FuzzSupport

// Checkpoints (`checkpoint.safetensors` in a run directory) along the path of
// `train|prune --resume DIR`: `Checkpoint.read`, the stored arguments, the log length and elapsed
// time, the session (epoch reports, remembered values, stage), every stage's start position, and
// the restore of parameters, buffers, RNG and optimizer into `TinyRun`'s.
//
// The steps between reading and the session are `CheckpointOptions.session` in
// Sources/autoprune/Options.swift, repeated here because no package can import an executable
// target: when that function changes, change `resume` to match.

private let directory = Scratch.path("run")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Scratch.bytes(data, size)
  return Scratch.expectingErrors {
    Scratch.write(bytes, to: Checkpoint.path(in: directory))
    Scratch.write(TinyRun.log, to: directory + "/log.jsonl")
    let (resumed, session) = try resume()
    // Train.swift and Prune.swift, then DenseStage.run and PruningPhases.
    let parameters = TinyRun.parameters()
    try session.restoreModel(parameters, buffers: TinyRun.buffers(), rng: RandomSource(seed: 1))
    for stage in TinyRun.stages {
      if case .resume = try session.start(of: stage.name, samples: TinyRun.samples) {
        try resumed.restore(TinyRun.optimizer(), from: "optimizer", parameters: parameters)
      }
    }
  }
}

/// `CheckpointOptions.session` for `--resume` of the run in `directory` (the CLI's comparison of
/// the stored arguments with the given ones left out: a fuzzed checkpoint would never pass it).
private func resume() throws -> (TrainingState, CheckpointSession) {
  let resumed = try Checkpoint.read(directory: directory)
  let arguments = try CheckpointSession.arguments(of: resumed)
  let log = try RunLog.open(directory: directory, resuming: resumed)
  let session = try CheckpointSession(
    directory: directory, policy: .epochs(1), arguments: arguments, log: log, resumed: resumed,
    stepsPerEpoch: TinyRun.stepsPerEpoch, stages: TinyRun.stages)
  // The progress line the CLI prints on resuming.
  _ = session.resumedAt
  return (resumed, session)
}
