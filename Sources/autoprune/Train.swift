import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Train a dense model and save its weights as safetensors.")

  @Option(help: "Model: \(ModelKind.names) (default: the network in --weights).")
  var model: ModelKind?

  @Option(help: "Start from these weights (from train, prune or import) instead of random ones: fine-tuning.")
  var weights: String?

  @OptionGroup var dataOptions: DataOptions
  @OptionGroup var width: WidthOption
  @OptionGroup var training: TrainingOptions
  @OptionGroup var runOptions: RunOptions
  @OptionGroup var logOptions: LogOptions
  @OptionGroup var checkpoints: CheckpointOptions
  @OptionGroup var progressOptions: ProgressOptions

  @Option(help: "Where to write the weights (.safetensors); written atomically at the end.")
  var out: String

  func validate() throws {
    try Output.checkWritableDestination(out, flag: "--out", inputs: [("--weights", weights)] + dataOptions.inputFiles)
    try RunModel.check(kind: model, weights: weights, width: width, data: dataOptions)
  }

  func run() throws {
    runOptions.apply()
    DataParallel.synchronizesBatchNorm = training.syncBatchnorm
    DataParallel.bucketBytes = Int(training.allreduceBucketMb * 1_048_576)
    let config = training.config
    let (net, rng, train, test, label) = try RunModel.make(kind: model, weights: weights, width: width.width, data: dataOptions, seed: config.seed)
    let stepsPerEpoch = Batcher(count: train.count, batchSize: config.batchSize).batchesPerEpoch
    let stages = [(name: "dense", epochs: config.epochs)]
    let progress = Progress(quiet: progressOptions.quiet, stages: stages, stepsPerEpoch: stepsPerEpoch, batchSize: config.batchSize, samples: train.count)
    let (log, session) = try checkpoints.session(
      runDirectory: logOptions.directory(writing: out, resuming: checkpoints.resume), stepsPerEpoch: stepsPerEpoch, stages: stages, progress: progress)
    let run = try PruningRun(model: net, train: train, test: test, config: config, rng: rng, session: session)
    if let weights { try run.loadDense(from: weights) }
    progress.say("training \(net.name) (\(net.parameterCount) parameters) on \(label): \(train.count) train / \(test.count) test, \(config.optimizer.rawValue) lr \(config.learningRate), \(Parallel.threads) threads, GEMM \(GEMM.backend.rawValue)")
    run.onEpoch = { e in
      let r = e.report
      progress.epoch(String(format: "dense %2ld/%ld  lr %.4f  loss %.4f  train %.2f%%  test %.2f%%  %.2fs",
                            r.epoch, e.phaseEpochs, r.learningRate, r.trainLoss, 100 * r.trainAccuracy, 100 * r.testAccuracy, r.seconds))
    }
    try run.trainDense()
    try run.save(to: out)
    var summary = run.summary(outcome: nil)
    (summary.threads, summary.gemm, summary.peakRssMib, summary.data) = (Parallel.threads, GEMM.backend.rawValue, Output.peakRSSMiB, label)
    print("saved \(out)\(log.map { " (run log in \($0.directory.path))" } ?? ""): test accuracy \(TextTable.percent(Float(summary.testAccuracy ?? 0))), \(String(format: "%.2f", summary.epochSeconds ?? 0)) s/epoch, peak RSS \(String(format: "%.0f", Output.peakRSSMiB)) MiB")
    if let world = MPI.world, world.size > 1 { print(Output.collectiveLine(world, steps: config.epochs * stepsPerEpoch)) }
    try Output.finish(summary, out: out, json: runOptions.json, log: log)
    session.finish()
  }
}
