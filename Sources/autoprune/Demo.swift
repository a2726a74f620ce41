import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

struct Demo: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Train both LeNets on the bundled Fashion-MNIST subset, prune them with AutoPrune, print a table and write an HTML report.")

  @Option(parsing: .unconditional, help: "Dense training epochs per model.")
  var epochs = 15

  @Option(parsing: .unconditional, help: "Joint W/M pruning epochs per model (default: prune's, enough for \(Prune.defaultPruneSteps) steps).")
  var pruneEpochs: Int?

  @Option(parsing: .unconditional, help: "Fine-tuning epochs (masks frozen) per model (default: prune's, enough for \(Prune.defaultFinetuneSteps) steps).")
  var finetuneEpochs: Int?

  @Option(parsing: .unconditional, help: "AutoPrune μ (default: prune's, \(AutoPruneOptions.defaultRelativeMu) of the network's gradient scale on the phase clock).")
  var mu: Float?

  @Option(parsing: .unconditional, help: "Random seed.")
  var seed: UInt64 = 1

  @Option(help: "Directory for the runs (one per model) and report.html.")
  var out = "runs/demo"

  @OptionGroup var runOptions: RunOptions
  @OptionGroup var progressOptions: ProgressOptions

  func validate() throws {
    try checkEpochs("--epochs", epochs, atLeast: 1)
    try checkEpochs("--prune-epochs", pruneEpochs, atLeast: 1)
    if let mu, !(mu > 0 && mu.isFinite) { throw ValidationError("--mu must be positive (got \(mu))") }
    try checkEpochs("--finetune-epochs", finetuneEpochs, atLeast: 0)
  }

  /// Each model goes through the commands a user would type: `train` (dense), `prune` with
  /// AutoPrune from that dense model, and `prune --method magnitude` at the sparsity AutoPrune
  /// reached, with the same epochs; each writes its run directory, which the report then reads.
  func run() throws {
    runOptions.apply()
    guard BundledData.directory != nil else {
      throw Failure("the bundled Fashion-MNIST subset was not found beside the executable")
    }
    let progress = Progress(quiet: progressOptions.quiet)  // header lines only: the steps run their own
    progress.say("AutoPrune demo: LeNets on the bundled Fashion-MNIST subset, \(Parallel.threads) threads, GEMM \(GEMM.backend.rawValue)")
    let phases = "\(pruneEpochs.map { "\($0) epochs" } ?? "\(Prune.defaultPruneSteps) steps") + fine-tune \(finetuneEpochs.map { "\($0) epochs" } ?? "\(Prune.defaultFinetuneSteps) steps")"
    progress.say("dense \(epochs) epochs; then AutoPrune (weight gates, μ \(mu ?? AutoPruneOptions.defaultRelativeMu) network-relative, phase clock, leaky-ReLU STE) \(phases); then magnitude pruning to the same sparsity with the same epochs\n")
    var common = ["--data", "bundled", "--seed", "\(seed)"]
    if let threads = runOptions.threads { common += ["--threads", "\(threads)"] }
    if progressOptions.quiet { common.append("--quiet") }
    var rows: [[String]] = []
    var results: [DemoResult] = []
    for kind in ModelKind.lenets {
      let dense = try step(progress, "\(kind.rawValue)-dense", ["train", "--model", kind.rawValue, "--epochs", "\(epochs)"] + common)
      let pruneArguments = ["prune", "--model", kind.rawValue, "--from", dense.model, "--prune-lr", "0.01"]
        + (pruneEpochs.map { ["--prune-epochs", "\($0)"] } ?? []) + (finetuneEpochs.map { ["--finetune-epochs", "\($0)"] } ?? []) + common
      let autoprune = try step(progress, "\(kind.rawValue)-autoprune", pruneArguments + ["--method", "autoprune"] + (mu.map { ["--mu", "\($0)"] } ?? []))
      var runs = [autoprune]
      let compression = autoprune.summary.compression ?? 1
      if compression > 1.01 {
        let sparsity = String(format: "%.4f", 1 - 1 / compression)
        runs.append(try step(progress, "\(kind.rawValue)-magnitude", pruneArguments + ["--method", "magnitude", "--sparsity", sparsity]))
      } else {
        progress.say("\(kind.rawValue): AutoPrune kept every weight; no magnitude baseline to match (raise --mu)")
      }
      for run in runs {
        let s = run.summary
        let percent = { (x: Double?) in x.map { TextTable.percent(Float($0)) } ?? "–" }
        rows.append([
          kind.rawValue, s.method ?? "?", percent(s.denseTestAccuracy), percent(s.testAccuracy),
          s.compression.map { String(format: "%.1f×", $0) } ?? "–", percent(s.flopsFraction), s.architecture ?? "?",
          String(format: "%.1f", run.seconds),
        ])
        results.append(DemoResult(summary: s, seconds: run.seconds))
      }
    }
    print(TextTable.render(["model", "method", "dense acc", "pruned acc", "compression", "FLOPs", "architecture", "s"], rows))
    let report = try Report.write(runs: [out], to: URL(fileURLWithPath: out).appendingPathComponent("report.html").path, title: "AutoPrune demo")
    print("\nreport: \(report)")
    progress.say("On full data: autoprune prune --model lenet300 --data /usr/share/datasets/fashion-mnist --pretrain-epochs 10 --out pruned.safetensors")
    if runOptions.json, let data = try? RunRecordCoding.line(DemoOutput(models: results)) { print(String(decoding: data, as: UTF8.self)) }
  }

  /// Runs `autoprune ARGUMENTS --run-dir OUT/NAME --out OUT/NAME/model.safetensors` in this
  /// process and returns its summary.
  private func step(_ progress: Progress, _ name: String, _ arguments: [String]) throws -> (model: String, summary: RunSummary, seconds: Double) {
    let directory = URL(fileURLWithPath: out).appendingPathComponent(name)
    let model = directory.appendingPathComponent("model.safetensors").path
    let full = arguments + ["--run-dir", directory.path, "--out", model]
    progress.say("== \(name): autoprune \(full.joined(separator: " "))")
    // The demo owns OUT: a demo run again replaces its own earlier steps, finished or
    // interrupted (and only those).
    if FileManager.default.fileExists(atPath: directory.appendingPathComponent("summary.json").path) || Checkpoint.exists(in: directory.path) {
      for file in LogOptions.runFiles + ["model.safetensors"] { try? FileManager.default.removeItem(at: directory.appendingPathComponent(file)) }
    }
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let start = DispatchTime.now()
    try Invocation.run(full)
    let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    let summaryPath = directory.appendingPathComponent("summary.json").path
    guard let data = FileManager.default.contents(atPath: summaryPath) else { throw Failure("\(summaryPath): missing after the run") }
    let summary = try RunRecordCoding.decode(RunSummary.self, from: data, path: summaryPath)
    progress.say("")
    return (model, summary, seconds)
  }
}

/// `demo --json`: each run's summary with the seconds it took.
struct DemoResult: Encodable {
  var summary: RunSummary
  var seconds: Double
  func encode(to encoder: Encoder) throws {
    try summary.encode(to: encoder)
    var container = encoder.container(keyedBy: Key.self)
    try container.encode(seconds, forKey: Key(stringValue: "seconds"))
  }
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
}

struct DemoOutput: Encodable {
  var command = "demo"
  var models: [DemoResult]
}
