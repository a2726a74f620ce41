/// A sparse matrix in compressed sparse row form (CSR): for row `r`, `values[rowStart[r]..<rowStart[r+1]]`
/// sit in columns `columns[…]`. Built from a dense row-major matrix, keeping the non-zeros.
public struct SparseMatrix: Sendable {
  /// Rows of the matrix, and of the product `multiply` writes.
  public let rows: Int
  /// Columns of the matrix, and rows of the dense operand `multiply` reads.
  public let columnCount: Int
  /// Offset of each row's first entry in `columns` and `values`, plus the total at the end
  /// (`rows + 1` entries). `Int32`, as the kernels read it, caps a matrix at 2³¹ non-zeros.
  public let rowStart: [Int32]
  /// Column of each non-zero, row by row, ascending within a row.
  public let columns: [Int32]
  /// The non-zero values, in the order of `columns`.
  public let values: [Float]

  /// Keeps the non-zeros of a dense row-major `rows × columnCount` matrix (exact zeros only,
  /// as pruning leaves them).
  public init(dense: UnsafeBufferPointer<Float>, rows: Int, columns columnCount: Int) {
    precondition(dense.count == rows * columnCount, "dense matrix of \(dense.count) for \(rows)×\(columnCount)")
    var starts: [Int32] = [0]
    var cols: [Int32] = []
    var vals: [Float] = []
    for r in 0..<rows {
      for c in 0..<columnCount where dense[r * columnCount + c] != 0 {
        cols.append(Int32(c))
        vals.append(dense[r * columnCount + c])
      }
      starts.append(Int32(vals.count))
    }
    self.rows = rows
    self.columnCount = columnCount
    rowStart = starts
    columns = cols
    values = vals
  }

  /// Stored entries: the weights that survived pruning, and the multiply-adds per column of `multiply`.
  public var nonZeros: Int { values.count }

  /// `c[rows × n] = self · b[columnCount × n]` (both row-major), plus `bias[r]` on row `r` when
  /// given. Each non-zero adds a scaled row of `b` to a row of `c` (SIMD over `n`), threads split
  /// the rows; for one column (`n == 1`) it is a gather dot product per row.
  public func multiply(_ b: UnsafePointer<Float>, columns n: Int, bias: UnsafePointer<Float>?, into c: UnsafeMutablePointer<Float>) {
    guard nonZeros > 0 else {
      for r in 0..<rows { (c + r * n).update(repeating: bias?[r] ?? 0, count: n) }
      return
    }
    let out = SharedPointer(c), input = SharedPointer(UnsafeMutablePointer(mutating: b))
    let biasPointer = bias.map { SharedPointer(UnsafeMutablePointer(mutating: $0)) }
    rowStart.withUnsafeBufferPointer { starts in
      columns.withUnsafeBufferPointer { cols in
        values.withUnsafeBufferPointer { vals in
          let s = SharedPointer(UnsafeMutablePointer(mutating: starts.baseAddress!))
          let colp = SharedPointer(UnsafeMutablePointer(mutating: cols.baseAddress!))
          let valp = SharedPointer(UnsafeMutablePointer(mutating: vals.baseAddress!))
          // Work per thread must pay for waking it: ~64k multiply-adds (for one input, two threads lost: measured).
          let work = max(1, nonZeros * n)
          let minRows = max(1, rows * 65_536 / work)
          Parallel.forRanges(rows, minPerThread: minRows) { range in
            for r in range {
              let row = out + r * n
              let b0 = biasPointer.map { $0[r] } ?? 0
              let lo = Int(s[r]), hi = Int(s[r + 1])
              if n == 1 {
                row.pointee = SparseMatrix.gatherDot(valp.base + lo, colp.base + lo, hi - lo, input.base) + b0
                continue
              }
              row.update(repeating: b0, count: n)
              for k in lo..<hi {
                SparseMatrix.axpy(valp[k], input + Int(colp[k]) * n, row, n)
              }
            }
          }
        }
      }
    }
  }

  /// `Σ values[k]·x[columns[k]]` with four independent sums, so the additions do not wait on
  /// each other (one running sum makes every step wait for the previous one).
  @inline(__always)
  static func gatherDot(_ values: UnsafeMutablePointer<Float>, _ columns: UnsafeMutablePointer<Int32>, _ count: Int, _ x: UnsafeMutablePointer<Float>) -> Float {
    var s0: Float = 0, s1: Float = 0, s2: Float = 0, s3: Float = 0
    var k = 0
    while k + 4 <= count {
      s0 += values[k] * x[Int(columns[k])]
      s1 += values[k + 1] * x[Int(columns[k + 1])]
      s2 += values[k + 2] * x[Int(columns[k + 2])]
      s3 += values[k + 3] * x[Int(columns[k + 3])]
      k += 4
    }
    while k < count {
      s0 += values[k] * x[Int(columns[k])]
      k += 1
    }
    return (s0 + s1) + (s2 + s3)
  }

  /// `y += a·x` over `n` floats.
  @inline(__always)
  static func axpy(_ a: Float, _ x: UnsafeMutablePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int) {
    var i = 0
    let a16 = SIMD16<Float>(repeating: a)
    while i + 16 <= n {
      let xv = UnsafeRawPointer(x + i).loadUnaligned(as: SIMD16<Float>.self)
      let yv = UnsafeRawPointer(y + i).loadUnaligned(as: SIMD16<Float>.self)
      UnsafeMutableRawPointer(y + i).storeBytes(of: yv + a16 * xv, as: SIMD16<Float>.self)
      i += 16
    }
    while i < n {
      y[i] += a * x[i]
      i += 1
    }
  }
}
