import XCTest

import AutoPruneKernels

final class SparseMatrixTests: XCTestCase {
  /// 3×4, worked by hand: row 0 = [1, 0, 0, 2], row 1 empty, row 2 = [0, -3, 0, 0].
  private let small: [Float] = [1, 0, 0, 2, 0, 0, 0, 0, 0, -3, 0, 0]

  func testHandWorkedProductInBothLayouts() {
    let x: [Float] = [1, 2, 3, 4]
    let bias: [Float] = [0.5, -1, 10]
    // rows: 1·1 + 2·4 + 0.5 = 9.5; 0 − 1 = −1; −3·2 + 10 = 4
    let csr = small.withUnsafeBufferPointer { SparseMatrix(dense: $0, rows: 3, columns: 4) }
    XCTAssertEqual(csr.nonZeros, 3)
    var y = [Float](repeating: .nan, count: 3)
    csr.multiply(x, columns: 1, bias: bias, into: &y)
    XCTAssertEqual(y, [9.5, -1, 4])

    let sliced = small.withUnsafeBufferPointer { SlicedSparseMatrix(dense: $0, rows: 3, columns: 4) }
    y = [Float](repeating: .nan, count: 3)
    sliced.multiplyVector(x, bias: bias, relu: false, into: &y)
    XCTAssertEqual(y, [9.5, -1, 4])
    sliced.multiplyVector(x, bias: bias, relu: true, into: &y)
    XCTAssertEqual(y, [9.5, 0, 4])
    // One slice, padded to the longest row (2 entries) for all 8 slots.
    XCTAssertEqual(sliced.sliceStart, [0, 16])
    XCTAssertEqual(Array(sliced.rowOfSlot), [0, 2, 1, -1, -1, -1, -1, -1])
  }

  /// Sliced rows must come back in their original order whatever the lengths: rows of varied
  /// length, a count that is not a multiple of the slice height, several slices, empty rows.
  func testSlicedMatchesDenseOnRaggedRows() {
    let rows = 29, columns = 37
    var dense = [Float](repeating: 0, count: rows * columns)
    var s: UInt64 = 12345
    for r in 0..<rows where r % 7 != 3 {
      for c in 0..<columns {
        s = s &* 6364136223846793005 &+ 1442695040888963407
        if Int(s >> 59) < r % 9 { dense[r * columns + c] = Float(Int(s >> 40) % 200 - 100) / 50 }
      }
    }
    let x = (0..<columns).map { Float($0 % 5) - 1.5 }
    let bias = (0..<rows).map { Float($0) / 10 }
    var expected = [Float](repeating: 0, count: rows)
    for r in 0..<rows {
      expected[r] = bias[r]
      for c in 0..<columns { expected[r] += dense[r * columns + c] * x[c] }
    }
    let sliced = dense.withUnsafeBufferPointer { SlicedSparseMatrix(dense: $0, rows: rows, columns: columns) }
    XCTAssertEqual(sliced.sliceStart.count, 5)  // ⌈29 / 8⌉ slices + end
    var y = [Float](repeating: .nan, count: rows)
    sliced.multiplyVector(x, bias: bias, relu: false, into: &y)
    for r in 0..<rows { XCTAssertEqual(y[r], expected[r], accuracy: 1e-4, "row \(r)") }
    let csr = dense.withUnsafeBufferPointer { SparseMatrix(dense: $0, rows: rows, columns: columns) }
    var z = [Float](repeating: .nan, count: rows)
    csr.multiply(x, columns: 1, bias: bias, into: &z)
    for r in 0..<rows { XCTAssertEqual(z[r], expected[r], accuracy: 1e-4, "row \(r)") }
  }
}
