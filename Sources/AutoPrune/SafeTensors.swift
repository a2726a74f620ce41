import AutoPruneKernels
import Foundation
import AutoPruneNN

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What can be wrong with a safetensors file; each message names the file.
public enum SafeTensorsError: Error, CustomStringConvertible, Equatable {
  case unreadable(String, reason: String)
  case truncated(String, size: Int)
  case headerTooLarge(String, length: UInt64, available: Int)
  case headerNotUTF8(String)
  case headerNotJSON(String, reason: String)
  case badEntry(String, tensor: String, reason: String)
  case unsupportedDType(String, tensor: String, dtype: String)
  case offsetsOutOfRange(String, tensor: String, end: Int, dataSize: Int)
  case sizeMismatch(String, tensor: String, shapeBytes: Int, offsetBytes: Int)
  case overlapping(String, first: String, second: String)
  case writeFailed(String, reason: String)

  public var description: String {
    switch self {
    case .unreadable(let f, let r): return "\(f): cannot read (\(r))"
    case .truncated(let f, let s): return "\(f): \(s) bytes is too short for a safetensors file (needs an 8-byte header length)"
    case .headerTooLarge(let f, let l, let a): return "\(f): corrupt header: declared length \(l) exceeds the \(a) bytes available"
    case .headerNotUTF8(let f): return "\(f): corrupt header: not valid UTF-8"
    case .headerNotJSON(let f, let r): return "\(f): corrupt header: not a JSON object (\(r))"
    case .badEntry(let f, let t, let r): return "\(f): tensor \(t): \(r)"
    case .unsupportedDType(let f, let t, let d): return "\(f): tensor \(t): dtype \(d) is not supported (only F32)"
    case .offsetsOutOfRange(let f, let t, let e, let s): return "\(f): tensor \(t): data ends at byte \(e) but the data section has \(s)"
    case .sizeMismatch(let f, let t, let sb, let ob): return "\(f): tensor \(t): shape needs \(sb) bytes but its offsets span \(ob)"
    case .overlapping(let f, let a, let b): return "\(f): tensors \(a) and \(b) overlap"
    case .writeFailed(let f, let r): return "\(f): cannot write (\(r))"
    }
  }
}

/// The safetensors format: an 8-byte little-endian header length, a JSON header mapping each
/// tensor name to `dtype`, `shape` and `data_offsets` (plus optional string `__metadata__`),
/// then the raw little-endian data. Only F32 is read or written (PyTorch's I64 `num_batches_tracked`
/// BatchNorm counters are skipped on reading).
public enum SafeTensors {
  /// Headers larger than this are refused before any allocation (the reference limit is 100 MB).
  public static let maximumHeaderLength = 100_000_000

  /// A decoded file: its F32 tensors and its string metadata.
  public struct File {
    /// Tensors in header order (sorted by data offset).
    public var tensors: [(name: String, shape: [Int], values: [Float])]
    /// The header's `__metadata__` (empty when absent): a weights file's model and normalisation,
    /// a checkpoint's scalars.
    public var metadata: [String: String]

    /// Shape and values of tensor `name`, nil when the file has none.
    public func tensor(named name: String) -> (shape: [Int], values: [Float])? {
      tensors.first { $0.name == name }.map { ($0.shape, $0.values) }
    }
  }

