import XCTest

import AutoPruneKernels

final class GEMMTests: XCTestCase {
  /// Deterministic pseudo-random fill (no dependency on the NN module's RNG).
  private func fill(_ count: Int, seed: UInt64) -> [Float] {
    var s = seed &* 0x9E37_79B9_7F4A_7C15 | 1
    return (0..<count).map { _ in
      s ^= s << 13
      s ^= s >> 7
      s ^= s << 17
      return Float(Int64(s % 2001) - 1000) / 1000
    }
  }

  /// Runs one backend on op(A)·op(B) with padded strides and compares with the reference.
  private func check(
    _ backend: GEMMBackend, _ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int,
    alpha: Float = 1, beta: Float = 0, pad: Int = 0, file: StaticString = #filePath, line: UInt = #line
  ) {
    let aRows = ta == .none ? m : k, aCols = ta == .none ? k : m
    let bRows = tb == .none ? k : n, bCols = tb == .none ? n : k
    let lda = aCols + pad, ldb = bCols + pad, ldc = n + pad
    let a = fill(max(1, aRows * lda), seed: 1)
    let b = fill(max(1, bRows * ldb), seed: 2)
    var expected = fill(max(1, m * ldc), seed: 3)
    var actual = expected
    GEMM.reference(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &expected, ldc: ldc)
    GEMM.multiply(ta, tb, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb, beta: beta, c: &actual, ldc: ldc, using: backend)
    var worst: Float = 0
    for i in 0..<m {
      for j in 0..<ldc {
        let idx = i * ldc + j
        if j >= n {
          // Padding columns of C must be untouched.
          XCTAssertEqual(actual[idx], expected[idx], "padding of C written", file: file, line: line)
          continue
        }
        worst = max(worst, abs(actual[idx] - expected[idx]) / (1 + abs(expected[idx])))
      }
    }
    // Float32 sums of k products of values ≤ 1: relative error grows like k·ε.
    let tolerance = Float(max(k, 1)) * 2e-7 + 1e-6
    XCTAssertLessThanOrEqual(worst, tolerance, "\(backend) \(ta)\(tb) \(m)×\(n)×\(k)", file: file, line: line)
  }

  private let awkwardShapes = [(1, 1, 1), (7, 13, 5), (257, 129, 65), (6, 32, 300), (33, 1, 17), (1, 70, 3), (100, 300, 784)]

  func testEveryBackendMatchesReferenceOnAwkwardShapesAllTransposes() {
    InstructionSet.forEachSupported { _ in
      for backend in GEMM.availableBackends {
        for ta in [Transpose.none, .transposed] {
          for tb in [Transpose.none, .transposed] {
            for (m, n, k) in awkwardShapes { check(backend, ta, tb, m: m, n: n, k: k) }
          }
        }
      }
    }
  }

  /// Shapes of the per-call regime (one row: the vector path; thin products, long k, ragged edges in both directions),
  /// the B-in-place path (m ≤ 96, row-major B) and several k blocks.
  func testEveryKernelSetOnThinAndBlockedShapes() {
    InstructionSet.forEachSupported { _ in
      for (m, n, k) in [(1, 300, 784), (1, 131, 37), (1, 64, 1), (2, 500, 6400), (50, 20, 96), (20, 96, 50), (96, 64, 513), (97, 65, 257), (5, 33, 1000)] {
        for ta in [Transpose.none, .transposed] {
          for tb in [Transpose.none, .transposed] { check(.builtin, ta, tb, m: m, n: n, k: k, beta: 1, pad: 2) }
        }
      }
    }
  }

  func testStridesAlphaAndBeta() {
    InstructionSet.forEachSupported { _ in
      for backend in GEMM.availableBackends {
        check(backend, .none, .none, m: 19, n: 37, k: 23, alpha: 0.5, beta: 2, pad: 3)
        check(backend, .transposed, .transposed, m: 64, n: 40, k: 300, alpha: -1, beta: 1, pad: 5)
        check(backend, .none, .transposed, m: 5, n: 3, k: 0, beta: 0.5)
      }
    }
  }

  func testBuiltinIsIdenticalForAnyThreadCount() {
    InstructionSet.forEachSupported { _ in
      let m = 97, n = 150, k = 513
      let a = fill(m * k, seed: 4), b = fill(k * n, seed: 5)
      var results: [[Float]] = []
      let saved = Parallel.threads
      defer { Parallel.threads = saved }
      for threads in [1, 2, 3] {
        Parallel.threads = threads
        var c = [Float](repeating: 0, count: m * n)
        GEMM.multiply(.none, .none, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: &c, ldc: n, using: .builtin)
        results.append(c)
      }
      XCTAssertEqual(results[0], results[1], "\(InstructionSet.active)")
      XCTAssertEqual(results[0], results[2], "\(InstructionSet.active)")
    }
  }

  func testReferenceOnAHandWorkedProduct() {
    // [1 2; 3 4] · [5 6; 7 8] = [19 22; 43 50]
    var c = [Float](repeating: 0, count: 4)
    for backend in GEMM.availableBackends {
      GEMM.multiply(.none, .none, m: 2, n: 2, k: 2, a: [1, 2, 3, 4], lda: 2, b: [5, 6, 7, 8], ldb: 2, c: &c, ldc: 2, using: backend)
      XCTAssertEqual(c, [19, 22, 43, 50], "\(backend)")
    }
  }
}
