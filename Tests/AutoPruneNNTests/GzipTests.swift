import AutoPruneNN
import Foundation
import XCTest

/// Gzip inflation bounded by what the caller (an IDX header) declares.
final class GzipTests: XCTestCase {
  func testExpansionBeyondTheLimitIsAnErrorNotAnAllocation() throws {
    let dir = try IDXFixture()
    defer { dir.remove() }
    // 1 MiB of zeros compresses to ~1 KB; a 64 KiB limit must stop it.
    try dir.write("zeros", [UInt8](repeating: 0, count: 1 << 20), gzip: true)
    let compressed = [UInt8](try Data(contentsOf: dir.directory.appendingPathComponent("zeros.gz")))
    XCTAssertThrowsError(try Gzip.decompress(compressed, path: "zeros.gz", limit: 1 << 16)) { error in
      XCTAssertEqual(error as? DataError, .inflatesBeyond("zeros.gz", limit: 1 << 16))
    }
    XCTAssertEqual(try Gzip.decompress(compressed, path: "zeros.gz").count, 1 << 20)
    XCTAssertEqual(try Gzip.decompress(compressed, path: "zeros.gz", limit: 1 << 20).count, 1 << 20)
    XCTAssertEqual(try Gzip.prefix(compressed, count: 20, path: "zeros.gz"), [UInt8](repeating: 0, count: 20))
  }

  /// A gzip'd IDX file whose stream holds far more than its header declares (a "bomb": a few
  /// KB that inflate to 64 MiB) is refused once the declared size is passed, not inflated whole.
  func testIDXInflatesNoMoreThanItsHeaderDeclares() throws {
    let dir = try IDXFixture()
    defer { dir.remove() }
    let bomb = IDXFixture.labels([1, 2, 3]) + [UInt8](repeating: 0, count: 64 << 20)
    try dir.write("bomb", bomb, gzip: true)
    let path = dir.directory.appendingPathComponent("bomb.gz").path
    XCTAssertLessThan(try FileManager.default.attributesOfItem(atPath: path)[.size] as! Int, 200_000)
    XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
      XCTAssertEqual(error as? DataError, .inflatesBeyond(path, limit: 8 + 3))
    }
  }

  /// A header declaring more bytes than any gzip stream of the file's size can inflate to is
  /// refused before anything is allocated.
  func testIDXDeclaringMoreThanTheStreamCanHoldIsRefused() throws {
    let dir = try IDXFixture()
    defer { dir.remove() }
    // 60,000 × 4,096 × 4,096 bytes declared (~1 TB), a few bytes of data.
    try dir.write("huge", [0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0x10, 0, 0, 0, 0x10, 0, 1, 2, 3], gzip: true)
    let path = dir.directory.appendingPathComponent("huge.gz").path
    XCTAssertThrowsError(try IDXArray.read(path: path)) { error in
      guard case .declaredBeyondStream(path, 60_000 * 4_096 * 4_096, _) = error as? DataError else { return XCTFail("\(error)") }
    }
  }
}
