import AutoPruneNN
import Foundation

/// When a run writes a checkpoint: every N optimizer steps, every N epochs, or never.
public enum CheckpointPolicy: Equatable, Sendable {
  case never
  case steps(Int)
  case epochs(Int)

  /// Parses `500` (steps), `2epochs`/`1epoch`, or `0` (never).
  public init?(_ text: String) {
    let t = text.trimmingCharacters(in: .whitespaces).lowercased()
    for suffix in ["epochs", "epoch"] where t.hasSuffix(suffix) {
      guard let n = Int(t.dropLast(suffix.count)), n > 0 else { return nil }
      self = .epochs(n)
      return
    }
    guard let n = Int(t), n >= 0 else { return nil }
    self = n == 0 ? .never : .steps(n)
  }

  /// After optimizer step number `step` (1-based, counted over the whole run).
  public func isDue(afterStep step: Int) -> Bool {
    if case .steps(let n) = self { return step % n == 0 }
    return false
  }

  /// After epoch number `epoch` (1-based, counted over the whole run).
  public func isDue(afterEpoch epoch: Int) -> Bool {
    if case .epochs(let n) = self { return epoch % n == 0 }
    return false
  }
}

/// A run's checkpoint on disk: `DIR/checkpoint.safetensors`, tensors (weights, gate state,
/// optimizer buffers, the epoch's sample order) plus string metadata (RNG words, position,
/// phase, the command's arguments, the log's length), written atomically: a temporary file,
/// fsync, then a rename over the previous one, so a crash at any moment leaves the last good
/// checkpoint whole.
public enum Checkpoint {
  /// The checkpoint's name inside the run directory; the run removes it when it finishes.
  public static let fileName = "checkpoint.safetensors"
  /// The `checkpoint_format` metadata value; `read` refuses any other (a layout this version
  /// cannot restore).
  public static let format = "autoprune-checkpoint-1"

  /// Where the checkpoint of `directory` lives.
  public static func path(in directory: String) -> String {
    URL(fileURLWithPath: directory).appendingPathComponent(fileName).path
  }

  /// True when `directory` holds a checkpoint: a run that stopped before its end.
  public static func exists(in directory: String) -> Bool {
    FileManager.default.fileExists(atPath: path(in: directory))
  }

  /// Writes `state` atomically, stamped with `format`.
  public static func write(_ state: TrainingState, directory: String) throws {
    var metadata = state.scalars
    metadata["checkpoint_format"] = format
    try SafeTensors.write(state.tensors, metadata: metadata, to: path(in: directory))
  }

  /// Reads and checks a checkpoint; errors name the file.
  public static func read(directory: String) throws -> TrainingState {
    let file = path(in: directory)
    guard FileManager.default.fileExists(atPath: file) else {
      throw SafeTensorsError.unreadable(file, reason: "no checkpoint here (was the run started with --run-dir and checkpoints on?)")
    }
    let contents = try SafeTensors.read(path: file)
    guard let version = contents.metadata["checkpoint_format"] else { throw CheckpointError.notACheckpoint(file) }
    guard version == format else {
      throw CheckpointError.badValue(file, entry: "checkpoint_format", value: version)
    }
    return TrainingState(tensors: contents.tensors.map { ($0.name, $0.shape, $0.values) }, scalars: contents.metadata, source: file)
  }
}

extension TrainingState {
  /// A position inside `Trainer.fit` under `prefix`; the order is stored as floats (exact below 2²⁴).
  public mutating func put(_ prefix: String, position: TrainingPosition) {
    put("\(prefix).epoch", int: position.epoch)
    put("\(prefix).step", int: position.step)
    put("\(prefix).order", position.order.map(Float.init))
    put("\(prefix).loss_sum", double: position.lossSum)
    put("\(prefix).correct", int: position.correct)
    put("\(prefix).seconds", double: position.seconds)
  }

  /// Reads a position for a dataset of `count` samples; the order must be a permutation.
  public func position(_ prefix: String, samples count: Int) throws -> TrainingPosition {
    let step = try int("\(prefix).step")
    let raw = try floats("\(prefix).order")
    var order: [Int] = []
    if step > 0 {
      guard raw.count == count else { throw CheckpointError.wrongSize(source, entry: "\(prefix).order", expected: count, found: raw.count) }
      var seen = [Bool](repeating: false, count: count)
      for value in raw {
        // Int(exactly:) is nil for NaN, infinities and fractions, where Int() would trap.
        guard let i = Int(exactly: value), i >= 0 && i < count && !seen[i] else {
          throw CheckpointError.badValue(source, entry: "\(prefix).order", value: "not a permutation of the \(count) training samples")
        }
        seen[i] = true
        order.append(i)
      }
    }
    let epoch = try int("\(prefix).epoch")
    guard epoch >= 0, step >= 0 else { throw CheckpointError.badValue(source, entry: "\(prefix).epoch", value: "\(epoch)/\(step)") }
    let lossSum = try double("\(prefix).loss_sum"), correct = try int("\(prefix).correct"), seconds = try double("\(prefix).seconds")
    guard lossSum.isFinite, lossSum >= 0 else { throw CheckpointError.badValue(source, entry: "\(prefix).loss_sum", value: "\(lossSum)") }
    // No more right answers than samples this epoch has seen so far (at most all of them).
    guard correct >= 0, correct <= count else { throw CheckpointError.badValue(source, entry: "\(prefix).correct", value: "\(correct)") }
    guard seconds.isFinite, seconds >= 0 else { throw CheckpointError.badValue(source, entry: "\(prefix).seconds", value: "\(seconds)") }
    return TrainingPosition(epoch: epoch, step: step, order: order, lossSum: lossSum, correct: correct, seconds: seconds)
  }
}
