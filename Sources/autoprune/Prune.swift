import AutoPrune
import AutoPruneKernels
import AutoPruneNN
import ArgumentParser
import Foundation

extension Granularity: ExpressibleByArgument {}
extension AutoPruneOptions.Sensitivity: ExpressibleByArgument {}
extension AutoPruneOptions.MaskedWeights: ExpressibleByArgument {}
extension AutoPruneOptions.ClosedGateDecay: ExpressibleByArgument {}
extension AutoPruneOptions.PenaltyWeighting: ExpressibleByArgument {}
extension AutoPruneOptions.UnitDataTerm: ExpressibleByArgument {}
extension AutoPruneOptions.MuScale: ExpressibleByArgument {}
extension AutoPruneOptions.STEScope: ExpressibleByArgument {}
extension AutoPruneOptions.GateClock: ExpressibleByArgument {}
extension BatchNorm2D.ClosedChannelGradient: ExpressibleByArgument {}

/// The AutoPrune method's switches (METHOD.md), each with the phase clock's default
/// (`--gate-clock step` gives METHOD's).
struct PruningOptions: ParsableArguments {
  @Option(help: "Gate granularity: weight (every weight) or unit (neurons/filters, and input features of a first dense layer).")
  var granularity = Granularity.weight

  @Option(help: ArgumentHelp(
    "Gates chosen per layer instead of --granularity: NAME=AXES,… with AXES from element, output, input joined by +.",
    discussion: "Example: --layer-gates fc1=input+output,fc2=output (layers not named stay dense)."))
  var layerGates: String?

  @Option(parsing: .unconditional, help: ArgumentHelp(
    "Regularisation strength μ of the gate count (default \(AutoPruneOptions.defaultRelativeMu) on the phase clock, in units of the network's gradient scale; \(AutoPruneOptions.defaultAbsoluteMu) on the step clock).",
    discussion: "On the phase clock μ is a threshold: a gate stays open when its average data term pulls it open by more than μ/2 of the scale (travel 2). The scale is the geometric mean over gated layers of each layer's mean |g| (weight gates) or mean |data term| per unit (unit gates), measured over the first twentieth of the phase."))
  var mu: Float?

  @Option(name: .customLong("mask-lr"), parsing: .unconditional, help: "Learning rate of the gates' parameters: AutoPrune's η_M (giving it selects the step clock; default 10 there), L0's Adam rate of log α (default 0.01).")
  var maskLr: Float?

  @Option(name: .customLong("eta-m"), parsing: .unconditional, help: .hidden)
  var etaMAlias: Float?

  @Option(name: .customLong("l0-lr"), parsing: .unconditional, help: .hidden)
  var l0LrAlias: Float?

  /// `--mask-lr` (or its old names `--eta-m`, `--l0-lr`).
  var etaM: Float? { maskLr ?? etaMAlias ?? l0LrAlias }

  @Option(help: "Gate clock: phase (gate steps sized from the pruning phase's length, so any data set size prunes alike) or step (METHOD's per-step rule with η_M as given, the reproduction recipes' behaviour). Default: phase, or step when --mask-lr is given.")
  var gateClock: AutoPruneOptions.GateClock?

  @Option(parsing: .unconditional, help: "Phase clock: how far (in units of m0) the penalty alone moves a gate over the pruning phase at the starting μ (with a target: before --budget-by).")
  var travel: Float = 2

  @Option(parsing: .unconditional, help: "Phase clock with a target: the fraction of the pruning phase by which the target is reached exactly and the masks freeze.")
  var budgetBy: Float = 0.5

  @Option(parsing: .unconditional, help: ArgumentHelp(
    "Density feedback γ: each layer's penalty is multiplied by its kept fraction to the power γ (default 0: METHOD's constant penalty).",
    discussion: "As a layer thins, what is left of it is pushed less, so compression grows more slowly with μ (LeNet-300-100, γ 1: ×2 per ×3 of μ instead of ×4–6). With γ 1, μ 1 gives about the compression μ 0.07 gives without it (docs/pruning.md, Density feedback)."))
  var densityFeedback: Float = 0

  @Option(name: .customLong("m0"), parsing: .unconditional, help: "Initial auxiliary parameter (positive: gates open).")
  var m0: Float = 1

