/// The built-in GEMM: packed panels and a 6×32 register tile of `SIMD16<Float>` accumulators.
///
/// Layout follows the GotoBLAS scheme: a `kc`-deep slice of B is packed into 32-column strips
/// (one strip stays in L1 while it is reused), a block of A into 6-row strips (stays in L2), and
/// the micro-kernel keeps a 6×32 tile of C in twelve vector registers. Every element of C sums
/// its `k` terms in the same order whatever the thread split, so results are deterministic.
enum BuiltinGEMM {
  static let mr = 6
  static let nr = 32
  static let kc = 256
  static let mc = 96

  static func multiply(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    scale(c, rows: m, cols: n, ldc: ldc, by: beta)
    if k == 0 || alpha == 0 { return }

    let strips = (n + nr - 1) / nr
    let rowStrips = (m + mr - 1) / mr
    let kBlocks = (k + kc - 1) / kc
    let threads = Parallel.available
    // Parts split the columns of C (each part reads all of A) or its rows (each reads all of
    // B). The operand every part reads is packed once, up front, in parallel; each part packs
    // its own slice of the other. Split the way that shares the smaller operand, unless that
    // leaves too few pieces to keep every thread busy.
    let splitRows = (m >= n && rowStrips >= threads) || strips < threads
    let parts = GEMM.isSmall(m: m, n: n, k: k) ? 1 : max(1, min(threads, splitRows ? rowStrips : strips))
    // With few rows of A each B strip is reused only a few times, so packing it costs more
    // than it saves: a row-major B is then read in place (its strips are contiguous 32-float
    // runs) and only the ragged last strip is packed. With many rows packing wins (1024³:
    // 165 vs 148 GFLOP/s measured) as the packed strip stays in L1.
    let directStrips = transB == .none && m <= mc ? n / nr : 0
    let sharedC = SharedPointer(c)
    let sharedA = SharedPointer(UnsafeMutablePointer(mutating: a))
    let sharedB = SharedPointer(UnsafeMutablePointer(mutating: b))

    // Shared packed operand: block `kBlock` of k, then strip by strip.
    let sharedStrips = splitRows ? strips : rowStrips
    let sharedStripSize = (splitRows ? nr : mr) * kc
    let packedShared = SharedPointer(UnsafeMutablePointer<Float>.allocate(capacity: kBlocks * sharedStrips * sharedStripSize))
    defer { packedShared.base.deallocate() }
    func sharedStrip(_ kBlock: Int, _ strip: Int, _ kb: Int) -> UnsafeMutablePointer<Float> {
      packedShared + (kBlock * sharedStrips * sharedStripSize + strip * (splitRows ? nr : mr) * kb)
    }
    // Packing a small operand is quicker than waking a second thread for it.
    let packItems = kBlocks * sharedStrips
    let itemsPerThread = max(4, packItems * 65_536 / max(1, kBlocks * sharedStrips * sharedStripSize))
    Parallel.forRanges(packItems, minPerThread: itemsPerThread) { items in
      for item in items {
        let kBlock = item / sharedStrips, strip = item % sharedStrips
        let pc = kBlock * kc, kb = min(kc, k - pc)
        if splitRows {
          if strip >= directStrips {
            packB(transB, sharedB.base, ldb, row0: pc, kb: kb, col0: strip * nr, n: n, into: sharedStrip(kBlock, strip, kb))
          }
        } else {
          packA(transA, sharedA.base, lda, row0: strip * mr, rows: min(mr, m - strip * mr), col0: pc, kb: kb, alpha: alpha,
                into: sharedStrip(kBlock, strip, kb))
        }
      }
    }

    Parallel.forEach(parts) { part in
      let rowRange = splitRows ? Parallel.share(of: rowStrips, part: part, parts: parts) : 0..<rowStrips
      let stripRange = splitRows ? 0..<strips : Parallel.share(of: strips, part: part, parts: parts)
      let ownA = UnsafeMutablePointer<Float>.allocate(capacity: splitRows ? mc * kc : 0)
      let ownB = UnsafeMutablePointer<Float>.allocate(capacity: splitRows ? 0 : stripRange.count * kc * nr)
      defer {
        ownA.deallocate()
        ownB.deallocate()
      }
      for kBlock in 0..<kBlocks {
        let pc = kBlock * kc, kb = min(kc, k - pc)
        if !splitRows {
          for s in stripRange where s >= directStrips {
            packB(transB, sharedB.base, ldb, row0: pc, kb: kb, col0: s * nr, n: n, into: ownB + (s - stripRange.lowerBound) * kb * nr)
          }
        }
        var blockStart = rowRange.lowerBound
        while blockStart < rowRange.upperBound {
          let blockEnd = min(rowRange.upperBound, blockStart + mc / mr)
          if splitRows {
            let row0 = blockStart * mr
            packA(transA, sharedA.base, lda, row0: row0, rows: min(m, blockEnd * mr) - row0, col0: pc, kb: kb, alpha: alpha, into: ownA)
          }
          for s in stripRange {
            let col0 = s * nr
            let direct = s < directStrips
            let bStrip: UnsafePointer<Float> =
              direct ? UnsafePointer(sharedB + (pc * ldb + col0))
              : UnsafePointer(splitRows ? sharedStrip(kBlock, s, kb) : ownB + (s - stripRange.lowerBound) * kb * nr)
            for r in blockStart..<blockEnd {
              let aStrip = splitRows ? ownA + (r - blockStart) * mr * kb : sharedStrip(kBlock, r, kb)
              let tileRow = r * mr
              microKernel(
                kb, UnsafePointer(aStrip), bStrip, bStride: direct ? ldb : nr,
                sharedC + (tileRow * ldc + col0), ldc: ldc, rows: min(mr, m - tileRow),
                cols: min(nr, n - col0))
            }
          }
          blockStart = blockEnd
        }
      }
    }
  }

