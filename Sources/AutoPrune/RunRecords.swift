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
  public var trainAccuracy: Double?
  public var testAccuracy: Double?
  public var testLoss: Double?
  public var learningRate: Double?
  /// Training time of the epoch (evaluation excluded).
  public var epochSeconds: Double?
  /// Seconds since the log was opened (set by `RunLog.record`).
  public var elapsedSeconds: Double?
  /// Pruning phases: weights kept / weights, multiply-adds kept / dense, weights / kept.
  public var keptFraction: Double?
  public var flopsFraction: Double?
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
  public var name: String
  public var weights: Int
  public var keptWeights: Int
  // Optional so that a summary holding only the counts (written by hand or an older tool)
  // still reads.
  public var compression: Double?
  public var flops: Int?
  public var keptFlops: Int?
  public var units: Int?
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
  public var model: String?
  public var parameters: Int?
  public var testAccuracy: Double?
  public var testLoss: Double?
  public var trainAccuracy: Double?
  /// Accuracy of the dense model pruning started from (nil for scratch training, which starts
  /// from random weights).
  public var denseTestAccuracy: Double?
  /// Accuracy of the model the pruning phase started from.
  public var initialTestAccuracy: Double?
  public var epochSeconds: Double?
  public var epochs: Int?
  public var threads: Int?
  public var gemm: String?
  public var peakRssMib: Double?
  /// Where the model was written, the data it used, the seed and the command that ran.
  public var out: String?
  public var data: String?
  public var seed: UInt64?
  public var commandLine: String?

  // Pruning.
  public var method: String?
  /// The method's one-line description.
  public var summary: String?
  public var granularity: String?
  public var compression: Double?
  public var flopsFraction: Double?
  public var keptWeights: Int?
  public var weights: Int?
  public var flops: Int?
  public var keptFlops: Int?
  public var architecture: String?
  public var perLayer: [LayerRecord]?
  public var mu: Double?
  public var finalMu: Double?
  public var etaM: Double?
  public var gateClock: String?
  public var muScale: String?
  public var ste: String?
  public var targetKeptFraction: Double?
  public var budgetReached: Double?
  public var budgetStep: Int?
  public var pruneSteps: Int?
  public var pruneEpochs: Int?
  public var finetuneEpochs: Int?
  public var pruneEpochSeconds: Double?

  enum CodingKeys: String, CodingKey {
    case command, model, parameters, epochs, threads, gemm, out, data, seed, method, summary, granularity, compression
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
  public let path: String
  public let reason: String
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
