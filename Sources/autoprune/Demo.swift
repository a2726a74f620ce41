import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train both LeNets on the bundled Fashion-MNIST subset, prune them with AutoPrune, print a table.")

  @Option(help: "Dense training epochs per model.")
  var epochs = 15

  @Option(help: "Joint W/M pruning epochs per model.")
  var pruneEpochs = 30

  @Option(help: "Fine-tuning epochs (masks frozen) per model.")
  var finetuneEpochs = 10

  @Option(parsing: .unconditional, help: "AutoPrune μ (the subset's 20 steps per epoch need a larger μ than full data).")
  var mu: Float = 5e-4

  @Option(help: "Random seed.")
  var seed: UInt64 = 1

  @OptionGroup var runOptions: RunOptions

  func validate() throws {
    for (flag, value) in [("--epochs", epochs), ("--prune-epochs", pruneEpochs)] where value < 1 {
      throw ValidationError("\(flag) must be at least 1 (got \(value))")
    }
    if !(mu >= 0 && mu.isFinite) { throw ValidationError("--mu must be ≥ 0 (got \(mu))") }
    if finetuneEpochs < 0 { throw ValidationError("--finetune-epochs must be ≥ 0 (got \(finetuneEpochs))") }
  }

  func run() throws {
    runOptions.apply()
    guard let directory = BundledData.directory else {
      throw ValidationError("the bundled Fashion-MNIST subset was not found beside the executable")
    }
    let (train, test) = try MNISTFormat.load(directory: directory)
    let normalization = Normalization.fitted(to: train)
    print("AutoPrune demo: LeNets on the bundled Fashion-MNIST subset (\(train.count) train / \(test.count) test), \(Parallel.threads) threads, GEMM \(GEMM.backend.rawValue)")
    print("dense \(epochs) epochs, then AutoPrune (weight gates, μ \(mu), η_M 10, leaky-ReLU STE) \(pruneEpochs) epochs, fine-tune \(finetuneEpochs)\n")
    var rows: [[String]] = []
    var results: [[String: Any]] = []
    for kind in ModelKind.allCases {
      var config = TrainingConfig()
      config.epochs = epochs
      config.seed = seed
      let rng = RandomSource(seed: seed)
      let model = Model(kind, rng: rng)
      let start = DispatchTime.now()
      try Trainer(model: model, config: config, normalization: normalization, rng: rng).fit(train: train, test: test)
      let dense = Trainer.evaluate(model, on: test, normalization: normalization)

      var options = AutoPruneOptions()
      options.mu = mu
      let pruning = AutoPrunePruning(model: model, granularity: .weight, options: options)
      try PruningPhases.run(
        model: model, method: pruning, config: config, pruneEpochs: pruneEpochs, finetuneEpochs: finetuneEpochs,
        learningRate: 0.01, train: train, test: test, normalization: normalization, rng: rng)
      let pruned = Trainer.evaluate(model, on: test, normalization: normalization)
      let report = PruningReport(layers: pruning.layers)
      let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
      print("\(kind.rawValue):\n\(report.table)\n")
      rows.append([
        kind.rawValue, "\(model.parameterCount)", Output.percent(dense.accuracy), Output.percent(pruned.accuracy),
        String(format: "%.1f×", report.compression), Output.percent(report.flopsFraction), report.architecture,
        String(format: "%.1f", seconds),
      ])
      var record = report.json
      record.merge(["model": kind.rawValue, "dense_test_accuracy": dense.accuracy, "test_accuracy": pruned.accuracy, "seconds": seconds]) { $1 }
      results.append(record)
    }
    print(Output.table(["model", "parameters", "dense acc", "pruned acc", "compression", "FLOPs", "architecture", "s"], rows))
    print("\nOn full data: autoprune prune --model lenet300 --data /usr/share/datasets/fashion-mnist --pretrain-epochs 10 --prune-epochs 15 --finetune-epochs 10 --mu 7e-5 --out pruned.safetensors")
    if runOptions.json { Output.json(["command": "demo", "models": results]) }
  }
}