  @Option(name: .customLong("m0-spread"), parsing: .unconditional, help: "Random start: m ~ U(m0·(1−s), m0·(1+s)), s in [0, 1) (0: constant m0).")
  var m0Spread: Float = 0

  @Option(parsing: .unconditional, help: "Momentum of the auxiliary parameters' SGD (METHOD default 0: plain SGD).")
  var auxiliaryMomentum: Float = 0

  @Option(help: "Straight-through estimator: identity, leaky-relu[:α], softplus[:β].")
  var ste = "leaky-relu:0.1"

  @Option(help: "Terms the STE multiplies: both (METHOD.md) or penalty-only.")
  var steScope = AutoPruneOptions.STEScope.both

  @Option(help: "Data term uses sgn(w) (sign) or w (magnitude).")
  var sensitivity = AutoPruneOptions.Sensitivity.sign

  @Flag(inversion: .prefixedNo, help: "Correlation consistency: couple the gate step to sgn(w); off drops the coupling.")
  var correlationConsistency = true

  @Option(help: "Masked weights: recoverable (updated with g) or frozen (g·h(m)).")
  var maskedWeights = AutoPruneOptions.MaskedWeights.recoverable

  @Option(help: "Weight decay on weights whose gate is closed: skip or apply.")
  var closedGateDecay = AutoPruneOptions.ClosedGateDecay.skip

  @Option(help: "Penalty per gate: count, params (weights it covers) or flops.")
  var penaltyWeighting = AutoPruneOptions.PenaltyWeighting.count

  @Option(help: "What μ is measured in: absolute (gradient units), gradient-relative (each layer's own mean |data term| per gate; |g| on the step clock) or network-relative (the whole network's, one threshold for all layers). Default: network-relative on the phase clock, absolute on the step clock.")
  var muScale: AutoPruneOptions.MuScale?

  @Option(help: "Data term of a unit gate on a layer a BatchNorm follows: batchnorm (default: the channel after normalisation, g_γ·sgn(γ) + g_β·sgn(β)) or filter (METHOD's Σ g·sgn(w), about zero before BatchNorm).")
  var unitDataTerm = AutoPruneOptions.UnitDataTerm.batchNorm

  @Option(help: "Gradient a closed BatchNorm channel (pruned filter) sends back: pass-through (as inference-form BatchNorm would, so the filter stays recoverable) or zero (exact).")
  var closedChannelGradient = BatchNorm2D.ClosedChannelGradient.passThrough

  @Option(parsing: .unconditional, help: "Adapt μ until this fraction of weights is pruned (e.g. 0.97).")
  var targetSparsity: Float?

  @Option(parsing: .unconditional, help: "Adapt μ until this fraction of FLOPs is pruned.")
  var targetFlopsReduction: Float?

  @Option(parsing: .unconditional, help: "Adapt μ until this many weights of the prunable layers are kept (biases and BatchNorm not counted, as in the compression ratio).")
  var targetParams: Int?

  /// The clock the flags select.
  var clock: AutoPruneOptions.GateClock { gateClock ?? (etaM == nil ? .phase : .step) }

  @Flag(help: "Step clock with a target: freeze the masks the first time the target is reached; W trains on under them for the rest of the pruning epochs. (The phase clock always lands on its target by --budget-by and freezes.)")
  var freezeAtTarget = false

  /// `--layer-gates` parsed into a per-layer plan (nil when not given).
  func plan() throws -> GatePlan? {
    guard let layerGates else { return nil }
    do {
      return try GatePlan(parsing: layerGates)
    } catch let error as GatePlanError {
      throw ValidationError("--layer-gates: \(error)")
    }
  }

