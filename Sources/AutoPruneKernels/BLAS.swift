#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// `cblas_sgemm` found at run time with `dlopen`, so the build never needs a BLAS.
final class BLAS: @unchecked Sendable {
  private typealias SGEMM = @convention(c) (
    Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32,
    UnsafePointer<Float>?, Int32, Float, UnsafeMutablePointer<Float>?, Int32
  ) -> Void
  private typealias SetThreads = @convention(c) (Int32) -> Void

  // CBLAS enum values fixed by the reference header.
  private static let rowMajor: Int32 = 101
  private static let noTrans: Int32 = 111
  private static let trans: Int32 = 112

  static let candidates = [
    "libopenblas.so.0", "libopenblas.so", "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
    "/System/Library/Frameworks/Accelerate.framework/Accelerate",
  ]

  /// The loaded library, or nil when none of the candidates provides `cblas_sgemm`.
  static let shared: BLAS? = {
    configureCoreType()
    for path in candidates {
      if let blas = BLAS(path: path) { return blas }
    }
    return nil
  }()

  /// OpenBLAS picks its kernels from a table of the CPUs it knew when it was released; on a
  /// newer one it falls back to its oldest x86-64 kernels ("Prescott": measured 36 GFLOP/s on
  /// 1024³ on an Intel Xeon family 6 model 207, 193 with `OPENBLAS_CORETYPE=SkylakeX`). Its
  /// dynamic-architecture builds (Debian's) read `OPENBLAS_CORETYPE` when the library loads, so
  /// it is set here, before `dlopen`, from the instruction set our own kernels use (the best one,
  /// or `AUTOPRUNE_KERNELS`), unless the user set it.
  static func configureCoreType() {
    #if arch(x86_64)
      guard getenv("OPENBLAS_CORETYPE") == nil else {
        userChoseCore = true
        return
      }
      switch InstructionSet.active {
      case .avx512: setenv("OPENBLAS_CORETYPE", "SkylakeX", 0)
      case .avx2: setenv("OPENBLAS_CORETYPE", "Haswell", 0)
      case .baseline: break
      }
    #endif
  }

  /// Whether `OPENBLAS_CORETYPE` came from the user (then the core OpenBLAS runs is theirs to choose).
  nonisolated(unsafe) static var userChoseCore = false

  /// OpenBLAS kernel families with AVX2 and FMA or wider. On a CPU that runs our AVX2 or AVX-512
  /// kernels, any other family is OpenBLAS's fallback for a CPU it does not know ("Prescott",
  /// "Nehalem", …), several times slower.
  static let vectorCores: Set<String> = ["haswell", "zen", "skylakex", "cooperlake", "sapphirerapids"]

  /// Whether OpenBLAS's `core` is a fallback slower than this CPU can run (`best` our widest set).
  static func isFallbackCore(_ core: String, on best: InstructionSet) -> Bool {
    best != .baseline && !vectorCores.contains(core.lowercased())
  }

  let path: String
  /// `openblas_get_corename()`: the kernel family the library runs.
  let coreName: String?
  private let sgemmFunction: SGEMM
  private let setThreadsFunction: SetThreads?

  private init?(path: String) {
    guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else { return nil }
    guard let symbol = dlsym(handle, "cblas_sgemm") else {
      dlclose(handle)
      return nil
    }
    self.path = path
    sgemmFunction = unsafeBitCast(symbol, to: SGEMM.self)
    setThreadsFunction = dlsym(handle, "openblas_set_num_threads").map {
      unsafeBitCast($0, to: SetThreads.self)
    }
    typealias CoreName = @convention(c) () -> UnsafeMutablePointer<CChar>?
    coreName = dlsym(handle, "openblas_get_corename").flatMap { unsafeBitCast($0, to: CoreName.self)() }.map { String(cString: $0) }
    // Threads come from GEMM's own split (see `GEMM.blasInParts`), never from OpenBLAS.
    setThreads(1)
  }

  func setThreads(_ n: Int) { setThreadsFunction?(Int32(n)) }

  func sgemm(
    _ transA: Transpose, _ transB: Transpose, m: Int, n: Int, k: Int, alpha: Float,
    a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
    beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int
  ) {
    sgemmFunction(
      BLAS.rowMajor, transA == .none ? BLAS.noTrans : BLAS.trans,
      transB == .none ? BLAS.noTrans : BLAS.trans, Int32(m), Int32(n), Int32(k), alpha, a,
      Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
  }
}
