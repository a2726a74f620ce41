import AutoPruneNN
import Foundation

/// One experiment from start to saved file: a model, its data and normalisation, one seeded
/// RNG, the phases (dense training, pruning, fine-tuning), the run log and checkpoints, and the
/// save with the method's gate state. `autoprune train` and `prune` are this type driven by flags.
///
/// ```swift
/// let data = try MNISTFormat.load(directory: BundledData.directory!)
/// let run = try PruningRun(.lenet5, train: data.train, test: data.test)
/// try run.trainDense(epochs: 5)
/// let outcome = try run.prune(method: "autoprune", epochs: 20, finetuneEpochs: 5)
/// print(outcome.report.table)
/// try run.save(to: "lenet5-pruned.safetensors")      // masks and gate state included
/// ```
public final class PruningRun {
  /// The network, trained and pruned in place.
  public let model: Model
  /// Training images; the normalisation is fitted to them unless `loadDense` brings one.
  public let train: any LabelledImages
  /// Test images, evaluated after every epoch and for the starting and final accuracy.
  public let test: any LabelledImages
  /// Seed, optimizer, batch size and the dense phase's learning rate and schedule.
  public let config: TrainingConfig
  /// Initialisation (when the run built the model), shuffling, dropout and stochastic gates.
  public let rng: RandomSource
  /// Input normalisation: fitted to the training images, or the one a loaded file stores.
  public private(set) var normalization: Normalization
  /// Checkpoints and the run log (none unless given).
  public let session: CheckpointSession
  /// The run log (`log.jsonl`, `summary.json`) of the session; nil when the run writes none.
  public var log: RunLog? { session.log }
  /// Optimizer steps in one epoch.
  public let stepsPerEpoch: Int

  /// Sees every finished epoch of every phase.
  public var onEpoch: ((Epoch) -> Void)?
  /// Sees the method once it is built, with the accuracy pruning starts from.
  public var onPruningStart: ((_ method: any PruningMethod, _ startingAccuracy: Float) -> Void)?

  /// The pruning method, once `prune` built it (nil before).
  public private(set) var method: (any PruningMethod)?
  /// The name `prune(method:)` or `prune(named:)` was given (what the saved file and summary record).
  public private(set) var methodName: String?
  /// What `prune(method:)` built the method from, with the run's seed filled in; nil unless it
  /// ran (`prune(named:make:)` takes no settings).
  public private(set) var settings: PruningSettings?
  /// Steps of the phases already run (or skipped by a resume), for the log's global step.
  private var stepsBefore = 0
  private var restored = false

  /// One finished epoch: its phase, figures, the phase's length, and the pruning state.
  public struct Epoch {
    /// `dense`, `prune` or `finetune`.
    public var phase: String
    /// The epoch's figures; `report.epoch` is 1-based within the phase.
    public var report: EpochReport
    /// Epochs the phase has in all (for `epoch/phaseEpochs` progress lines).
    public var phaseEpochs: Int
    /// Weights, FLOPs and units kept after the epoch; nil in the dense phase.
    public var pruning: PruningReport?
    /// AutoPrune's current μ in the prune phase.
    public var mu: Float?
    /// The line written to the run log.
    public var record: EpochRecord
  }

