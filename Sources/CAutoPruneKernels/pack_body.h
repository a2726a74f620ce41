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

#if defined(__x86_64__)
#include <immintrin.h>

// op(B)ᵀ strip packing with 8 × 8 transposes in AVX registers: 8 loads of 8 floats (8 columns
// of the strip, 8 consecutive k each) become 8 stores of 8 floats into 8 packed rows. The scalar
// transpose moved one float per load and store and ran the NT products with long k (LeNet-5's
// conv2 weight gradient, 50 × 500 × 6400) at 70% of OpenBLAS. Full 8 × 8 blocks only; the
// caller packs the rest.
__attribute__((target("avx2"))) static inline void transpose8x8_into(const float *src, long ld, float *dst, long dst_ld) {
  __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld), r2 = _mm256_loadu_ps(src + 2 * ld);
  __m256 r3 = _mm256_loadu_ps(src + 3 * ld), r4 = _mm256_loadu_ps(src + 4 * ld), r5 = _mm256_loadu_ps(src + 5 * ld);
  __m256 r6 = _mm256_loadu_ps(src + 6 * ld), r7 = _mm256_loadu_ps(src + 7 * ld);
  __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3);
  __m256 t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
  __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
  __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE), u2 = _mm256_shuffle_ps(t1, t3, 0x44);
  __m256 u3 = _mm256_shuffle_ps(t1, t3, 0xEE), u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
  __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
  _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
  _mm256_storeu_ps(dst + dst_ld, _mm256_permute2f128_ps(u1, u5, 0x20));
  _mm256_storeu_ps(dst + 2 * dst_ld, _mm256_permute2f128_ps(u2, u6, 0x20));
  _mm256_storeu_ps(dst + 3 * dst_ld, _mm256_permute2f128_ps(u3, u7, 0x20));
  _mm256_storeu_ps(dst + 4 * dst_ld, _mm256_permute2f128_ps(u0, u4, 0x31));
  _mm256_storeu_ps(dst + 5 * dst_ld, _mm256_permute2f128_ps(u1, u5, 0x31));
  _mm256_storeu_ps(dst + 6 * dst_ld, _mm256_permute2f128_ps(u2, u6, 0x31));
  _mm256_storeu_ps(dst + 7 * dst_ld, _mm256_permute2f128_ps(u3, u7, 0x31));
}

// pack_a_body for a row-major A with a full 6-row strip: 6 rows × 8 columns (two zero rows
// added) transposed in registers, each column's 6 values stored with a 6-lane mask. The scalar
// interleave moved one float per load and store.
__attribute__((target("avx2"))) static inline void pack_a_strip_avx(
    const float *restrict a, long lda, long kb, float alpha, float *restrict d) {
  const __m256i six = _mm256_setr_epi32(-1, -1, -1, -1, -1, -1, 0, 0);
  const __m256 scale = _mm256_set1_ps(alpha), zero = _mm256_setzero_ps();
  float block[8 * 8];
  long p = 0;
  for (; p + 8 <= kb; p += 8) {
    for (int r = 0; r < AP_MR; r++) _mm256_storeu_ps(block + 8 * r, _mm256_mul_ps(scale, _mm256_loadu_ps(a + r * lda + p)));
    _mm256_storeu_ps(block + 48, zero);
    _mm256_storeu_ps(block + 56, zero);
    float columns[8 * 8];
    transpose8x8_into(block, 8, columns, 8);
    for (int q = 0; q < 8; q++) _mm256_maskstore_ps(d + (p + q) * AP_MR, six, _mm256_loadu_ps(columns + 8 * q));
  }
  for (; p < kb; p++)
    for (int r = 0; r < AP_MR; r++) d[p * AP_MR + r] = alpha * a[r * lda + p];
}

// pack_b_body for a transposed B, 8 × 8 blocks through registers, the edges as before.
__attribute__((target("avx2"))) static inline void pack_b_transposed_avx(
    const float *restrict b, long ldb, long row0, long kb, long col0, long n, float *restrict dst) {
  long cols = n - col0 < AP_NR ? n - col0 : AP_NR;
  const float *origin = b + col0 * ldb + row0;
  long fullCols = cols / 8 * 8, fullRows = kb / 8 * 8;
  for (long p = 0; p < fullRows; p += 8)
    for (long j = 0; j < fullCols; j += 8) transpose8x8_into(origin + j * ldb + p, ldb, dst + p * AP_NR + j, AP_NR);
  for (long p = 0; p < kb; p++) {
    float *d = dst + p * AP_NR;
    long from = p < fullRows ? fullCols : 0;
    for (long j = from; j < AP_NR; j++) d[j] = j < cols ? origin[j * ldb + p] : 0.0f;
  }
}
// The packing both AVX tables use: the vector paths above for a row-major A's full strips and
// for a transposed B, the loops of pack_a_body / pack_b_body for the rest. Written once and
// instantiated per table (AP_DEFINE_PACKING), so those loops are compiled for each
// instruction set: compiled for AVX2 alone they cost the AVX-512 table ~5% on the thin LeNet
// products (fc1 forward 93 → 89 GFLOP/s, one thread).
__attribute__((target("avx2,fma"), always_inline)) static inline void pack_a_vector_body(
    int transposed, const float *a, long lda, long row0, long rows, long col0, long kb, float alpha, float *out) {
  if (transposed) {
    pack_a_body(1, a, lda, row0, rows, col0, kb, alpha, out);
    return;
  }
  long strips = (rows + AP_MR - 1) / AP_MR;
  for (long s = 0; s < strips; s++) {
    if (rows - s * AP_MR >= AP_MR) {
      pack_a_strip_avx(a + (row0 + s * AP_MR) * lda + col0, lda, kb, alpha, out + s * AP_MR * kb);
    } else {
      // The ragged last strip: the general loop, told it starts there.
      pack_a_body(0, a, lda, row0 + s * AP_MR, rows - s * AP_MR, col0, kb, alpha, out + s * AP_MR * kb);
    }
  }
}

__attribute__((target("avx2,fma"), always_inline)) static inline void pack_b_vector_body(
    int transposed, const float *b, long ldb, long row0, long kb, long col0, long n, float *out) {
  if (transposed) {
    pack_b_transposed_avx(b, ldb, row0, kb, col0, n, out);
  } else {
    pack_b_body(0, b, ldb, row0, kb, col0, n, out);
  }
}

#endif

// pack_a_SUFFIX / pack_b_SUFFIX compiled with TARGET around the bodies A_BODY / B_BODY:
// pack_a_body / pack_b_body for the baseline, pack_a_vector_body / pack_b_vector_body for AVX.
#define AP_DEFINE_PACKING(SUFFIX, TARGET, A_BODY, B_BODY)                                                \
  TARGET static void pack_a_##SUFFIX(int transposed, const float *a, long lda, long row0, long rows,    \
                                     long col0, long kb, float alpha, float *out) {                     \
    A_BODY(transposed, a, lda, row0, rows, col0, kb, alpha, out);                                       \
  }                                                                                                     \
  TARGET static void pack_b_##SUFFIX(int transposed, const float *b, long ldb, long row0, long kb,      \
                                     long col0, long n, float *out) {                                   \
    B_BODY(transposed, b, ldb, row0, kb, col0, n, out);                                                 \
  }

#endif
