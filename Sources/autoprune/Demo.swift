import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train both LeNets on the bundled Fashion-MNIST subset and print a summary table.")

  @Option(help: "Epochs per model.")
  var epochs = 8

  @Option(help: "Random seed.")
  var seed: UInt64 = 1

  @OptionGroup var runOptions: RunOptions

  func validate() throws {
    if epochs < 1 { throw ValidationError("--epochs must be at least 1 (got \(epochs))") }
  }

  func run() throws {
    runOptions.apply()
    guard let directory = BundledData.directory else {
      throw ValidationError("the bundled Fashion-MNIST subset was not found beside the executable")
    }
    let (train, test) = try MNISTFormat.load(directory: directory)
    let normalization = Normalization.fitted(to: train)
    print("AutoPrune demo: dense LeNets on the bundled Fashion-MNIST subset (\(train.count) train / \(test.count) test), \(epochs) epochs, \(Parallel.threads) threads, GEMM \(GEMM.backend.rawValue)")
    var rows: [[String]] = []
    var results: [[String: Any]] = []
    for kind in ModelKind.allCases {
      var config = TrainingConfig()
      config.epochs = epochs
      config.seed = seed
      let rng = RandomSource(seed: seed)
      let model = Model(kind, rng: rng)
      let reports = Trainer(model: model, config: config, normalization: normalization, rng: rng).fit(train: train, test: test, onEpoch: { r in
        print(String(format: "  %@ epoch %d/%d  loss %.4f  test %.2f%%", kind.rawValue, r.epoch, epochs, r.trainLoss, 100 * r.testAccuracy))
      })
      let last = reports.last!
      let seconds = reports.map(\.seconds).reduce(0, +)
      rows.append([kind.rawValue, "\(model.parameterCount)", Output.percent(last.trainAccuracy), Output.percent(last.testAccuracy), String(format: "%.1f", seconds)])
      results.append(["model": kind.rawValue, "parameters": model.parameterCount, "test_accuracy": last.testAccuracy, "train_seconds": seconds])
    }
    print()
    print(Output.table(["model", "parameters", "train acc", "test acc", "train s"], rows))
    print("\nFull data: autoprune train --model lenet5 --data /usr/share/datasets/fashion-mnist --out lenet5.safetensors")
    if runOptions.json { Output.json(["command": "demo", "models": results]) }
  }
}