  static func scale(_ c: UnsafeMutablePointer<Float>, rows: Int, cols: Int, ldc: Int, by beta: Float) {
    if beta == 1 { return }
    for i in 0..<rows {
      let row = c + i * ldc
      if beta == 0 {
        row.update(repeating: 0, count: cols)
      } else {
        for j in 0..<cols { row[j] *= beta }
      }
    }
  }

  /// Packs `op(B)[row0..<row0+kb, col0..<col0+32]` as `kb` pairs of vectors, zero-padded.
  @inline(__always)
  static func packB(
    _ trans: Transpose, _ b: UnsafePointer<Float>, _ ldb: Int, row0: Int, kb: Int, col0: Int,
    n: Int, into dst: UnsafeMutablePointer<Float>
  ) {
    let cols = min(nr, n - col0)
    if trans == .none {
      for p in 0..<kb {
        let src = b + (row0 + p) * ldb + col0
        let d = dst + p * nr
        if cols == nr {
          d.update(from: src, count: nr)
        } else {
          d.update(from: src, count: cols)
          (d + cols).update(repeating: 0, count: nr - cols)
        }
      }
    } else {
      if cols < nr { dst.update(repeating: 0, count: kb * nr) }
      // Row by row of the packed strip: contiguous writes, and 32 read streams that each
      // advance one float per row, so every cache line read serves 16 rows.
      let origin = b + col0 * ldb + row0
      for p in 0..<kb {
        let d = dst + p * nr
        for j in 0..<cols { d[j] = origin[j * ldb + p] }
      }
    }
  }

  /// Packs `alpha · op(A)[row0..<row0+rows, col0..<col0+kb]` into 6-row strips, zero-padded:
  /// strip `s` holds `kb` groups of 6 values.
  @inline(__always)
  static func packA(
    _ trans: Transpose, _ a: UnsafePointer<Float>, _ lda: Int, row0: Int, rows: Int, col0: Int,
    kb: Int, alpha: Float, into out: UnsafeMutablePointer<Float>
  ) {
    let stripCount = (rows + mr - 1) / mr
    for s in 0..<stripCount {
      let d = out + s * mr * kb
      let valid = min(mr, rows - s * mr)
      if valid < mr { d.update(repeating: 0, count: mr * kb) }
      for r in 0..<valid {
        let i = row0 + s * mr + r
        if trans == .none {
          let src = a + i * lda + col0
          for p in 0..<kb { d[p * mr + r] = alpha * src[p] }
        } else {
          for p in 0..<kb { d[p * mr + r] = alpha * a[(col0 + p) * lda + i] }
        }
      }
    }
  }

