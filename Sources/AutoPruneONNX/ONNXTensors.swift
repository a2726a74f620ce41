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

  /// The numbers `tensor` holds, from its typed fields or `raw_data` (little-endian); throws
  /// for external data, types that are not numbers, and a count that disagrees with the dims.
  init(_ tensor: Onnx_TensorProto, node: String) throws {
    guard tensor.dataLocation != .external, tensor.externalData.isEmpty else {
      throw ONNXImportError("\(node): tensor \(tensor.name) keeps its data in an external file; save the model with the weights inside (onnx.save(model, path, save_as_external_data=False))")
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
      throw ONNXImportError("\(node): tensor \(tensor.name) is of type \(tensor.dataType); only float, double, int32 and int64 tensors are read")
    }
    guard max(values.count, integers.count) == total else {
      throw ONNXImportError("\(node): tensor \(tensor.name) holds \(max(values.count, integers.count)) values, its dims \(tensor.dims) need \(total)")
    }
  }
}
