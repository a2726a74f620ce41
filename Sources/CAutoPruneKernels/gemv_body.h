// The one-row product (ap_gemv), written once over a vector type the including file defines:
// AP_V, AP_W (floats per vector), AP_ZERO, AP_LOAD(p), AP_STORE(p, v), AP_SET1(x), AP_FMA(a, b, c)
// (a·b + c), AP_SUM(v), AP_TAIL_DECL(count) and AP_TAIL_LOAD(p) (the first `count` floats at p,
// zeros after), AP_GEMV_NAME and TARGET.
// One row times B. Transposed B: four dot products at a time, AP_W floats per step, the tail
// masked. Row-major B: 4 × AP_W columns of y held in registers while the rows of B stream by.
TARGET static void AP_GEMV_NAME(int b_transposed, long n, long k, float alpha, const float *x, const float *b,
                          long ldb, float beta, float *y) {
  if (b_transposed) {
    long full = k / AP_W * AP_W;
    AP_TAIL_DECL(k - full);
    long j = 0;
    for (; j < n; j += 4) {
      long rows = n - j < 4 ? n - j : 4;
      const float *r0 = b + j * ldb, *r1 = b + (j + (rows > 1 ? 1 : 0)) * ldb;
      const float *r2 = b + (j + (rows > 2 ? 2 : 0)) * ldb, *r3 = b + (j + (rows > 3 ? 3 : 0)) * ldb;
      AP_V a0 = AP_ZERO, a1 = AP_ZERO, a2 = AP_ZERO, a3 = AP_ZERO;
      long p = 0;
      for (; p < full; p += AP_W) {
        AP_V v = AP_LOAD(x + p);
        a0 = AP_FMA(v, AP_LOAD(r0 + p), a0);
        a1 = AP_FMA(v, AP_LOAD(r1 + p), a1);
        a2 = AP_FMA(v, AP_LOAD(r2 + p), a2);
        a3 = AP_FMA(v, AP_LOAD(r3 + p), a3);
      }
      if (p < k) {
        AP_V v = AP_TAIL_LOAD(x + p);
        a0 = AP_FMA(v, AP_TAIL_LOAD(r0 + p), a0);
        a1 = AP_FMA(v, AP_TAIL_LOAD(r1 + p), a1);
        a2 = AP_FMA(v, AP_TAIL_LOAD(r2 + p), a2);
        a3 = AP_FMA(v, AP_TAIL_LOAD(r3 + p), a3);
      }
      float sums[4] = {AP_SUM(a0), AP_SUM(a1), AP_SUM(a2), AP_SUM(a3)};
      for (long r = 0; r < rows; r++) y[j + r] = alpha * sums[r] + (beta == 0.0f ? 0.0f : beta * y[j + r]);
    }
    return;
  }
  float column[4 * AP_W];
  for (long j0 = 0; j0 < n; j0 += 4 * AP_W) {
    long width = n - j0 < 4 * AP_W ? n - j0 : 4 * AP_W;
    if (width == 4 * AP_W) {
      AP_V a0 = AP_ZERO, a1 = AP_ZERO, a2 = AP_ZERO, a3 = AP_ZERO;
      for (long p = 0; p < k; p++) {
        const float *row = b + p * ldb + j0;
        AP_V v = AP_SET1(x[p]);
        a0 = AP_FMA(v, AP_LOAD(row), a0);
        a1 = AP_FMA(v, AP_LOAD(row + AP_W), a1);
        a2 = AP_FMA(v, AP_LOAD(row + 2 * AP_W), a2);
        a3 = AP_FMA(v, AP_LOAD(row + 3 * AP_W), a3);
      }
      AP_STORE(column, a0);
      AP_STORE(column + AP_W, a1);
      AP_STORE(column + 2 * AP_W, a2);
      AP_STORE(column + 3 * AP_W, a3);
    } else {
      for (long q = 0; q < width; q++) column[q] = 0.0f;
      for (long p = 0; p < k; p++) {
        const float *row = b + p * ldb + j0;
        for (long q = 0; q < width; q++) column[q] += x[p] * row[q];
      }
    }
    for (long q = 0; q < width; q++) y[j0 + q] = alpha * column[q] + (beta == 0.0f ? 0.0f : beta * y[j0 + q]);
  }
}