  @inline(__always)
  static func fused(_ acc: inout SIMD16<Float>, _ a: SIMD16<Float>, _ b: SIMD16<Float>) {
    #if AUTOPRUNE_FMA
      // Only with a CPU target that has FMA: elsewhere addProduct lowers to scalar fma calls.
      acc.addProduct(a, b)
    #else
      acc += a * b
    #endif
  }

  /// C[0..<rows, 0..<cols] += (packed A strip) · (packed B strip).
  @inline(__always)
  static func microKernel(
    _ kb: Int, _ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, bStride: Int,
    _ c: UnsafeMutablePointer<Float>, ldc: Int, rows: Int, cols: Int
  ) {
    var c00 = SIMD16<Float>(), c01 = SIMD16<Float>()
    var c10 = SIMD16<Float>(), c11 = SIMD16<Float>()
    var c20 = SIMD16<Float>(), c21 = SIMD16<Float>()
    var c30 = SIMD16<Float>(), c31 = SIMD16<Float>()
    var c40 = SIMD16<Float>(), c41 = SIMD16<Float>()
    var c50 = SIMD16<Float>(), c51 = SIMD16<Float>()
    var ap = a
    var bp = UnsafeRawPointer(b)
    let bStep = bStride * MemoryLayout<Float>.stride
    for _ in 0..<kb {
      let b0 = bp.loadUnaligned(as: SIMD16<Float>.self)
      let b1 = bp.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self)
      var x = SIMD16<Float>(repeating: ap[0])
      fused(&c00, x, b0); fused(&c01, x, b1)
      x = SIMD16<Float>(repeating: ap[1])
      fused(&c10, x, b0); fused(&c11, x, b1)
      x = SIMD16<Float>(repeating: ap[2])
      fused(&c20, x, b0); fused(&c21, x, b1)
      x = SIMD16<Float>(repeating: ap[3])
      fused(&c30, x, b0); fused(&c31, x, b1)
      x = SIMD16<Float>(repeating: ap[4])
      fused(&c40, x, b0); fused(&c41, x, b1)
      x = SIMD16<Float>(repeating: ap[5])
      fused(&c50, x, b0); fused(&c51, x, b1)
      ap += mr
      bp += bStep
    }
    if rows == mr && cols == nr {
      addRow(c, c00, c01)
      addRow(c + ldc, c10, c11)
      addRow(c + 2 * ldc, c20, c21)
      addRow(c + 3 * ldc, c30, c31)
      addRow(c + 4 * ldc, c40, c41)
      addRow(c + 5 * ldc, c50, c51)
      return
    }
    withUnsafeTemporaryAllocation(of: SIMD16<Float>.self, capacity: 2 * mr) { t in
      t[0] = c00; t[1] = c01; t[2] = c10; t[3] = c11; t[4] = c20; t[5] = c21
      t[6] = c30; t[7] = c31; t[8] = c40; t[9] = c41; t[10] = c50; t[11] = c51
      let flat = UnsafeRawPointer(t.baseAddress!).assumingMemoryBound(to: Float.self)
      for r in 0..<rows {
        for j in 0..<cols { c[r * ldc + j] += flat[r * nr + j] }
      }
    }
  }

  @inline(__always)
  static func addRow(_ row: UnsafeMutablePointer<Float>, _ lo: SIMD16<Float>, _ hi: SIMD16<Float>) {
    let raw = UnsafeMutableRawPointer(row)
    raw.storeBytes(of: raw.loadUnaligned(as: SIMD16<Float>.self) + lo, as: SIMD16<Float>.self)
    raw.storeBytes(
      of: raw.loadUnaligned(fromByteOffset: 64, as: SIMD16<Float>.self) + hi,
      toByteOffset: 64, as: SIMD16<Float>.self)
  }
}
