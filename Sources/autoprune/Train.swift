import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(abstract: "Train a dense model and save its weights as safetensors.")

  @Option(help: "Model: \(ModelKind.names).")
  var model: ModelKind

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
    try Output.checkWritableDestination(out, flag: "--out", inputs: dataOptions.inputFiles)
    try dataOptions.checkResize(for: model)
    try width.check(for: model)
  }

  func run() throws {
    runOptions.apply()
    let (train, test, label) = try dataOptions.load()
    let stepsPerEpoch = Batcher(count: train.count, batchSize: training.batchSize).batchesPerEpoch
    let config = training.config
    let progress = Progress(
      quiet: progressOptions.quiet, stages: [("dense", config.epochs)], stepsPerEpoch: stepsPerEpoch, batchSize: config.batchSize, samples: train.count)
    let (log, session) = try checkpoints.session(
      runDirectory: logOptions.directory(writing: out, resuming: checkpoints.resume), stepsPerEpoch: stepsPerEpoch, stages: [("dense", config.epochs)], progress: progress)
    let rng = RandomSource(seed: config.seed)
    let net = Model(model, rng: rng, inputChannels: train.channels, width: width.width)
    try DataOptions.check(train, fits: net.inputShape, model: model)
    let normalization = Normalization.fitted(to: train)
    progress.say("training \(model.rawValue) (\(net.parameterCount) parameters) on \(label): \(train.count) train / \(test.count) test, \(config.optimizer.rawValue) lr \(config.learningRate), \(Parallel.threads) threads, GEMM \(GEMM.backend.rawValue)")
    try session.restoreModel(net.parameters, buffers: net.buffers, rng: rng)
    let trainer = Trainer(model: net, config: config, normalization: normalization, rng: rng)
    try DenseStage.run(trainer, train: train, test: test, session: session) { r in
      progress.epoch(String(format: "dense %2ld/%ld  lr %.4f  loss %.4f  train %.2f%%  test %.2f%%  %.2fs",
                   r.epoch, config.epochs, r.learningRate, r.trainLoss, 100 * r.trainAccuracy, 100 * r.testAccuracy, r.seconds))
      log?.record(phase: "dense", r, stepsPerEpoch: stepsPerEpoch, stepOffset: 0, pruning: nil, mu: nil)
    }
    try WeightsFile.save(net, normalization: normalization, to: out)
    let reports = session.reports["dense"] ?? []
    let last = reports.last!
    let epochSeconds = reports.map(\.seconds).reduce(0, +) / Double(reports.count)
    print("saved \(out)\(log.map { " (run log in \($0.directory.path))" } ?? ""): test accuracy \(Output.percent(last.testAccuracy)), \(String(format: "%.2f", epochSeconds)) s/epoch, peak RSS \(String(format: "%.0f", Output.peakRSSMiB)) MiB")
    let summary: [String: Any] = [
      "command": "train", "model": model.rawValue, "parameters": net.parameterCount,
      "test_accuracy": last.testAccuracy, "test_loss": last.testLoss, "train_accuracy": last.trainAccuracy,
      "epoch_seconds": epochSeconds, "epochs": reports.count, "threads": Parallel.threads,
      "gemm": GEMM.backend.rawValue, "peak_rss_mib": Output.peakRSSMiB, "out": out, "data": label,
      "seed": config.seed, "command_line": (["autoprune"] + Invocation.withoutResume(Invocation.arguments)).joined(separator: " "),
    ]
    if runOptions.json { Output.json(summary) }
    try log?.writeSummary(summary)
    session.finish()
  }
}
