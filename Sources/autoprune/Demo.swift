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
  var outDir: String?

  @Option(name: .customLong("out"), help: .hidden)
  var outAlias: String?

  /// `--out-dir` (or its old name `--out`), default runs/demo.
  var out: String { outDir ?? outAlias ?? "runs/demo" }

  @OptionGroup var runOptions: RunOptions
  @OptionGroup var progressOptions: ProgressOptions

  func validate() throws {
    _ = try either(outDir, outAlias, "--out-dir", old: "--out")
    try checkEpochs("--epochs", epochs, atLeast: 1)
    try checkEpochs("--prune-epochs", pruneEpochs, atLeast: 1)
    if let mu, !(mu > 0 && mu.isFinite) { throw ValidationError("--mu must be positive (got \(mu))") }
    try checkEpochs("--finetune-epochs", finetuneEpochs, atLeast: 0)
  }

  /// Each model goes through what a user would type, as library calls: `train` (dense), `prune`
  /// with AutoPrune from that dense model, and `prune --method magnitude` at the sparsity
  /// AutoPrune reached, with the same epochs; each writes its run directory (with the command
  /// line that repeats it), which the report then reads.
  func run() throws {
    runOptions.apply()
    guard let bundled = BundledData.directory else { throw Failure("the bundled Fashion-MNIST subset was not found beside the executable") }
    let (train, test) = try MNISTFormat.load(directory: bundled)
    let progress = Progress(quiet: progressOptions.quiet)  // header lines; each step draws its own
    progress.say("AutoPrune demo: LeNets on the bundled Fashion-MNIST subset, \(Parallel.threads) threads, GEMM \(GEMM.backend.rawValue)")
    let phases = "\(pruneEpochs.map { "\($0) epochs" } ?? "\(Prune.defaultPruneSteps) steps") + fine-tune \(finetuneEpochs.map { "\($0) epochs" } ?? "\(Prune.defaultFinetuneSteps) steps")"
    progress.say("dense \(epochs) epochs; then AutoPrune (weight gates, μ \(mu ?? AutoPruneOptions.defaultRelativeMu) network-relative, phase clock, leaky-ReLU STE) \(phases); then magnitude pruning to the same sparsity with the same epochs\n")
    var rows: [[String]] = [], results: [DemoResult] = []
    for kind in ModelKind.lenets {
      let dense = try step(kind, "dense", method: nil, train: train, test: test)
      var runs = [try step(kind, "autoprune", method: "autoprune", from: dense.model, train: train, test: test)]
      if let compression = runs[0].summary.compression, compression > 1.01 {
        runs.append(try step(kind, "magnitude", method: "magnitude", sparsity: Float(1 - 1 / compression), from: dense.model, train: train, test: test))
      } else {
        progress.say("\(kind.rawValue): AutoPrune kept every weight; no magnitude baseline to match (raise --mu)")
      }
      for run in runs {
        let s = run.summary
        let percent = { (x: Double?) in x.map { TextTable.percent(Float($0)) } ?? "–" }
        rows.append([kind.rawValue, s.method ?? "?", percent(s.denseTestAccuracy), percent(s.testAccuracy), s.compression.map { String(format: "%.1f×", $0) } ?? "–",
                     percent(s.flopsFraction), s.architecture ?? "?", String(format: "%.1f", run.seconds)])
        results.append(run)
      }
    }
    print(TextTable.render(["model", "method", "dense acc", "pruned acc", "compression", "FLOPs", "architecture", "s"], rows))
    let report = try Report.write(runs: [out], to: URL(fileURLWithPath: out).appendingPathComponent("report.html").path, title: "AutoPrune demo")
    print("\nreport: \(report)")
    progress.say("On full data: autoprune prune --model lenet300 --data /usr/share/datasets/fashion-mnist --pretrain-epochs 10 --out pruned.safetensors")
    if runOptions.json, let data = try? RunRecordCoding.line(DemoOutput(models: results)) { print(String(decoding: data, as: UTF8.self)) }
  }

  /// One step into OUT/MODEL-NAME (its earlier run there replaced: the demo owns OUT): dense
  /// training without `method`, else pruning from the dense model `from`.
  private func step(
    _ kind: ModelKind, _ name: String, method: String?, sparsity: Float? = nil, from: String? = nil, train: ImageDataset, test: ImageDataset
  ) throws -> DemoResult {
    let directory = URL(fileURLWithPath: out).appendingPathComponent("\(kind.rawValue)-\(name)")
    let model = directory.appendingPathComponent("model.safetensors").path
    for file in LogOptions.runFiles + ["model.safetensors"] { try? FileManager.default.removeItem(at: directory.appendingPathComponent(file)) }
    var config = TrainingConfig()
    (config.seed, config.epochs) = (seed, epochs)
    let run = try PruningRun(kind, train: train, test: test, config: config, logDirectory: directory.path)
    let stepsPerEpoch = run.stepsPerEpoch
    let pruneEpochs = self.pruneEpochs ?? Prune.epochs(covering: Prune.defaultPruneSteps, stepsPerEpoch: stepsPerEpoch)
    let finetuneEpochs = self.finetuneEpochs ?? Prune.epochs(covering: Prune.defaultFinetuneSteps, stepsPerEpoch: stepsPerEpoch)
    var command = ["autoprune", method == nil ? "train" : "prune", "--model", kind.rawValue, "--data", "bundled", "--seed", "\(seed)"]
    command += method == nil ? ["--epochs", "\(epochs)"] : ["--weights", from!, "--method", method!, "--prune-epochs", "\(pruneEpochs)", "--finetune-epochs", "\(finetuneEpochs)"]
    if let sparsity { command += ["--sparsity", String(format: "%.4f", sparsity)] }
    if let mu, method == "autoprune" { command += ["--mu", "\(mu)"] }
    command += ["--out", model]
    progress(for: run, method == nil ? [("dense", epochs)] : [("prune", pruneEpochs), ("finetune", finetuneEpochs)]).say("== \(kind.rawValue)-\(name): \(command.joined(separator: " "))")
    let start = DispatchTime.now()
    var outcome: PruningOutcome?
    if let method, let from {
      try run.loadDense(from: from)
      var settings = PruningSettings()
      settings.sparsity = sparsity
      if let mu { settings.autoprune.mu = mu }
      outcome = try run.prune(method: method, settings: settings, epochs: pruneEpochs, finetuneEpochs: finetuneEpochs)
    } else {
      try run.trainDense()
    }
    try run.save(to: model)
    let summary = try run.writeSummary(outcome: outcome, out: model, commandLine: command.joined(separator: " "))
    if !progressOptions.quiet { print("") }
    return DemoResult(model: model, summary: summary, seconds: Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9)
  }

  /// A progress display for `run`'s stages, fed by its steps and epochs.
  private func progress(for run: PruningRun, _ stages: [(String, Int)]) -> Progress {
    let progress = Progress(quiet: progressOptions.quiet, stages: stages, stepsPerEpoch: run.stepsPerEpoch, batchSize: run.config.batchSize, samples: run.train.count)
    run.session.onStep = { progress.step(stage: $0, $1) }
    run.onEpoch = { progress.epoch(Prune.epochLine($0)) }
    run.onPruningStart = { method, _ in progress.kept = { PruningReport(layers: method.layers).keptFraction } }
    return progress
  }
}

/// `demo --json`: each run's summary with the seconds it took.
struct DemoResult: Encodable {
  var model: String
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