  /// A run on `model`. `rng` defaults to one seeded with `config.seed`; pass the one that
  /// initialised the model to continue its stream (what the CLI does). `session` brings
  /// checkpoints and a resumed state; without one, `logDirectory` (if given) gets the run log.
  public init(
    model: Model, train: any LabelledImages, test: any LabelledImages, config: TrainingConfig = TrainingConfig(), rng: RandomSource? = nil,
    session: CheckpointSession? = nil, logDirectory: String? = nil
  ) throws {
    guard train.sampleShape == model.inputShape, test.sampleShape == model.inputShape else {
      let shape = { (s: [Int]) in s.map(String.init).joined(separator: "×") }
      throw PruningRunError("\(model.name) takes \(shape(model.inputShape)) images; the data has \(shape(train.sampleShape == model.inputShape ? test.sampleShape : train.sampleShape))")
    }
    guard train.count > 0, test.count > 0 else { throw PruningRunError("the training and test sets must both hold images") }
    // The layers trap on what would read outside their buffers; a network of one's own is
    // checked here instead, with words.
    if let problem = model.network.shapeProblem(for: model.inputShape) { throw PruningRunError("\(model.name): \(problem)") }
    let outputs = model.network.outputShape(for: model.inputShape)
    let largestLabel = max(train.labels.max() ?? 0, test.labels.max() ?? 0)
    guard outputs.count == 1, largestLabel < outputs[0], (train.labels + test.labels).allSatisfy({ $0 >= 0 }) else {
      throw PruningRunError("\(model.name) outputs \(outputs.map(String.init).joined(separator: "×")) values; the data's labels run up to \(largestLabel): the last layer needs one output per class")
    }
    let names = model.parameters.map(\.name) + model.buffers.map(\.name)
    if let twice = names.first(where: { name in names.filter { $0 == name }.count > 1 }) {
      throw PruningRunError("\(model.name): two parameters are named \(twice) (give every layer of the Sequential its own name)")
    }
    guard config.batchSize >= 1 else { throw PruningRunError("the batch size must be at least 1 (got \(config.batchSize))") }
    self.model = model
    self.train = train
    self.test = test
    self.config = config
    self.rng = rng ?? RandomSource(seed: config.seed)
    // An image folder is not in memory: its normalisation comes from 2,000 images spread over it.
    normalization = Normalization.fitted(to: try train.sample(limit: 2000))
    stepsPerEpoch = Batcher(count: train.count, batchSize: config.batchSize).batchesPerEpoch
    self.session = try session ?? CheckpointSession(
      directory: nil, policy: .never, arguments: [], log: logDirectory.map { try RunLog(directory: $0) }, resumed: nil,
      stepsPerEpoch: stepsPerEpoch, stages: [])
  }

  /// A run on a built-in architecture, initialised from `config.seed` (the stream the CLI uses,
  /// so the same seed gives the same weights), built for the data's channels, image size and
  /// classes.
  public convenience init(
    _ kind: ModelKind, train: any LabelledImages, test: any LabelledImages, config: TrainingConfig = TrainingConfig(), width: Double = 1,
    session: CheckpointSession? = nil, logDirectory: String? = nil
  ) throws {
    let rng = RandomSource(seed: config.seed)
    let model = Model(
      kind, rng: rng, inputChannels: train.sampleShape[0], width: width, inputSize: kind.takesAnySize ? train.sampleShape[2] : nil, classes: train.classes)
    try self.init(model: model, train: train, test: test, config: config, rng: rng, session: session, logDirectory: logDirectory)
  }

  /// Starts from the dense weights in `path` (and the normalisation it stores); a pruned file
  /// (one with masks) is refused.
  public func loadDense(from path: String) throws {
    try WeightsFile.checkClassNames(path: path, against: train)
    if let stored = try WeightsFile.load(into: model, from: path) { normalization = stored }
    if model.parameters.contains(where: { $0.gate != nil }) {
      throw PruningRunError("\(path) is already pruned (it has masks); start from a dense model")
    }
  }

  /// Puts back a resumed checkpoint's weights and RNG, once, before the first phase.
  private func restoreOnce() throws {
    guard !restored else { return }
    restored = true
    try session.restoreModel(model.parameters, buffers: model.buffers, rng: rng)
  }

  /// Dense training for `epochs` (default `config.epochs`) with the config's learning rate and
  /// schedule; returns the epochs' reports (those of a resumed run included).
  @discardableResult
  public func trainDense(epochs: Int? = nil) throws -> [EpochReport] {
    guard (epochs ?? config.epochs) >= 0 else { throw PruningRunError("dense training needs 0 or more epochs (got \(epochs ?? config.epochs))") }
    try restoreOnce()
    var dense = config
    dense.epochs = epochs ?? config.epochs
    let trainer = Trainer(model: model, config: dense, normalization: normalization, rng: rng)
    let offset = stepsBefore
    try DenseStage.run(trainer, train: train, test: test, session: session) { [self] report in
      announce(Epoch(phase: "dense", report: report, phaseEpochs: dense.epochs, pruning: nil, mu: nil,
                     record: EpochRecord(phase: "dense", report, stepsPerEpoch: stepsPerEpoch, stepOffset: offset)))
    }
    stepsBefore += dense.epochs * stepsPerEpoch
    return session.reports["dense"] ?? []
  }

  private func announce(_ epoch: Epoch) {
    log?.record(epoch.record)
    onEpoch?(epoch)
  }

  /// Test-set loss and accuracy of the model as it is now.
  public func evaluate() throws -> Evaluation { try Trainer.evaluate(model, on: test, normalization: normalization) }

