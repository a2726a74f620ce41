import AutoPruneKernels
import Foundation
func t(_ m: Int, _ n: Int, _ k: Int, _ be: GEMMBackend, _ ta: Transpose = .none, _ tb: Transpose = .none) {
  let a = [Float](repeating: 0.5, count: m*k), b = [Float](repeating: 0.25, count: k*n)
  var c = [Float](repeating: 0, count: m*n)
  let lda = ta == .none ? k : m, ldb = tb == .none ? n : k
  GEMM.multiply(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: n, using: be)
  var reps = 0; let start = Date()
  while Date().timeIntervalSince(start) < 0.5 { GEMM.multiply(ta, tb, m: m, n: n, k: k, a: a, lda: lda, b: b, ldb: ldb, c: &c, ldc: n, using: be); reps += 1 }
  let s = Date().timeIntervalSince(start) / Double(reps)
  print(be, m, n, k, ta, tb, String(format: "%.1f GFLOP/s", 2.0*Double(m*n*k)/s/1e9))
}
for be in GEMM.availableBackends {
  t(1024,1024,1024,be); t(100,300,784,be,.none,.transposed); t(300,784,100,be,.transposed,.none); t(100,784,300,be); t(50,6400,500,be); t(20,57600,25,be)
}
