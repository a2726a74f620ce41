#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Whether a GEMM operand is read as stored or transposed.
public enum Transpose: Sendable {
  case none, transposed
}

/// The matrix-multiply implementation behind `GEMM.multiply`.
public enum GEMMBackend: String, Sendable, CaseIterable {
  /// `cblas_sgemm` from a system BLAS loaded at run time (OpenBLAS on Debian).
  case blas
  /// The blocked SIMD kernel in this module.
  case builtin
}

/// Single-precision GEMM on row-major matrices: `C = alpha · op(A) · op(B) + beta · C`.
///
/// `op(A)` is `m × k`, `op(B)` is `k × n`, `C` is `m × n`; `lda`, `ldb`, `ldc` are the row
/// strides of the matrices *as stored*. The backend is the built-in kernel on every CPU;
/// `AUTOPRUNE_GEMM=blas` uses a system OpenBLAS instead (loaded at run time, its core type set
/// for this CPU first: see `BLAS`).
///
/// Why the built-in kernel is the default: a distribution's OpenBLAS is older than its users'
/// CPUs and silently falls back to generic kernels on one it does not know (Debian's 0.3.21
/// runs as "Prescott", 22–56 GFLOP/s, on an Intel Xeon family 6 model 207 where it reaches 193
/// as SkylakeX), while the built-in kernel picks its instruction set from CPUID itself.
///
/// ```swift
/// GEMM.multiply(.none, .transposed, m: 100, n: 300, k: 784,
///               a: x, lda: 784, b: w, ldb: 784, c: y, ldc: 300)
/// ```
public enum GEMM {
  nonisolated(unsafe) private static var forced: GEMMBackend? = environmentValue.flatMap(GEMMBackend.init(rawValue:))

  /// `AUTOPRUNE_GEMM` in lower case without spaces; nil when unset or empty.
  private static var environmentValue: String? {
    guard let raw = getenv("AUTOPRUNE_GEMM") else { return nil }
    let value = String(cString: raw).trimmingSpaces().lowercased()
    return value.isEmpty ? nil : value
  }

  /// The backend `multiply` uses now: built-in unless BLAS was asked for and could be loaded.
  public static var backend: GEMMBackend {
    get { forced == .blas && BLAS.shared != nil ? .blas : .builtin }
    set { forced = newValue }
  }

  /// Checks `AUTOPRUNE_GEMM`: nil when unset or valid, else a message saying what is wrong.
  package static var environmentProblem: String? {
    guard let value = environmentValue else { return nil }
    guard let chosen = GEMMBackend(rawValue: value) else {
      return "AUTOPRUNE_GEMM: unknown backend '\(value)' (choose from \(GEMMBackend.allCases.map(\.rawValue).joined(separator: ", ")))"
    }
    guard chosen == .blas else { return nil }
    guard let blas = BLAS.shared else {
      return "AUTOPRUNE_GEMM=blas: no OpenBLAS found (\(BLAS.candidates.joined(separator: ", "))); apt-get install libopenblas0-pthread"
    }
    // Never silently slow: the core type we set was not taken (an OpenBLAS built for one CPU, or
    // too old to know the name), so it would run its generic kernels.
    if let core = blas.coreName, !BLAS.userChoseCore, BLAS.isFallbackCore(core, on: InstructionSet.best) {
      return "AUTOPRUNE_GEMM=blas: \(blas.path) runs its generic '\(core)' kernels on this \(InstructionSet.best) CPU, "
        + "several times slower than the built-in ones; set OPENBLAS_CORETYPE to override, or leave AUTOPRUNE_GEMM unset"
    }
    return nil
  }

  /// Backends usable in this process (built-in always; BLAS when a library was found).
  public static var availableBackends: [GEMMBackend] {
    BLAS.shared == nil ? [.builtin] : [.blas, .builtin]
  }

  /// Path of the loaded BLAS library, if any.
  public static var blasLibrary: String? { BLAS.shared?.path }