  /// Prunes with the method `name` of `registry` (`autoprune`, `magnitude`, …; see
  /// `PruningMethodRegistry.standard`), built after the starting accuracy is measured.
  /// `settings.pruneEpochs` becomes `epochs`, and the run's seed seeds random pruning and
  /// AutoPrune's random start.
  @discardableResult
  public func prune(
    method name: String, settings: PruningSettings = PruningSettings(), registry: PruningMethodRegistry = .standard,
    epochs: Int, finetuneEpochs: Int, learningRate: Float = 0.01
  ) throws -> PruningOutcome {
    var settings = settings
    settings.pruneEpochs = epochs
    settings.seed = config.seed
    settings.autoprune.m0Seed = config.seed
    _ = try registry.entry(named: name)  // an unknown name is refused before any work
    self.settings = settings
    return try prune(named: name, epochs: epochs, finetuneEpochs: finetuneEpochs, learningRate: learningRate) { model in
      try registry.make(name, model: model, settings: settings)
    }
  }

  /// Prunes with a method `make` builds on the model (gates attached) once the starting
  /// accuracy is measured: `epochs` of joint training with the method's hooks at a constant
  /// `learningRate`, then the masks freeze and W fine-tunes for `finetuneEpochs` (cosine).
  @discardableResult
  public func prune(
    named name: String, epochs: Int, finetuneEpochs: Int, learningRate: Float = 0.01,
    make: (Model) throws -> any PruningMethod
  ) throws -> PruningOutcome {
    guard epochs >= 1, finetuneEpochs >= 0 else { throw PruningRunError("pruning needs at least one epoch (fine-tuning may have none)") }
    guard learningRate > 0 && learningRate.isFinite else { throw PruningRunError("the learning rate must be positive (got \(learningRate))") }
    guard !PrunableLayer.discover(in: model).isEmpty else { throw PruningRunError("\(model.name) has no Dense or Conv2D layer to prune") }
    try restoreOnce()
    // A resumed run has pruned weights by now: the accuracy it started from travels in the
    // checkpoint.
    let starting = try session.remember("dense_test_accuracy") { try evaluate().accuracy }
    let method = try make(model)
    self.method = method
    methodName = name
    onPruningStart?(method, starting)
    let offset = stepsBefore
    let (prune, finetune) = try PruningPhases.run(
      model: model, method: method, config: config, pruneEpochs: epochs, finetuneEpochs: finetuneEpochs,
      learningRate: learningRate, train: train, test: test, normalization: normalization, rng: rng, session: session
    ) { [self] phase, report in
      let pruning = PruningReport(layers: method.layers)
      let mu = phase == .prune ? (method as? AutoPrunePruning)?.mu : nil
      let phaseOffset = offset + (phase == .prune ? 0 : epochs * stepsPerEpoch)
      announce(Epoch(
        phase: phase.rawValue, report: report, phaseEpochs: phase == .prune ? epochs : finetuneEpochs, pruning: pruning, mu: mu,
        record: EpochRecord(phase: phase.rawValue, report, stepsPerEpoch: stepsPerEpoch, stepOffset: phaseOffset, pruning: pruning, mu: mu)))
    }
    stepsBefore += (epochs + finetuneEpochs) * stepsPerEpoch
    return PruningOutcome(
      method: name, summary: method.summary, report: PruningReport(layers: method.layers), testAccuracy: try evaluate().accuracy,
      startingAccuracy: starting, prune: session.reports["prune"] ?? prune, finetune: session.reports["finetune"] ?? finetune,
      budget: (method as? AutoPrunePruning)?.budgetOutcome)
  }

  /// The pruning state now (nil before `prune`).
  public var pruningReport: PruningReport? { method.map { PruningReport(layers: $0.layers) } }

  /// Saves the model as safetensors: weights, masks, the normalisation, an image folder's class
  /// names (`class_names`, a JSON array), and after pruning the method's name, summary and gate
  /// state (`gate.LAYER.AXIS`), written atomically.
  public func save(to path: String) throws {
    var extra: [String: String] = [:]
    if let methodName, let method { extra = ["method": methodName, "summary": method.summary] }
    if let folder = train as? ImageFolderDataset { extra["class_names"] = WeightsFile.encodeClassNames(folder.classNames) }
    try WeightsFile.save(model, normalization: normalization, extra: extra, extraTensors: method?.state ?? [], to: path)
  }

