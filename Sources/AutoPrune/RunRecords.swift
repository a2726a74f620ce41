import Foundation

/// One line of a run's `log.jsonl` (docs/run-log.md): one epoch of one phase, with the pruning
/// state when the phase prunes.
public struct EpochRecord: Codable, Equatable, Sendable {
  /// `dense`, `prune` or `finetune`.
  public var phase: String
  /// 1-based epoch within the phase.
  public var epoch: Int
  // The figures are optional so that a line written by hand or by another tool, holding only
  // some of them, still reads (what it lacks is not drawn).
  /// Optimizer steps since the run started, at the end of this epoch.
  public var step: Int?
  /// Mean training loss over the epoch.
  public var loss: Double?
  /// Fraction in [0, 1] of the training samples classified correctly during the epoch, with
  /// dropout and stochastic gates active (so it can trail the test accuracy).
  public var trainAccuracy: Double?
  /// Fraction in [0, 1] of the test set classified correctly after the epoch.
  public var testAccuracy: Double?
  /// Mean test loss (softmax cross-entropy per sample) after the epoch.
  public var testLoss: Double?
  /// Learning rate of W in this epoch (the gates' η_M is separate).
  public var learningRate: Double?
  /// Training time of the epoch (evaluation excluded).
  public var epochSeconds: Double?
  /// Seconds since the log was opened (set by `RunLog.record`).
  public var elapsedSeconds: Double?
  /// Pruning phases: weights kept / weights, in [0, 1].
  public var keptFraction: Double?
  /// Pruning phases: multiply-adds kept / dense multiply-adds, in [0, 1].
  public var flopsFraction: Double?
  /// Pruning phases: weights / weights kept (≥ 1).
  public var compression: Double?
  /// Pruning phases: surviving widths, e.g. `784-112-43-10`.
  public var architecture: String?
  /// Pruning phases: layer name → kept fraction.
  public var perLayerKept: [String: Double]?
  /// AutoPrune's prune phase: the current μ.
  public var mu: Double?

  enum CodingKeys: String, CodingKey {
    case phase, epoch, step, loss, compression, architecture, mu
    case trainAccuracy = "train_accuracy", testAccuracy = "test_accuracy", testLoss = "test_loss"
    case learningRate = "learning_rate", epochSeconds = "epoch_seconds", elapsedSeconds = "elapsed_seconds"
    case keptFraction = "kept_fraction", flopsFraction = "flops_fraction", perLayerKept = "per_layer_kept"
  }

  /// The record of `report`, epoch `report.epoch` of `phase`, `stepOffset` steps into the run;
  /// `pruning` and `mu` when the phase prunes.
  public init(phase: String, _ report: EpochReport, stepsPerEpoch: Int, stepOffset: Int, pruning: PruningReport? = nil, mu: Float? = nil) {
    self.phase = phase
    epoch = report.epoch
    step = stepOffset + report.epoch * stepsPerEpoch
    loss = Double(shortest: report.trainLoss)
    trainAccuracy = Double(shortest: report.trainAccuracy)
    testAccuracy = Double(shortest: report.testAccuracy)
    testLoss = Double(shortest: report.testLoss)
    learningRate = Double(shortest: report.learningRate)
    epochSeconds = report.seconds
    if let pruning {
      keptFraction = Double(shortest: pruning.keptFraction)
      flopsFraction = Double(shortest: pruning.flopsFraction)
      compression = pruning.compression
      architecture = pruning.architecture
      perLayerKept = Dictionary(pruning.layers.map { ($0.name, Double(shortest: Float($0.keptWeights) / Float(max(1, $0.weights)))) }) { a, _ in a }
    }
    self.mu = mu.map { Double(shortest: $0) }
  }
}

/// One layer's row of a pruning summary (`summary.json`'s `per_layer`).
public struct LayerRecord: Codable, Equatable, Sendable {
  /// The layer's parameter prefix (`fc1`, `layer1.0.conv1`).
  public var name: String
  /// Weights of the layer (rows × columns; biases not counted).
  public var weights: Int
  /// Weights still counted as kept: non-zero, of an alive unit, reading an alive input.
  public var keptWeights: Int
  // Optional so that a summary holding only the counts (written by hand or an older tool)
  // still reads.
  /// `weights / keptWeights`, with the kept count floored at 1 (a layer pruned to nothing reads
  /// `weights`, not infinity).
  public var compression: Double?
  /// Dense multiply-adds per sample: weights × output positions, plus one per output element of
  /// a following BatchNorm.
  public var flops: Int?
  /// Multiply-adds per sample the pruned layer still does.
  public var keptFlops: Int?
  /// Output units: neurons or filters.
  public var units: Int?
  /// Units still alive by `ChannelGraph`'s rule (something writes them and something reads them).
  public var aliveUnits: Int?

  enum CodingKeys: String, CodingKey {
    case name, weights, compression, flops, units
    case keptWeights = "kept_weights", keptFlops = "kept_flops", aliveUnits = "alive_units"
  }
}

