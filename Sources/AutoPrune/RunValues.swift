import Foundation

/// The ranges the figures of a run's `summary.json` and `log.jsonl` lines must lie in, so that
/// `table` and `report` never print a number computed from a corrupt or hand-edited file
/// (an accuracy of `inf%` or `-100%`).
public enum RunValues {
  /// Key → the closed range its value must lie in (fractions, and counts that cannot be negative).
  public static let ranges: [String: ClosedRange<Double>] = [
    "test_accuracy": 0...1, "dense_test_accuracy": 0...1, "initial_test_accuracy": 0...1,
    "train_accuracy": 0...1, "flops_fraction": 0...1, "kept_fraction": 0...1,
    "compression": 1...Double.greatestFiniteMagnitude, "epoch_seconds": 0...Double.greatestFiniteMagnitude,
    "prune_epoch_seconds": 0...Double.greatestFiniteMagnitude, "loss": 0...Double.greatestFiniteMagnitude,
    "test_loss": 0...Double.greatestFiniteMagnitude,
  ]

  /// The first key of `object` whose value is not a finite number in its range, with that value
  /// as text; nil when every checked key is fine.
  public static func firstBad(in object: [String: Any]) -> (key: String, value: String)? {
    for key in ranges.keys.sorted() {
      // Absent and null (what earlier versions wrote for a scratch run's dense accuracy) are fine.
      guard let raw = object[key], !(raw is NSNull) else { continue }
      // (No `is Bool` test: on Linux a JSON 1 bridges to an NSNumber that also casts to Bool.)
      guard let value = (raw as? NSNumber)?.doubleValue, value.isFinite, ranges[key]!.contains(value) else {
        return (key, "\(raw)")
      }
    }
    return nil
  }
}

/// A run file whose figures are out of range.
public struct RunValueError: Error, CustomStringConvertible, Equatable {
  /// The file holding the value.
  public let path: String
  /// The key whose value is out of range (`test_accuracy`, …).
  public let key: String
  /// The value as the file wrote it.
  public let value: String
  /// An error naming `path` and the bad `key = value`.
  public init(path: String, key: String, value: String) {
    self.path = path
    self.key = key
    self.value = value
  }
  public var description: String { "\(path): \(key) = \(value) is not a valid value; the file is corrupt or was edited" }
}