  /// Whether OpenBLAS's kernel family `core` is its fallback for an unknown CPU, slower than a
  /// CPU whose widest kernel set is `best` runs (what `AUTOPRUNE_GEMM=blas` refuses).
  public static func isFallbackBLASCore(_ core: String, on best: InstructionSet) -> Bool {
    BLAS.isFallbackCore(core, on: best)
  }

  /// The kernel family OpenBLAS chose (`openblas_get_corename`), if it was loaded and says.
  public static var blasCore: String? { BLAS.shared?.coreName }

  /// Computes `C = alpha · op(A) · op(B) + beta · C` with the active backend.
  public static func multiply(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int,
    using chosen: GEMMBackend? = nil
  ) {
    if m == 0 || n == 0 { return }
    switch chosen ?? backend {
    case .blas where BLAS.shared != nil:
      blasInParts(
        BLAS.shared!, transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b,
        ldb: ldb, beta: beta, c: c, ldc: ldc)
    default:
      BuiltinGEMM.multiply(
        transA, transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
        beta: beta, c: c, ldc: ldc)
    }
  }

  /// True for products that run faster on one thread. Measured with the spinning worker pool
  /// (2 cores, OpenBLAS): split by rows (m ≥ n) a product pays off from ~2.5 M multiply-adds
  /// (256×72×213: 84 → 58 µs; 256×32×128: 23 → 28 µs, slower); split by columns each part packs
  /// all of A again, so below ~4 M it loses (100×300×100: 68 → 90 µs).
  static func isSmall(m: Int, n: Int, k: Int) -> Bool {
    let work = m * n * k
    return work < 1 << 21 || (work < 1 << 22 && m < n)
  }

  /// Runs single-threaded BLAS calls on disjoint blocks of C from our own threads.
  ///
  /// OpenBLAS's own threads spin and `sched_yield` after each call, fighting the kernels'
  /// Dispatch workers for the cores: profiled on LeNet-5 training, a quarter of the time was
  /// the scheduler. One pool of threads (ours) avoids that, and the fixed split keeps results
  /// identical from run to run for a given thread count.
  private static func blasInParts(
    _ blas: BLAS, _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    let splitRows = m >= n
    let extent = splitRows ? m : n
    // Blocks of ≥ 16 rows or columns keep each call efficient.
    let parts = isSmall(m: m, n: n, k: k) ? 1 : max(1, min(Parallel.available, extent / 16))
    let sa = SharedPointer(UnsafeMutablePointer(mutating: a))
    let sb = SharedPointer(UnsafeMutablePointer(mutating: b))
    let sc = SharedPointer(c)
    Parallel.forEach(parts) { part in
      let lo = extent * part / parts, hi = extent * (part + 1) / parts
      if hi <= lo { return }
      if splitRows {
        let aBlock = UnsafePointer(transA == .none ? sa + lo * lda : sa + lo)
        blas.sgemm(transA, transB, m: hi - lo, n: n, k: k, alpha: alpha, a: aBlock, lda: lda, b: UnsafePointer(sb.base), ldb: ldb,
                   beta: beta, c: sc + lo * ldc, ldc: ldc)
      } else {
        let bBlock = UnsafePointer(transB == .none ? sb + lo : sb + lo * ldb)
        blas.sgemm(transA, transB, m: m, n: hi - lo, k: k, alpha: alpha, a: UnsafePointer(sa.base), lda: lda, b: bBlock, ldb: ldb,
                   beta: beta, c: sc + lo, ldc: ldc)
      }
    }
  }

  /// Triple-loop reference used by tests to check both backends (Double accumulation).
  public static func reference(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float = 1,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for p in 0..<k {
          let av = transA == .none ? a[i * lda + p] : a[p * lda + i]
          let bv = transB == .none ? b[p * ldb + j] : b[j * ldb + p]
          sum += Double(av) * Double(bv)
        }
        let prior = beta == 0 ? 0 : Double(beta) * Double(c[i * ldc + j])
        c[i * ldc + j] = Float(Double(alpha) * sum + prior)
      }
    }
  }
}