  /// Encodes tensors (in the given order) and metadata as safetensors bytes.
  public static func encode(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String]) throws -> [UInt8] {
    var header: [String: Any] = [:]
    if !metadata.isEmpty { header["__metadata__"] = metadata }
    var offset = 0
    for t in tensors {
      precondition(t.shape.reduce(1, *) == t.values.count, "\(t.name): shape \(t.shape) for \(t.values.count) values")
      header[t.name] = ["dtype": "F32", "shape": t.shape, "data_offsets": [offset, offset + 4 * t.values.count]]
      offset += 4 * t.values.count
    }
    var json = [UInt8](try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
    // Pad with spaces so the data section starts 8-byte aligned, as the reference writer does.
    while json.count % 8 != 0 { json.append(0x20) }
    var out = [UInt8]()
    out.reserveCapacity(8 + json.count + offset)
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: json)
    for t in tensors {
      for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { out.append(contentsOf: $0) } }
    }
    return out
  }

  /// Writes atomically: a temporary file beside `path`, fsync, then rename over `path`.
  public static func write(_ tensors: [(name: String, shape: [Int], values: [Float])], metadata: [String: String], to path: String) throws {
    try AtomicFile.write(try encode(tensors, metadata: metadata), to: path)
  }

  /// Reads and validates a file.
  public static func read(path: String) throws -> File {
    let bytes: [UInt8]
    do {
      bytes = try FileBytes.read(path)
    } catch DataError.unreadable(_, let reason) {
      throw SafeTensorsError.unreadable(path, reason: reason)
    }
    return try decode(bytes, path: path)
  }

  /// Parses safetensors bytes; `path` names the source in errors.
  public static func decode(_ bytes: [UInt8], path: String) throws -> File {
    guard bytes.count >= 8 else { throw SafeTensorsError.truncated(path, size: bytes.count) }
    var length: UInt64 = 0
    for i in 0..<8 { length |= UInt64(bytes[i]) << (8 * UInt64(i)) }
    let available = bytes.count - 8
    guard length <= UInt64(min(available, maximumHeaderLength)) else {
      throw SafeTensorsError.headerTooLarge(path, length: length, available: min(available, maximumHeaderLength))
    }
    let headerBytes = bytes[8..<(8 + Int(length))]
    guard String(validating: headerBytes, as: UTF8.self) != nil else { throw SafeTensorsError.headerNotUTF8(path) }
    let parsed: Any
    do {
      parsed = try JSONSerialization.jsonObject(with: Data(headerBytes))
    } catch {
      // Foundation's own wording ("The operation could not be completed…") says nothing; its
      // debug description says where the JSON breaks.
      let detail = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
      throw SafeTensorsError.headerNotJSON(path, reason: detail.map { "malformed JSON: \($0)" } ?? "malformed JSON")
    }
    guard let header = parsed as? [String: Any] else { throw SafeTensorsError.headerNotJSON(path, reason: "top level is not an object") }
    let dataStart = 8 + Int(length)
    let dataSize = bytes.count - dataStart
    var metadata: [String: String] = [:]
    var entries: [(name: String, shape: [Int], begin: Int, end: Int)] = []
    for (name, value) in header {
      if name == "__metadata__" {
        guard let m = value as? [String: String] else {
          throw SafeTensorsError.badEntry(path, tensor: name, reason: "metadata must map strings to strings")
        }
        metadata = m
        continue
      }
      guard let entry = value as? [String: Any] else { throw SafeTensorsError.badEntry(path, tensor: name, reason: "entry is not an object") }
      guard let dtype = entry["dtype"] as? String else { throw SafeTensorsError.badEntry(path, tensor: name, reason: "missing dtype") }
      // PyTorch's BatchNorm step counter (I64): with a fixed momentum it plays no part, so a
      // PyTorch state dict loads without it. Its bytes must still lie inside the file.
      if name.hasSuffix("num_batches_tracked") {
        guard let offsets = integers(entry["data_offsets"]), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
          throw SafeTensorsError.badEntry(path, tensor: name, reason: "data_offsets is not [begin, end] inside the data")
        }
        continue
      }
      guard dtype == "F32" else { throw SafeTensorsError.unsupportedDType(path, tensor: name, dtype: dtype) }
      guard let shape = integers(entry["shape"]), shape.allSatisfy({ $0 >= 0 && $0 < 1 << 40 }) else {
        throw SafeTensorsError.badEntry(path, tensor: name, reason: "shape is not a list of non-negative integers")
      }
      guard let offsets = integers(entry["data_offsets"]), offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1] else {
        throw SafeTensorsError.badEntry(path, tensor: name, reason: "data_offsets is not [begin, end] with 0 ≤ begin ≤ end")
      }
      guard offsets[1] <= dataSize else {
        throw SafeTensorsError.offsetsOutOfRange(path, tensor: name, end: offsets[1], dataSize: dataSize)
      }
      var elements = 1
      for s in shape {
        let (p, overflow) = elements.multipliedReportingOverflow(by: s)
        guard !overflow, p <= dataSize else {
          throw SafeTensorsError.sizeMismatch(path, tensor: name, shapeBytes: Int.max, offsetBytes: offsets[1] - offsets[0])
        }
        elements = p
      }
      guard elements * 4 == offsets[1] - offsets[0] else {
        throw SafeTensorsError.sizeMismatch(path, tensor: name, shapeBytes: elements * 4, offsetBytes: offsets[1] - offsets[0])
      }
      entries.append((name, shape, offsets[0], offsets[1]))
    }
    entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
    for (a, b) in zip(entries, entries.dropFirst()) where b.begin < a.end {
      throw SafeTensorsError.overlapping(path, first: a.name, second: b.name)
    }
    let tensors = bytes.withUnsafeBytes { raw in
      entries.map { e -> (name: String, shape: [Int], values: [Float]) in
        let count = (e.end - e.begin) / 4
        let values = (0..<count).map { i in
          Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: dataStart + e.begin + 4 * i, as: UInt32.self)))
        }
        return (e.name, e.shape, values)
      }
    }
    return File(tensors: tensors, metadata: metadata)
  }

  /// JSON numbers as exact integers, or nil.
  private static func integers(_ value: Any?) -> [Int]? {
    guard let array = value as? [Any] else { return nil }
    var out: [Int] = []
    for v in array {
      guard let n = v as? NSNumber else { return nil }
      let d = n.doubleValue
      guard d == d.rounded(), abs(d) < 9e15 else { return nil }
      out.append(n.intValue)
    }
    return out
  }
}

/// Whole-file writes that never leave a half-written file at the destination.
public enum AtomicFile {
  /// Writes `bytes` to a temporary file beside `path`, fsyncs it, then renames it over `path`
  /// (removing the temporary file on failure).
  /// Under MPI only rank 0 writes (`MPI.writes`); the other ranks return at once.
  public static func write(_ bytes: [UInt8], to path: String) throws {
    guard MPI.writes else { return }
    let temporary = path + ".tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else { throw SafeTensorsError.writeFailed(path, reason: String(cString: strerror(errno))) }
    var ok = true
    var reason = ""
    bytes.withUnsafeBytes { raw in
      var written = 0
      while written < raw.count {
        #if canImport(Glibc)
          let n = Glibc.write(fd, raw.baseAddress! + written, raw.count - written)
        #else
          let n = Darwin.write(fd, raw.baseAddress! + written, raw.count - written)
        #endif
        if n <= 0 {
          ok = false
          reason = String(cString: strerror(errno))
          return
        }
        written += n
      }
    }
    if ok && fsync(fd) != 0 {
      ok = false
      reason = String(cString: strerror(errno))
    }
    close(fd)
    guard ok, rename(temporary, path) == 0 else {
      if ok { reason = String(cString: strerror(errno)) }
      unlink(temporary)
      throw SafeTensorsError.writeFailed(path, reason: reason)
    }
  }
}
