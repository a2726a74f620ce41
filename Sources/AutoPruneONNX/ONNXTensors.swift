import Foundation
import ONNXProto

/// A constant of an ONNX graph (an initializer or a `Constant` node's value), as numbers.
struct ONNXConstant {
  var dims: [Int]
  /// Float tensors' values (doubles and integers converted).
  var values: [Float]
  /// Integer tensors' values (shapes, indices), exact.
  var integers: [Int64]

  var count: Int { dims.reduce(1, *) }
}

extension ONNXConstant {
  /// Most values one constant may hold (a billion: 4 GB of floats, past protobuf's 2 GB limit).
  static let maximumCount = 1 << 30

  /// The numbers `tensor` holds, from its typed fields, `raw_data` (little-endian) or, for
  /// external data, the file beside the model (`external`, nil when the model came without a
  /// directory); throws for types that are not numbers and a count that disagrees with the dims.
  init(_ tensor: Onnx_TensorProto, node: String, external: ONNXExternalData?) throws {
    var tensor = tensor
    if tensor.dataLocation == .external || !tensor.externalData.isEmpty {
      guard let external else {
        throw ONNXImportError("\(node): tensor \(tensor.name) keeps its data in an external file, and the model was given without its directory")
      }
      tensor.rawData = try external.bytes(of: tensor, node: node)
    }
    guard tensor.dims.allSatisfy({ $0 >= 0 && $0 <= Int64(ONNXConstant.maximumCount) }) else {
      throw ONNXImportError("\(node): tensor \(tensor.name) has dims \(tensor.dims)")
    }
    dims = tensor.dims.map { Int($0) }
    var total = 1
    for d in dims {
      let (product, overflow) = total.multipliedReportingOverflow(by: d)
      guard !overflow, product <= ONNXConstant.maximumCount else { throw ONNXImportError("\(node): tensor \(tensor.name) of dims \(tensor.dims) is too large") }
      total = product
    }
    let raw = tensor.hasRawData ? tensor.rawData : nil
    func rawValues<T>(_ type: T.Type) throws -> [T] {
      guard let raw else { return [] }
      guard raw.count == total * MemoryLayout<T>.size else {
        throw ONNXImportError("\(node): tensor \(tensor.name) holds \(raw.count) bytes, its dims \(tensor.dims) need \(total * MemoryLayout<T>.size)")
      }
      return raw.withUnsafeBytes { bytes in (0..<total).map { bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
    }
    switch Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)) {
    case .float:
      values = raw != nil ? try rawValues(Float.self) : tensor.floatData
      integers = []
    case .double:
      values = raw != nil ? try rawValues(Double.self).map { Float($0) } : tensor.doubleData.map { Float($0) }
      integers = []
    case .int64:
      integers = raw != nil ? try rawValues(Int64.self) : tensor.int64Data
      values = integers.map { Float($0) }
    case .int32:
      integers = raw != nil ? try rawValues(Int32.self).map { Int64($0) } : tensor.int32Data.map { Int64($0) }
      values = integers.map { Float($0) }
    default:
      let type = Onnx_TensorProto.DataType(rawValue: Int(tensor.dataType)).map { "\($0)" } ?? "\(tensor.dataType)"
      throw ONNXImportError("\(node): tensor \(tensor.name) is of type \(type); only float, double, int32 and int64 tensors are read")
    }
    guard max(values.count, integers.count) == total else {
      throw ONNXImportError("\(node): tensor \(tensor.name) holds \(max(values.count, integers.count)) values, its dims \(tensor.dims) need \(total)")
    }
  }
}

/// The files beside an ONNX model that hold its external data (`location`, `offset`, `length`
/// of each tensor), read only inside the model's directory.
public struct ONNXExternalData {
  /// The model's directory.
  public let directory: URL

  /// External data resolved against `directory`.
  public init(directory: URL) { self.directory = directory }

  func bytes(of tensor: Onnx_TensorProto, node: String) throws -> Data {
    let entries = Dictionary(tensor.externalData.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
    guard let location = entries["location"], !location.isEmpty else { throw ONNXImportError("\(node): tensor \(tensor.name) is external but names no file") }
    // A relative path inside the model's directory: a hostile model must not read /etc/passwd.
    let parts = location.split(separator: "/")
    guard !location.hasPrefix("/"), !location.contains("\\"), !parts.contains(".."), !location.contains("\0") else {
      throw ONNXImportError("\(node): tensor \(tensor.name)'s external file \(location) is not inside the model's directory")
    }
    guard let offset = Int(entries["offset"] ?? "0"), offset >= 0 else {
      throw ONNXImportError("\(node): tensor \(tensor.name) has an external offset that is not a number ≥ 0")
    }
    var length: Int?
    if let text = entries["length"] {
      guard let value = Int(text), value >= 0, value <= ONNXConstant.maximumCount * 8 else {
        throw ONNXImportError("\(node): tensor \(tensor.name) has an external length that is not a number ≥ 0")
      }
      length = value
    }
    // Symbolic links resolved first: a link inside the directory may point anywhere.
    let root = directory.resolvingSymlinksInPath().standardizedFileURL.path
    let url = directory.appendingPathComponent(location).resolvingSymlinksInPath().standardizedFileURL
    guard url.path.hasPrefix(root.hasSuffix("/") ? root : root + "/") else {
      throw ONNXImportError("\(node): tensor \(tensor.name)'s external file \(location) is not inside the model's directory")
    }
    // A FIFO or a device would block or never end: only a regular file is read.
    let attributes = try? FileManager.default.attributesOfItem(atPath: url.path)
    guard attributes?[.type] as? FileAttributeType == .typeRegular, let handle = try? FileHandle(forReadingFrom: url) else {
      throw ONNXImportError("\(node): tensor \(tensor.name)'s external file \(location) is not a readable regular file beside the model")
    }
    defer { try? handle.close() }
    let size = Int((try? handle.seekToEnd()) ?? 0)
    let count = length ?? max(0, size - offset)
    guard offset <= size, count <= size - offset else {
      throw ONNXImportError("\(node): tensor \(tensor.name) wants bytes \(offset)..<\(offset + count) of \(location), which holds \(size)")
    }
    try handle.seek(toOffset: UInt64(offset))
    return try handle.read(upToCount: count) ?? Data()
  }
}