  /// Writes the run's `summary.json` into its log directory (nothing without a log) and
  /// returns it; `out` and `commandLine` are recorded when given.
  @discardableResult
  public func writeSummary(outcome: PruningOutcome?, out: String? = nil, commandLine: String? = nil) throws -> RunSummary {
    var summary = self.summary(outcome: outcome)
    if let out { summary.out = out }
    if let commandLine { summary.commandLine = commandLine }
    try log?.writeSummary(summary)
    return summary
  }

  /// The run's summary as `summary.json` holds it: what was trained and pruned, its figures,
  /// and AutoPrune's settings when it pruned. The caller adds what only it knows (`out`,
  /// `command_line`).
  public func summary(outcome: PruningOutcome?) -> RunSummary {
    var s = RunSummary()
    s.model = model.name
    s.parameters = model.parameterCount
    s.seed = config.seed
    s.augmentation = config.augmentation?.description
    guard let outcome else {
      let dense = session.reports["dense"] ?? []
      s.command = "train"
      s.testAccuracy = dense.last.map { Double(shortest: $0.testAccuracy) }
      s.testLoss = dense.last.map { Double(shortest: $0.testLoss) }
      s.trainAccuracy = dense.last.map { Double(shortest: $0.trainAccuracy) }
      s.epochs = dense.count
      s.epochSeconds = dense.isEmpty ? nil : dense.map(\.seconds).reduce(0, +) / Double(dense.count)
      return s
    }
    s.command = "prune"
    s.setPruning(outcome.report)
    s.testAccuracy = Double(shortest: outcome.testAccuracy)
    s.initialTestAccuracy = Double(shortest: outcome.startingAccuracy)
    // Scratch training has no dense model: it starts from a random initialisation, so tables
    // must not read that as a dense accuracy (nor a Δ from it).
    s.denseTestAccuracy = outcome.method == "scratch" ? nil : Double(shortest: outcome.startingAccuracy)
    s.method = outcome.method
    s.summary = outcome.summary
    s.pruneEpochs = outcome.prune.count
    s.finetuneEpochs = outcome.finetune.count
    s.pruneSteps = outcome.prune.count * stepsPerEpoch
    let seconds = outcome.prune.isEmpty ? 0 : outcome.prune.map(\.seconds).reduce(0, +) / Double(outcome.prune.count)
    s.pruneEpochSeconds = seconds
    s.epochSeconds = seconds
    // Only the methods that read it (magnitude pruning has no granularity to report).
    if let settings, method is AutoPrunePruning || method is L0Pruning {
      s.granularity = settings.gatePlan == nil ? settings.granularity.rawValue : "per-layer"
    }
    if let autoprune = method as? AutoPrunePruning {
      let o = autoprune.options
      s.mu = Double(shortest: o.mu)
      s.finalMu = Double(shortest: autoprune.mu)
      s.etaM = o.clock == .phase ? nil : Double(shortest: o.etaM)
      s.gateClock = o.clock.rawValue
      s.muScale = o.muScale.rawValue
      s.ste = "\(o.ste)"
      s.targetKeptFraction = o.targetKeptFraction.map { Double(shortest: $0) }
      if let budget = outcome.budget {
        s.budgetReached = budget.reachable ? Double(shortest: budget.reached) : nil
        s.budgetStep = budget.step
      }
    }
    return s
  }
}

/// What a pruning run came to.
public struct PruningOutcome {
  /// The method's registry name (`autoprune`, `magnitude`, …).
  public var method: String
  /// The method's one-line description (`PruningMethod.summary`).
  public var summary: String
  /// Weights, FLOPs and units kept, per layer and in total.
  public var report: PruningReport
  /// Test accuracy at the end: after fine-tuning, or after the pruning phase when there is none.
  public var testAccuracy: Float
  /// Test accuracy of the model pruning started from (measured before the method's gates were
  /// attached; a resumed run remembers it from its checkpoint).
  public var startingAccuracy: Float
  /// The pruning epochs' reports, those before a resume included.
  public var prune: [EpochReport]
  /// The fine-tuning epochs' reports (masks frozen); empty without fine-tuning.
  public var finetune: [EpochReport]
  /// AutoPrune on the phase clock with a target: where the masks froze; nil otherwise.
  public var budget: AutoPrunePruning.BudgetOutcome?
}

/// A run that cannot start as asked.
public struct PruningRunError: Error, CustomStringConvertible, Equatable {
  public let description: String
  /// An error with the message `description`.
  public init(_ description: String) { self.description = description }
}