  func validate() throws {
    _ = try plan()
    guard STE(parsing: ste) != nil else {
      throw ValidationError("--ste \(ste): expected identity, leaky-relu[:α] or softplus[:β] with a positive number")
    }
    if let mu, !(mu >= 0 && mu.isFinite) { throw ValidationError("--mu must be ≥ 0 (got \(mu))") }
    if [maskLr, etaMAlias, l0LrAlias].compactMap({ $0 }).count > 1 { throw ValidationError("--eta-m and --l0-lr are old names of --mask-lr: give --mask-lr once") }
    if let etaM, !(etaM > 0 && etaM.isFinite) { throw ValidationError("--mask-lr must be positive (got \(etaM))") }
    if clock == .phase {
      if etaM != nil { throw ValidationError("--mask-lr fixes η_M, which the phase clock derives: drop it, or use --gate-clock step") }
      if mu == 0 { throw ValidationError("--mu 0 on the phase clock prunes nothing (μ sets its step size): use `train`, or --gate-clock step") }
    }
    if !(travel > 0 && travel.isFinite) { throw ValidationError("--travel must be positive (got \(travel))") }
    if !(budgetBy > 0 && budgetBy <= 1) { throw ValidationError("--budget-by must be in (0, 1] (got \(budgetBy))") }
    if !(densityFeedback >= 0 && densityFeedback <= 4) { throw ValidationError("--density-feedback must be in [0, 4] (got \(densityFeedback))") }
    if let targetParams, targetParams < 1 { throw ValidationError("--target-params must be at least 1 (got \(targetParams))") }
    if !(m0 > 0 && m0.isFinite) { throw ValidationError("--m0 must be positive so gates start open (got \(m0))") }
    if !(m0Spread >= 0 && m0Spread < 1) { throw ValidationError("--m0-spread must be in [0, 1) (got \(m0Spread))") }
    if !(auxiliaryMomentum >= 0 && auxiliaryMomentum < 1) {
      throw ValidationError("--auxiliary-momentum must be in [0, 1) (got \(auxiliaryMomentum))")
    }
    for (flag, value) in [("--target-sparsity", targetSparsity), ("--target-flops-reduction", targetFlopsReduction)] {
      if let value, !(value > 0 && value < 1) { throw ValidationError("\(flag) must be in (0, 1) (got \(value))") }
    }
    let targets = [targetSparsity.map { _ in "--target-sparsity" }, targetFlopsReduction.map { _ in "--target-flops-reduction" },
                   targetParams.map { _ in "--target-params" }].compactMap { $0 }
    if freezeAtTarget && targets.isEmpty {
      throw ValidationError("--freeze-at-target needs --target-sparsity, --target-flops-reduction or --target-params")
    }
    if targets.count > 1 { throw ValidationError("give one target, not \(targets.joined(separator: " and "))") }
    if freezeAtTarget && clock == .phase {
      throw ValidationError("--freeze-at-target is the step clock's (--gate-clock step): the phase clock always lands on its target by --budget-by and freezes")
    }
  }

  /// The method's options; `weights` is the prunable layers' weight count (for --target-params).
  func options(weights: Int) throws -> AutoPruneOptions {
    var o = clock == .phase ? AutoPruneOptions() : AutoPruneOptions.stepClock
    if let mu { o.mu = mu }
    if let etaM { o.etaM = etaM }
    o.travel = travel
    o.budgetBy = budgetBy
    o.densityFeedback = densityFeedback
    o.m0 = m0
    o.m0Spread = m0Spread
    o.auxiliaryMomentum = auxiliaryMomentum
    o.ste = STE(parsing: ste)!
    o.steScope = steScope
    o.sensitivity = sensitivity
    o.correlationConsistency = correlationConsistency
    o.maskedWeights = maskedWeights
    o.weightDecayOnClosedGates = closedGateDecay
    o.penaltyWeighting = penaltyWeighting
    o.unitDataTerm = unitDataTerm
    if let muScale { o.muScale = muScale }
    if let t = targetSparsity { o.targetKeptFraction = 1 - t }
    if let t = targetFlopsReduction {
      o.targetKeptFraction = 1 - t
      o.targetIsFLOPs = true
    }
    if let targetParams {
      guard targetParams < weights else {
        throw ValidationError("--target-params \(targetParams): the model's prunable layers have only \(weights) weights")
      }
      o.targetKeptFraction = Float(targetParams) / Float(weights)
    }
    o.freezeAtTarget = freezeAtTarget
    return o
  }
}

