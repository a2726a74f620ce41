// Packing loops, written once and compiled into each instruction set's file (always inlined
// into a wrapper carrying that file's target attribute, so the compiler vectorises them for it).
#ifndef AP_PACK_BODY_H
#define AP_PACK_BODY_H

#include "kernel_table.h"

static inline __attribute__((always_inline)) void pack_a_body(
    int transposed, const float *restrict a, long lda, long row0, long rows, long col0, long kb, float alpha,
    float *restrict out) {
  long strips = (rows + AP_MR - 1) / AP_MR;
  for (long s = 0; s < strips; s++) {
    float *restrict d = out + s * AP_MR * kb;
    long valid = rows - s * AP_MR < AP_MR ? rows - s * AP_MR : AP_MR;
    long first = row0 + s * AP_MR;
    if (transposed) {
      // op(A)[i, p] = a[p·lda + i]: the strip's 6 values of one p are contiguous.
      for (long p = 0; p < kb; p++) {
        const float *src = a + (col0 + p) * lda + first;
        for (long r = 0; r < AP_MR; r++) d[p * AP_MR + r] = r < valid ? alpha * src[r] : 0.0f;
      }
    } else if (valid == AP_MR) {
      const float *s0 = a + first * lda + col0, *s1 = s0 + lda, *s2 = s1 + lda;
      const float *s3 = s2 + lda, *s4 = s3 + lda, *s5 = s4 + lda;
      for (long p = 0; p < kb; p++) {
        float *g = d + p * AP_MR;
        g[0] = alpha * s0[p]; g[1] = alpha * s1[p]; g[2] = alpha * s2[p];
        g[3] = alpha * s3[p]; g[4] = alpha * s4[p]; g[5] = alpha * s5[p];
      }
    } else {
      for (long p = 0; p < kb; p++) {
        for (long r = 0; r < AP_MR; r++) d[p * AP_MR + r] = r < valid ? alpha * a[(first + r) * lda + col0 + p] : 0.0f;
      }
    }
  }
}

static inline __attribute__((always_inline)) void pack_b_body(
    int transposed, const float *restrict b, long ldb, long row0, long kb, long col0, long n,
    float *restrict dst) {
  long cols = n - col0 < AP_NR ? n - col0 : AP_NR;
  if (!transposed) {
    for (long p = 0; p < kb; p++) {
      const float *src = b + (row0 + p) * ldb + col0;
      float *d = dst + p * AP_NR;
      for (long j = 0; j < AP_NR; j++) d[j] = j < cols ? src[j] : 0.0f;
    }
    return;
  }
  // op(B)[p, j] = b[j·ldb + p]: a transpose. Blocks of 8 rows of the strip at a time read 8
  // consecutive floats of each column (every cache line read serves 8 rows) and write 8
  // contiguous 32-float rows.
  const float *origin = b + col0 * ldb + row0;
  long p = 0;
  for (; p + 8 <= kb; p += 8) {
    for (long j = 0; j < cols; j++) {
      const float *src = origin + j * ldb + p;
      for (long q = 0; q < 8; q++) dst[(p + q) * AP_NR + j] = src[q];
    }
    for (long j = cols; j < AP_NR; j++) {
      for (long q = 0; q < 8; q++) dst[(p + q) * AP_NR + j] = 0.0f;
    }
  }
  for (; p < kb; p++) {
    for (long j = 0; j < AP_NR; j++) dst[p * AP_NR + j] = j < cols ? origin[j * ldb + p] : 0.0f;
  }
}

#define AP_DEFINE_PACKING(SUFFIX, TARGET)                                                                 \
  TARGET static void pack_a_##SUFFIX(int transposed, const float *a, long lda, long row0, long rows,    \
                                     long col0, long kb, float alpha, float *out) {                     \
    pack_a_body(transposed, a, lda, row0, rows, col0, kb, alpha, out);                                  \
  }                                                                                                     \
  TARGET static void pack_b_##SUFFIX(int transposed, const float *b, long ldb, long row0, long kb,      \
                                     long col0, long n, float *out) {                                   \
    pack_b_body(transposed, b, ldb, row0, kb, col0, n, out);                                            \
  }

#endif