/// A run's `summary.json` (docs/run-log.md), the object `--json` prints: what `train` and
/// `prune` report when they finish. Fields a command does not produce are nil (absent in the
/// file); files of earlier versions read too (they wrote `null` for some).
public struct RunSummary: Codable, Equatable, Sendable {
  /// `train` or `prune` (or a caller's own).
  public var command: String?
  /// The model's name as weights files record it (`lenet5`, `vgg-like`, or a custom model's name).
  public var model: String?
  /// Every parameter value of the dense model (weights, biases, BatchNorm's γ and β), masks
  /// ignored.
  public var parameters: Int?
  /// Final test accuracy, a fraction in [0, 1]: after the last dense epoch for `train`, after
  /// fine-tuning for `prune`.
  public var testAccuracy: Double?
  /// `train`: mean test loss after the last epoch.
  public var testLoss: Double?
  /// `train`: accuracy on the training set during the last epoch, a fraction in [0, 1].
  public var trainAccuracy: Double?
  /// Accuracy of the dense model pruning started from (nil for scratch training, which starts
  /// from random weights).
  public var denseTestAccuracy: Double?
  /// Accuracy of the model the pruning phase started from.
  public var initialTestAccuracy: Double?
  /// Mean training seconds per epoch, evaluation excluded: of the dense epochs for `train`, of
  /// the pruning epochs for `prune` (then equal to `pruneEpochSeconds`).
  public var epochSeconds: Double?
  /// `train`: dense epochs run.
  public var epochs: Int?
  /// `train`: worker threads of the run (set by the command, not by `PruningRun`).
  public var threads: Int?
  /// `train`: the dense matrix-multiply backend (`GEMM.backend`); the timings depend on it.
  public var gemm: String?
  /// `train`: peak resident memory of the process, in MiB.
  public var peakRssMib: Double?
  /// Path the model was written to.
  public var out: String?
  /// `train`: the data set, as the `--data` directory or the bundled subset's description
  /// (`, padded to S×S` appended after `--resize`).
  public var data: String?
  /// Seed of the run's RNG: initialisation, shuffling, and the pruning methods' random choices.
  public var seed: UInt64?
  /// The command as run (`autoprune …`, without `--resume`), so it can be run again.
  public var commandLine: String?
  /// How training batches were augmented (`shifts ±3 px`, `shifts ±4 px, flips`); nil for none.
  public var augmentation: String?

  // Pruning.
  /// Pruning method's registry name (`autoprune`, `magnitude`, …, `scratch`).
  public var method: String?
  /// The method's one-line description.
  public var summary: String?
  /// Where the gates sit: `weight` or `unit`, or `per-layer` (the CLI appends the plan) when a
  /// `GatePlan` chose them.
  public var granularity: String?
  /// Total weights / weights kept (≥ 1).
  public var compression: Double?
  /// Multiply-adds kept / dense multiply-adds, in [0, 1].
  public var flopsFraction: Double?
  /// Weights kept over all prunable layers (`PruningReport`'s rule).
  public var keptWeights: Int?
  /// Weights of the Dense and Conv2D layers (biases and BatchNorm excluded).
  public var weights: Int?
  /// Dense multiply-adds per sample.
  public var flops: Int?
  /// Multiply-adds per sample of the pruned network.
  public var keptFlops: Int?
  /// Surviving widths, e.g. `784-112-43-10`.
  public var architecture: String?
  /// One row per prunable layer, in forward order.
  public var perLayer: [LayerRecord]?
  /// AutoPrune: μ as configured (`AutoPruneOptions.mu`), in the units `muScale` names.
  public var mu: Double?
  /// AutoPrune: μ when pruning ended; differs from `mu` only when a target adapted it.
  public var finalMu: Double?
  /// AutoPrune on the step clock: η_M as given; nil on the phase clock, which derives η_M from
  /// the phase's length.
  public var etaM: Double?
  /// AutoPrune: `phase` or `step` (`AutoPruneOptions.GateClock`).
  public var gateClock: String?
  /// AutoPrune: `absolute`, `gradient-relative` or `network-relative` (`AutoPruneOptions.MuScale`).
  public var muScale: String?
  /// AutoPrune: the straight-through estimator as `STE.description` writes it (`leaky-relu:0.1`).
  public var ste: String?
  /// AutoPrune with a target: the kept fraction asked for (of weights, or of multiply-adds).
  public var targetKeptFraction: Double?
  /// AutoPrune on the phase clock with a target: the kept fraction the masks froze at; nil when
  /// the target was out of reach (closing every gate still kept more).
  public var budgetReached: Double?
  /// AutoPrune on the phase clock with a target: the step of the pruning phase (0-based count of
  /// steps taken) at which the masks froze.
  public var budgetStep: Int?
  /// Optimizer steps of the pruning phase (pruning epochs × steps per epoch).
  public var pruneSteps: Int?
  /// Pruning-phase epochs run.
  public var pruneEpochs: Int?
  /// Fine-tuning epochs run, with the masks frozen.
  public var finetuneEpochs: Int?
  /// Mean training seconds per pruning epoch, evaluation excluded.
  public var pruneEpochSeconds: Double?

