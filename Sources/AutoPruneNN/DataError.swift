import Foundation

/// What can be wrong with a data file or directory; every message names the path.
public enum DataError: Error, CustomStringConvertible, Equatable {
  case missingDirectory(String)
  case notADirectory(String)
  case missingFile(directory: String, expected: String)
  case unreadable(String, reason: String)
  case badMagic(String, found: String)
  case unsupportedType(String, code: UInt8)
  case sizeMismatch(String, expected: Int, actual: Int)
  case truncatedGzip(String)
  case corruptGzip(String, reason: String)
  case inflatesBeyond(String, limit: Int)
  case declaredBeyondStream(String, declared: Int, compressed: Int)
  case countMismatch(images: String, imageCount: Int, labels: String, labelCount: Int)
  case labelOutOfRange(String, index: Int, label: Int, classes: Int)
  case badShape(String, shape: [Int], expected: String)
  case recordSize(String, bytes: Int, record: Int)
  case imageFolder(String, problem: String)
  case unreadableImages(String, count: Int, checked: Int)

  public var description: String {
    switch self {
    case .missingDirectory(let path):
      return "\(path): data directory not found"
    case .notADirectory(let path):
      return "\(path): not a directory (--data takes the directory holding the data files)"
    case .missingFile(let dir, let expected):
      return "\(dir): no \(expected) or \(expected).gz in the data directory"
    case .unreadable(let path, let reason):
      return "\(path): cannot read file (\(reason))"
    case .badMagic(let path, let found):
      return "\(path): not an IDX file (magic number \(found); expected 00 00 08 0N)"
    case .unsupportedType(let path, let code):
      return "\(path): IDX element type 0x\(String(code, radix: 16)) is not supported (only unsigned bytes, 0x08)"
    case .sizeMismatch(let path, let expected, let actual):
      return "\(path): dimensions describe \(expected) data bytes but the file holds \(actual)"
    case .truncatedGzip(let path):
      return "\(path): gzip stream is truncated"
    case .corruptGzip(let path, let reason):
      return "\(path): corrupt gzip stream (\(reason))"
    case .inflatesBeyond(let path, let limit):
      return "\(path): gzip stream inflates to more than \(limit) bytes, the most this file can hold"
    case .declaredBeyondStream(let path, let declared, let compressed):
      return "\(path): header declares \(declared) data bytes, more than a \(compressed)-byte gzip stream can hold"
    case .countMismatch(let images, let imageCount, let labels, let labelCount):
      return "\(images) holds \(imageCount) images but \(labels) holds \(labelCount) labels"
    case .labelOutOfRange(let path, let index, let label, let classes):
      return "\(path): label \(label) at index \(index) is not below the class count \(classes)"
    case .badShape(let path, let shape, let expected):
      return "\(path): shape \(shape), expected \(expected)"
    case .imageFolder(let path, let problem):
      return "\(path): \(problem)"
    case .unreadableImages(let example, let count, let checked):
      return "\(count) of the \(checked) images read so far could not be decoded (the last: \(example)); is --data the right folder?"
    case .recordSize(let path, let bytes, let record):
      return bytes == 0
        ? "\(path): empty file"
        : "\(path): \(bytes) bytes is not a whole number of \(record)-byte records (\(bytes / record) whole, \(bytes % record) bytes left over)"
    }
  }
}

extension DataError {
  /// Throws unless `path` is a directory: `missingDirectory` when nothing is there,
  /// `notADirectory` when something else is (a file, a broken link).
  static func checkDirectory(_ path: String) throws {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue { return }
    throw FileBytes.entryExists(path) ? DataError.notADirectory(path) : DataError.missingDirectory(path)
  }
}
