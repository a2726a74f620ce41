import CAutoPruneKernels

/// The built-in GEMM: packed panels and a 6×32 register tile (`CAutoPruneKernels`).
///
/// Layout follows the GotoBLAS scheme: a `kc`-deep slice of B is packed into 32-column strips
/// (one strip stays in L1 while it is reused), a block of A into 6-row strips (stays in L2), and
/// the micro-kernel keeps a 6×32 tile of C in registers. Packing and the micro-kernel are C
/// functions compiled for AVX-512, AVX2+FMA and the baseline and chosen at run time
/// (`InstructionSet`), so this is as fast from a plain `swift build` as from a native one. Every
/// element of C sums its `k` terms in the same order whatever the thread split, so results are
/// deterministic for a given instruction set.
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
    if m == 1 && k > 0 && alpha != 0 {
      vector(transA, transB, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: c)
      return
    }
    if k == 0 || alpha == 0 {
      scale(c, rows: m, cols: n, ldc: ldc, by: beta)
      return
    }
    // With beta = 0 the first k block stores its tiles (no zeroing pass over C, no reads of it).
    if beta != 0 { scale(c, rows: m, cols: n, ldc: ldc, by: beta) }
    let overwriteFirstBlock: Int32 = beta == 0 ? 1 : 0

    let strips = (n + nr - 1) / nr
    let rowStrips = (m + mr - 1) / mr
    let kBlocks = (k + kc - 1) / kc
    let threads = Parallel.available
    let tA: Int32 = transA == .none ? 0 : 1, tB: Int32 = transB == .none ? 0 : 1
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
            ap_pack_b(tB, sharedB.base, ldb, pc, kb, strip * nr, n, sharedStrip(kBlock, strip, kb))
          }
        } else {
          ap_pack_a(tA, sharedA.base, lda, strip * mr, min(mr, m - strip * mr), pc, kb, alpha, sharedStrip(kBlock, strip, kb))
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
            ap_pack_b(tB, sharedB.base, ldb, pc, kb, s * nr, n, ownB + (s - stripRange.lowerBound) * kb * nr)
          }
        }
        var blockStart = rowRange.lowerBound
        while blockStart < rowRange.upperBound {
          let blockEnd = min(rowRange.upperBound, blockStart + mc / mr)
          let row0 = blockStart * mr, rows = min(m, blockEnd * mr) - row0
          if splitRows {
            ap_pack_a(tA, sharedA.base, lda, row0, rows, pc, kb, alpha, ownA)
          }
          let aBlock = splitRows ? ownA : sharedStrip(kBlock, blockStart, kb)
          for s in stripRange {
            let col0 = s * nr
            let direct = s < directStrips
            let bStrip: UnsafePointer<Float> =
              direct ? UnsafePointer(sharedB + (pc * ldb + col0))
              : UnsafePointer(splitRows ? sharedStrip(kBlock, s, kb) : ownB + (s - stripRange.lowerBound) * kb * nr)
            ap_gemm_strip(kb, aBlock, blockEnd - blockStart, rows, bStrip, direct ? ldb : nr, sharedC + (row0 * ldc + col0), ldc, min(nr, n - col0),
              kBlock == 0 ? overwriteFirstBlock : 0)
          }
          blockStart = blockEnd
        }
      }
    }
  }

  /// A single row of A (one-sample inference): `ap_gemv`, no packing. Packing all of B for one
  /// row cost 10× the product (LeNet-300's 784 × 300 layer for one image: ~120 µs against a
  /// memory-bound ~15). Threads split the columns when the product reads enough of B to pay
  /// for waking one (measured on 2 cores: from about 128k multiply-adds).
  static func vector(
    _ transA: Transpose, _ transB: Transpose, n: Int, k: Int, alpha: Float, a: UnsafePointer<Float>, lda: Int,
    b: UnsafePointer<Float>, ldb: Int, beta: Float, c: UnsafeMutablePointer<Float>
  ) {
    // op(A) is 1 × k: contiguous unless A is stored k × 1 with a stride.
    let gathered = transA == .transposed && lda != 1 ? (0..<k).map { a[$0 * lda] } : []
    gathered.withUnsafeBufferPointer { g in
      let x = SharedPointer(UnsafeMutablePointer(mutating: gathered.isEmpty ? a : g.baseAddress!))
      let sb = SharedPointer(UnsafeMutablePointer(mutating: b)), sc = SharedPointer(c)
      let bTransposed: Int32 = transB == .transposed ? 1 : 0
      let parts = n * k >= 1 << 17 ? max(1, min(Parallel.available, n / 64)) : 1
      Parallel.forEach(parts) { part in
        let columns = Parallel.share(of: n, part: part, parts: parts)
        if columns.isEmpty { return }
        let origin = transB == .transposed ? sb + columns.lowerBound * ldb : sb + columns.lowerBound
        ap_gemv(bTransposed, columns.count, k, alpha, x.base, origin, ldb, beta, sc + columns.lowerBound)
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
}
