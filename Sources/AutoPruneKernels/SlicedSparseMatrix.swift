/// A sparse matrix in sliced ELLPACK form with sorted rows (SELL-8-σ, Kreutzer et al. 2014), for
/// multiplying one vector: rows are sorted by their number of non-zeros and cut into slices of 8;
/// a slice stores its rows side by side, padded to its longest row, entry `k` of row `q` at
/// `k·8 + q`.
///
/// Why: for one input vector, CSR spends much of its time on the loop exit of every row (row
/// lengths vary, so the branch predictor misses once per row) and on four running sums at most.
/// Here a slice runs eight independent sums over one trip count, rows of similar length share a
/// slice so padding stays small, and there is one loop exit per slice instead of per row.
/// Padding entries have weight 0 and read column 0, adding nothing.
public struct SlicedSparseMatrix: Sendable {
  /// Rows per slice. `multiply` unrolls its eight sums by hand, so this cannot change alone.
  public static let sliceHeight = 8
  /// Rows of the matrix: the length of the output vector.
  public let rows: Int
  /// Columns of the matrix: the length of the input vector.
  public let columnCount: Int
  /// Entry offset of each slice, plus the end.
  public let sliceStart: [Int32]
  /// Input column of each entry, slice by slice (see the layout above); 0 for padding.
  public let columns: [Int32]
  /// Weight of each entry, laid out like `columns`; 0 for padding, so padding adds nothing.
  public let values: [Float]
  /// Output row of each slot (`sliceHeight` per slice); -1 for the padding rows of the last slice.
  public let rowOfSlot: [Int32]

  /// Keeps the non-zeros of a dense row-major `rows × columnCount` matrix (exact zeros only,
  /// as pruning leaves them). Building reads the dense matrix twice, so build once, not per call.
  public init(dense: UnsafeBufferPointer<Float>, rows: Int, columns columnCount: Int) {
    precondition(dense.count == rows * columnCount, "dense matrix of \(dense.count) for \(rows)×\(columnCount)")
    let h = SlicedSparseMatrix.sliceHeight
    let lengths = (0..<rows).map { r in (0..<columnCount).reduce(0) { $0 + (dense[r * columnCount + $1] != 0 ? 1 : 0) } }
    // Longest first; ties keep row order, so the layout is deterministic.
    let order = (0..<rows).sorted { lengths[$0] != lengths[$1] ? lengths[$0] > lengths[$1] : $0 < $1 }
    var starts: [Int32] = [0], cols: [Int32] = [], vals: [Float] = [], slots: [Int32] = []
    var first = 0
    while first < rows {
      let slice = order[first..<min(first + h, rows)]
      let nonZeroColumns = slice.map { r in (0..<columnCount).filter { dense[r * columnCount + $0] != 0 } }
      let width = nonZeroColumns.map(\.count).max() ?? 0
      for k in 0..<width {
        for q in 0..<h {
          if q < nonZeroColumns.count, k < nonZeroColumns[q].count {
            let c = nonZeroColumns[q][k]
            cols.append(Int32(c))
            vals.append(dense[slice[slice.startIndex + q] * columnCount + c])
          } else {
            cols.append(0)
            vals.append(0)
          }
        }
      }
      for q in 0..<h { slots.append(q < slice.count ? Int32(slice[slice.startIndex + q]) : -1) }
      starts.append(Int32(vals.count))
      first += h
    }
    self.rows = rows
    self.columnCount = columnCount
    sliceStart = starts
    columns = cols
    values = vals
    rowOfSlot = slots
  }

  /// `y[rows] = self · x[columnCount] + bias`, then `max(0, ·)` when `relu`. One thread:
  /// splitting LeNet-300's 5,000-entry fc1 over two saved less than the hand-over cost (measured
  /// 3.0 µs single vs 3.1 µs for the whole network).
  public func multiplyVector(_ x: UnsafePointer<Float>, bias: UnsafePointer<Float>?, relu: Bool, into y: UnsafeMutablePointer<Float>) {
    multiply(slices: 0..<(sliceStart.count - 1), x, bias, relu, y)
  }

  private func multiply(slices: Range<Int>, _ x: UnsafePointer<Float>, _ bias: UnsafePointer<Float>?, _ relu: Bool, _ y: UnsafeMutablePointer<Float>) {
    sliceStart.withUnsafeBufferPointer { starts in
      columns.withUnsafeBufferPointer { c in
        values.withUnsafeBufferPointer { v in
          rowOfSlot.withUnsafeBufferPointer { slot in
            for s in slices {
              var a0: Float = 0, a1: Float = 0, a2: Float = 0, a3: Float = 0
              var a4: Float = 0, a5: Float = 0, a6: Float = 0, a7: Float = 0
              var k = Int(starts[s])
              let end = Int(starts[s + 1])
              while k < end {
                a0 += v[k] * x[Int(c[k])]
                a1 += v[k + 1] * x[Int(c[k + 1])]
                a2 += v[k + 2] * x[Int(c[k + 2])]
                a3 += v[k + 3] * x[Int(c[k + 3])]
                a4 += v[k + 4] * x[Int(c[k + 4])]
                a5 += v[k + 5] * x[Int(c[k + 5])]
                a6 += v[k + 6] * x[Int(c[k + 6])]
                a7 += v[k + 7] * x[Int(c[k + 7])]
                k += 8
              }
              let sums = SIMD8<Float>(a0, a1, a2, a3, a4, a5, a6, a7)
              for q in 0..<8 {  // sliceHeight
                let r = Int(slot[s * 8 + q])
                guard r >= 0 else { continue }
                let value = sums[q] + (bias?[r] ?? 0)
                y[r] = relu ? max(0, value) : value
              }
            }
          }
        }
      }
    }
  }
}