struct Prune: ParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Prune a model with AutoPrune: dense pretrain (or --weights), joint W/M pruning, optional fine-tune.")

  @Option(help: "Model: \(ModelKind.names) (default: the network in --weights).")
  var model: ModelKind?

  @OptionGroup var dataOptions: DataOptions
  @OptionGroup var width: WidthOption

  @Option(help: ArgumentHelp(
    "Method: autoprune (default) or a baseline by name: \(PruningMethodRegistry.standard.names.dropFirst().joined(separator: ", ")).",
    discussion: PruningMethodRegistry.standard.entries.map { "\($0.name): \($0.help)" }.joined(separator: "\n")))
  var method = "autoprune"

  @Option(parsing: .unconditional, help: "Target fraction of weights pruned, for magnitude, iterative, gradual and random.")
  var sparsity: Float?

  @Option(help: "For --method scratch: the pruned model whose masks are retrained from random weights.")
  var masks: String?

  @Option(name: .customLong("masks-from"), help: .hidden)
  var masksFromAlias: String?

  var masksFrom: String? { masks ?? masksFromAlias }

  @Option(parsing: .unconditional, help: "Targeted dropout: probability α of dropping a candidate (the --sparsity smallest weights) each step.")
  var targetedDropRate: Float = 0.5

  @Option(name: .customLong("l0-lambda"), parsing: .unconditional, help: "L0: weight λ of the expected number of open gates.")
  var l0Lambda: Float = 1e-4

  @Option(name: .customLong("dns-c"), parsing: .unconditional, help: "DNS threshold: t = mean|w| + c·std|w| per layer, cut below 0.9t, splice above 1.1t.")
  var dnsC: Float = 0

  @Option(help: "Start from these dense weights (from `autoprune train`).")
  var weights: String?

  @Option(name: .customLong("from"), help: .hidden)
  var fromAlias: String?

  /// `--weights` (or its old name `--from`).
  var from: String? { weights ?? fromAlias }

  @Option(parsing: .unconditional, help: "Dense epochs before pruning when there is no --weights (0: prune from scratch).")
  var pretrainEpochs: Int?

  @Option(parsing: .unconditional, help: "Joint W/M pruning epochs (default: enough for \(Prune.defaultPruneSteps) steps, 1 to 300: 10 on 60,000 images at batch 100, 300 on 2,000).")
  var pruneEpochs: Int?

  @Option(parsing: .unconditional, help: "Fine-tuning epochs of W with M frozen (default: enough for \(Prune.defaultFinetuneSteps) steps, at most 300; 0 skips fine-tuning).")
  var finetuneEpochs: Int?

  /// Default phase lengths, in steps rather than epochs: compression still grows with the
  /// steps W and M train together (LeNet-300-100 on 2,000 images at the default μ: 6.9× after
  /// 600 steps, 29.6× after 6,000; 24.0× after 6,000 on 60,000), so a small data set gets more
  /// epochs, not a different result (docs/pruning.md, "The phase clock").
  static let defaultPruneSteps = 6_000
  static let defaultFinetuneSteps = 3_000

  /// Whole epochs covering `steps`, at least 1 and at most 300 (every epoch also evaluates the
  /// test set, so a handful of images must not turn into thousands of one-step epochs).
  static func epochs(covering steps: Int, stepsPerEpoch: Int) -> Int {
    min(300, max(1, (steps + stepsPerEpoch - 1) / max(1, stepsPerEpoch)))
  }

  @Option(parsing: .unconditional, help: "Learning rate of W while pruning and fine-tuning (SGD, momentum 0.9).")
  var pruneLr: Float = 0.01

  @OptionGroup var pruning: PruningOptions
  @OptionGroup var training: TrainingOptions
  @OptionGroup var runOptions: RunOptions
  @OptionGroup var logOptions: LogOptions
  @OptionGroup var checkpoints: CheckpointOptions
  @OptionGroup var progressOptions: ProgressOptions

  @Option(help: "Where to write the pruned model (.safetensors with masks and gate state).")
  var out: String

  func validate() throws {
    _ = try either(weights, fromAlias, "--weights", old: "--from")
    _ = try either(masks, masksFromAlias, "--masks", old: "--masks-from")
    if training.epochs != nil { throw ValidationError("prune takes --pretrain-epochs, --prune-epochs and --finetune-epochs, not --epochs") }
    try Output.checkWritableDestination(out, flag: "--out", inputs: [("--weights", from), ("--masks", masksFrom)] + dataOptions.inputFiles)
    try RunModel.check(kind: model, weights: from, width: width, data: dataOptions)
    if from != nil && pretrainEpochs != nil { throw ValidationError("give --weights or --pretrain-epochs, not both") }
    if from == nil && pretrainEpochs == nil {
      throw ValidationError("give --weights DENSE.safetensors or --pretrain-epochs N (0 prunes from random weights)")
    }
    try checkEpochs("--pretrain-epochs", pretrainEpochs, atLeast: 0)
    try checkEpochs("--prune-epochs", pruneEpochs, atLeast: 1)
    try checkEpochs("--finetune-epochs", finetuneEpochs, atLeast: 0)
    if !(pruneLr > 0 && pruneLr.isFinite) { throw ValidationError("--prune-lr must be positive (got \(pruneLr))") }
    let registry = PruningMethodRegistry.standard
    guard let entry = try? registry.entry(named: method) else {
      throw ValidationError("--method \(method): expected one of \(registry.names.joined(separator: ", "))")
    }
    if !(targetedDropRate > 0 && targetedDropRate <= 1) { throw ValidationError("--targeted-drop-rate must be in (0, 1] (got \(targetedDropRate))") }
    if entry.needsSparsity && sparsity == nil { throw ValidationError("--method \(method) needs --sparsity F") }
    if !entry.needsSparsity && sparsity != nil {
      let takers = registry.entries.filter(\.needsSparsity).map(\.name).sorted().joined(separator: ", ")
      throw ValidationError("--sparsity is for \(takers); --method \(method) \(method == "autoprune" ? "takes --target-sparsity" : "does not use it")")
    }
    if let sparsity, !(sparsity > 0 && sparsity < 1) { throw ValidationError("--sparsity must be in (0, 1) (got \(sparsity))") }
    if !dnsC.isFinite { throw ValidationError("--dns-c must be a number") }
    if !(l0Lambda >= 0 && l0Lambda.isFinite) { throw ValidationError("--l0-lambda must be ≥ 0 (got \(l0Lambda))") }
    if pruning.etaM != nil && !["autoprune", "l0"].contains(method) { throw ValidationError("--mask-lr is for --method autoprune or l0, not \(method)") }
    if method == "scratch" {
      guard masksFrom != nil else { throw ValidationError("--method scratch needs --masks PRUNED.safetensors") }
      guard from == nil && pretrainEpochs == 0 else {
        throw ValidationError("--method scratch starts from random weights: use --pretrain-epochs 0, not --weights")
      }
    }
  }

  func run() throws {
    runOptions.apply()
    DataParallel.synchronizesBatchNorm = training.syncBatchnorm
    DataParallel.bucketBytes = Int(training.allreduceBucketMb * 1_048_576)
    let (net, rng, train, test, label) = try RunModel.make(kind: model, weights: from, width: width.width, data: dataOptions, seed: training.seed)
    let stepsPerEpoch = Batcher(count: train.count, batchSize: training.batchSize).batchesPerEpoch
    let pretrain = from == nil ? pretrainEpochs ?? 0 : 0
    let pruneEpochs = self.pruneEpochs ?? Prune.epochs(covering: Prune.defaultPruneSteps, stepsPerEpoch: stepsPerEpoch)
    let finetuneEpochs = self.finetuneEpochs ?? Prune.epochs(covering: Prune.defaultFinetuneSteps, stepsPerEpoch: stepsPerEpoch)
    let stages = [("dense", pretrain), ("prune", pruneEpochs), ("finetune", finetuneEpochs)].filter { $0.1 > 0 }
    let progress = Progress(quiet: progressOptions.quiet, stages: stages, stepsPerEpoch: stepsPerEpoch, batchSize: training.batchSize, samples: train.count)
    let (log, session) = try checkpoints.session(
      runDirectory: logOptions.directory(writing: out, resuming: checkpoints.resume), stepsPerEpoch: stepsPerEpoch, stages: stages, progress: progress)
    var config = training.config
    if training.augment == nil, let shifts = PruningAugmentation.automatic(pruneEpochs: pruneEpochs, data: train) {
      config.augmentation = shifts
      progress.say("training on images shifted by up to \(shifts.padding) pixels (\(pruneEpochs) pruning epochs would teach the network \(train.count) images by heart; --no-augment turns this off)")
    }
    let run = try PruningRun(model: net, train: train, test: test, config: config, rng: rng, session: session)
    // Before any training: a --target-params beyond the model's size or a --layer-gates naming
    // no layer is refused at once.
    let settings = try self.settings(for: run.model)
    for bn in PrunableLayer.discover(in: run.model).compactMap(\.batchNorm) { bn.closedChannelGradient = pruning.closedChannelGradient }
    if let from {
      try run.loadDense(from: from)
      progress.say("loaded dense \(net.name) from \(from)")
    }
    run.onEpoch = { progress.epoch(Prune.epochLine($0)) }
    if pretrain > 0 {
      progress.say("dense pretraining: \(pretrain) epochs")
      try run.trainDense(epochs: pretrain)
    }
    run.onPruningStart = { method, starting in
      progress.say("dense test accuracy \(TextTable.percent(starting)) on \(label)")
      progress.kept = { PruningReport(layers: method.layers).keptFraction }
      progress.say("pruning: \(method.summary), \(pruneEpochs) epochs" + (finetuneEpochs > 0 ? ", then \(finetuneEpochs) fine-tuning epochs with masks frozen" : ""))
    }
    let outcome = try run.prune(method: method, settings: settings, epochs: pruneEpochs, finetuneEpochs: finetuneEpochs, learningRate: pruneLr)
    try run.save(to: out)
    progress.say("\n" + outcome.report.table)
    if let budget = outcome.budget { progress.say(budget.line(flops: settings.autoprune.targetIsFLOPs, stepsPerEpoch: stepsPerEpoch)) }
    let summary = run.summary(outcome: outcome)
    print(String(format: "\ntest accuracy %@ (dense %@, Δ %+.2f points), compression %.1f×, FLOPs %@, %.2f s per pruning epoch; saved %@",
                 TextTable.percent(outcome.testAccuracy), TextTable.percent(outcome.startingAccuracy), 100 * (outcome.testAccuracy - outcome.startingAccuracy),
                 outcome.report.compression, TextTable.percent(outcome.report.flopsFraction), summary.pruneEpochSeconds ?? 0, out + (log.map { " (run log in \($0.directory.path))" } ?? "")))
    if let world = MPI.world, world.size > 1 { print(Output.collectiveLine(world, steps: (pretrain + pruneEpochs + finetuneEpochs) * stepsPerEpoch)) }
    try Output.finish(summary, out: out, granularity: pruning.layerGates.map { "per-layer \($0)" }, json: runOptions.json, log: log)
    session.finish()
  }

  /// The method's settings from the flags, checked against `model` (its prunable weights for
  /// --target-params, its layer names for --layer-gates).
  func settings(for model: Model) throws -> PruningSettings {
    var settings = PruningSettings()
    settings.autoprune = try pruning.options(weights: PruningReport(layers: PrunableLayer.discover(in: model)).weights)
    settings.granularity = pruning.granularity
    settings.gatePlan = try pruning.plan()
    do {
      try settings.gatePlan?.check(against: model)
    } catch let error as GatePlanError {
      throw ValidationError("--layer-gates: \(error)")
    }
    settings.sparsity = sparsity
    settings.masksFrom = masksFrom
    settings.targetedDropRate = targetedDropRate
    (settings.l0Lambda, settings.dnsC) = (l0Lambda, dnsC)
    if method == "l0", let rate = pruning.etaM { settings.l0LearningRate = rate }
    return settings
  }

  /// One epoch's progress line: figures, and the pruning state while pruning.
  static func epochLine(_ e: PruningRun.Epoch) -> String {
    let r = e.report
    var line = String(format: "%@ %2ld/%ld  loss %.4f  train %.2f%%  test %.2f%%  %.2fs", e.phase == "finetune" ? "fine-tune" : e.phase, r.epoch,
                      e.phaseEpochs, r.trainLoss, 100 * r.trainAccuracy, 100 * r.testAccuracy, r.seconds)
    if e.phase == "prune", let p = e.pruning { line += String(format: "  kept %.2f%%  %.1f×", 100 * p.keptFraction, p.compression) }
    if let mu = e.mu { line += String(format: "  μ %.3g", mu) }
    return line
  }
}
