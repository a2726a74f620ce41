import AutoPrune
import Foundation
import XCTest

final class SafeTensorsTests: XCTestCase {
  private let sample: [(name: String, shape: [Int], values: [Float])] = [
    ("fc1.weight", [2, 3], [1, 2, 3, 4, 5, -6.5]), ("fc1.bias", [2], [0.25, -0]), ("empty", [0], []),
  ]

  /// Builds a file from a header given as JSON text and raw data bytes.
  private func file(header: String, data: [UInt8] = [], declaredLength: UInt64? = nil) -> [UInt8] {
    let json = Array(header.utf8)
    var out: [UInt8] = []
    withUnsafeBytes(of: (declaredLength ?? UInt64(json.count)).littleEndian) { out += $0 }
    return out + json + data
  }

  private func expect(_ bytes: [UInt8], _ check: (SafeTensorsError) -> Bool, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertThrowsError(try SafeTensors.decode(bytes, path: "t.safetensors"), file: file, line: line) { error in
      guard let e = error as? SafeTensorsError, check(e) else { return XCTFail("unexpected \(error)", file: file, line: line) }
      XCTAssertTrue("\(e)".hasPrefix("t.safetensors: "), "message names the file", file: file, line: line)
    }
  }

  func testRoundTripKeepsNamesShapesValuesAndMetadata() throws {
    let bytes = try SafeTensors.encode(sample, metadata: ["model": "lenet300"])
    let decoded = try SafeTensors.decode(bytes, path: "x")
    XCTAssertEqual(decoded.metadata, ["model": "lenet300"])
    for t in sample {
      let d = try XCTUnwrap(decoded.tensor(named: t.name))
      XCTAssertEqual(d.shape, t.shape)
      XCTAssertEqual(d.values.map(\.bitPattern), t.values.map(\.bitPattern))
    }
  }

  func testLayoutIsTheReferenceFormat() throws {
    // 8-byte little-endian length, JSON padded to 8 bytes, data little-endian in order.
    let bytes = try SafeTensors.encode([("a", [1], [1.0])], metadata: [:])
    let length = Int(bytes[0]) | Int(bytes[1]) << 8
    XCTAssertEqual(length % 8, 0)
    XCTAssertEqual(Array(bytes[(8 + length)...]), [0x00, 0x00, 0x80, 0x3f])
    let header = String(decoding: bytes[8..<(8 + length)], as: UTF8.self)
    XCTAssertTrue(header.contains("\"data_offsets\":[0,4]"), header)
    XCTAssertTrue(header.contains("\"dtype\":\"F32\""), header)
  }

  func testTooShortFile() {
    expect([1, 2, 3]) { if case .truncated = $0 { return true } else { return false } }
  }

  func testHeaderLengthBeyondTheFile() {
    expect(file(header: "{}", declaredLength: 1_000)) { if case .headerTooLarge = $0 { return true } else { return false } }
  }

  func testHugeHeaderLengthIsRefusedWithoutAllocating() {
    expect(file(header: "{}", declaredLength: UInt64.max)) { if case .headerTooLarge = $0 { return true } else { return false } }
  }

  func testNonUTF8Header() {
    var bytes = file(header: "{\"a\":1}")
    bytes[9] = 0xff
    expect(bytes) { $0 == .headerNotUTF8("t.safetensors") }
  }

  func testHeaderThatIsNotJSON() {
    expect(file(header: "not json")) { if case .headerNotJSON = $0 { return true } else { return false } }
    expect(file(header: "[1,2]")) { if case .headerNotJSON = $0 { return true } else { return false } }
  }

  func testOffsetsOutOfRange() {
    let h = #"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
    expect(file(header: h, data: [0, 0, 0, 0])) { $0 == .offsetsOutOfRange("t.safetensors", tensor: "w", end: 8, dataSize: 4) }
  }

  func testOverlappingOffsets() {
    let h = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#
    expect(file(header: h, data: [UInt8](repeating: 0, count: 12))) { $0 == .overlapping("t.safetensors", first: "a", second: "b") }
  }

  func testWrongDType() {
    let h = #"{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#
    expect(file(header: h, data: [0, 0, 0, 0])) { $0 == .unsupportedDType("t.safetensors", tensor: "w", dtype: "F16") }
  }

  /// A PyTorch BatchNorm's I64 step counter is skipped (its bytes must still be in the file).
  func testPyTorchBatchNormCounterIsSkipped() throws {
    let h = #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]},"bn.weight":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#
    let decoded = try SafeTensors.decode(file(header: h, data: [7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 128, 63]), path: "t.safetensors")
    XCTAssertEqual(decoded.tensors.map(\.name), ["bn.weight"])
    XCTAssertEqual(decoded.tensors[0].values, [1])
    let outside = #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#
    expect(file(header: outside, data: [0, 0, 0, 0])) { if case .badEntry(_, "bn.num_batches_tracked", _) = $0 { return true } else { return false } }
  }

  func testShapeTimesDTypeDiffersFromByteCount() {
    let h = #"{"w":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#
    expect(file(header: h, data: [UInt8](repeating: 0, count: 8))) { $0 == .sizeMismatch("t.safetensors", tensor: "w", shapeBytes: 12, offsetBytes: 8) }
  }

  func testAbsurdShapeIsRejectedWithoutAllocating() {
    let h = #"{"w":{"dtype":"F32","shape":[1099511627775,1099511627775],"data_offsets":[0,4]}}"#
    expect(file(header: h, data: [0, 0, 0, 0])) { if case .sizeMismatch = $0 { return true } else { return false } }
  }

  func testMalformedEntries() {
    for h in [#"{"w":5}"#, #"{"w":{"shape":[1],"data_offsets":[0,4]}}"#, #"{"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}"#,
              #"{"w":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}}"#, #"{"__metadata__":{"a":1}}"#] {
      expect(file(header: h, data: [0, 0, 0, 0])) { if case .badEntry = $0 { return true } else { return false } }
    }
  }

  func testAtomicWriteLeavesNoTemporaryAndReplacesWhole() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("st-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("w.safetensors").path
    try SafeTensors.write(sample, metadata: [:], to: path)
    try SafeTensors.write([("x", [1], [7])], metadata: [:], to: path)
    XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir.path), ["w.safetensors"])
    XCTAssertEqual(try SafeTensors.read(path: path).tensor(named: "x")?.values, [7])
    XCTAssertThrowsError(try SafeTensors.write(sample, metadata: [:], to: dir.appendingPathComponent("no/such/dir.safetensors").path))
  }
}