  enum CodingKeys: String, CodingKey {
    case command, model, parameters, epochs, threads, gemm, out, data, seed, method, summary, granularity, compression, augmentation
    case weights, flops, architecture, mu, ste
    case testAccuracy = "test_accuracy", testLoss = "test_loss", trainAccuracy = "train_accuracy"
    case denseTestAccuracy = "dense_test_accuracy", initialTestAccuracy = "initial_test_accuracy"
    case epochSeconds = "epoch_seconds", peakRssMib = "peak_rss_mib", commandLine = "command_line"
    case flopsFraction = "flops_fraction", keptWeights = "kept_weights", keptFlops = "kept_flops", perLayer = "per_layer"
    case finalMu = "final_mu", etaM = "eta_m", gateClock = "gate_clock", muScale = "mu_scale"
    case targetKeptFraction = "target_kept_fraction", budgetReached = "budget_reached", budgetStep = "budget_step"
    case pruneSteps = "prune_steps", pruneEpochs = "prune_epochs", finetuneEpochs = "finetune_epochs"
    case pruneEpochSeconds = "prune_epoch_seconds"
  }

  /// An empty summary: every figure absent until set.
  public init() {}

  /// The pruning figures of `report`: compression, FLOPs, counts, architecture, per layer.
  public mutating func setPruning(_ report: PruningReport) {
    compression = report.compression
    flopsFraction = Double(shortest: report.flopsFraction)
    keptWeights = report.keptWeights
    weights = report.weights
    flops = report.flops
    keptFlops = report.keptFLOPs
    architecture = report.architecture
    perLayer = report.layers.map {
      LayerRecord(
        name: $0.name, weights: $0.weights, keptWeights: $0.keptWeights, compression: $0.compression, flops: $0.flops,
        keptFlops: $0.keptFLOPs, units: $0.units, aliveUnits: $0.aliveUnits)
    }
  }

  /// A figure by its key in the file (`test_accuracy`, `compression`, …), for tables.
  public func number(_ key: String) -> Double? {
    switch key {
    case "test_accuracy": return testAccuracy
    case "dense_test_accuracy": return denseTestAccuracy
    case "initial_test_accuracy": return initialTestAccuracy
    case "compression": return compression
    case "flops_fraction": return flopsFraction
    case "epoch_seconds": return epochSeconds
    case "prune_epoch_seconds": return pruneEpochSeconds
    case "test_loss": return testLoss
    case "train_accuracy": return trainAccuracy
    case "mu": return mu
    case "final_mu": return finalMu
    default: return nil
    }
  }
}

/// Reading and writing run records as JSON, one encoder for every file.
public enum RunRecordCoding {
  /// Compact, sorted keys (a `log.jsonl` line, `--json`'s last line).
  public static func line<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(value)
  }

  /// Indented, sorted keys (`summary.json`).
  public static func document<T: Encodable>(_ value: T) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
    return try encoder.encode(value)
  }

  /// Decodes `data` after checking that its figures lie in their ranges (`RunValues`); the error
  /// names `path` and says what is wrong.
  public static func decode<T: Decodable>(_ type: T.Type, from data: Data, path: String) throws -> T {
    guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
      throw RunRecordError(path: path, reason: "not a JSON object")
    }
    if let bad = RunValues.firstBad(in: object) { throw RunValueError(path: path, key: bad.key, value: bad.value) }
    do {
      return try JSONDecoder().decode(type, from: data)
    } catch let DecodingError.typeMismatch(_, context), let DecodingError.valueNotFound(_, context) {
      throw RunRecordError(path: path, reason: "\(context.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
    } catch let DecodingError.keyNotFound(key, _) {
      throw RunRecordError(path: path, reason: "\(key.stringValue) is missing")
    } catch {
      throw RunRecordError(path: path, reason: "not a run record")
    }
  }
}

/// A run file that is not a record of a run.
public struct RunRecordError: Error, CustomStringConvertible, Equatable {
  /// The file that could not be read.
  public let path: String
  /// What is wrong with it (not JSON, a key missing or of the wrong type).
  public let reason: String
  /// An error naming `path` and saying `reason`.
  public init(path: String, reason: String) {
    self.path = path
    self.reason = reason
  }
  public var description: String { "\(path): \(reason)" }
}

extension Double {
  /// The Float's shortest decimal form read as a Double (0.644, not 0.6439999938011169), so
  /// figures computed in Float read in the files as they print.
  public init(shortest value: Float) {
    self = value.isFinite ? Double("\(value)") ?? Double(value) : Double(value)
  }
}
