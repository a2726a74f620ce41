// AVX2 + FMA kernels: 16 ymm registers, so each 6 × 32 tile runs as two 6 × 16 halves
// (12 accumulators each) over the same packed A.
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernel_table.h"
#include "pack_body.h"

#define TARGET __attribute__((target("avx2,fma")))

AP_DEFINE_PACKING(avx2, TARGET, pack_a_vector_body, pack_b_vector_body)

TARGET static inline __m256i lane_mask8(long count) {
  const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32((int)(count < 0 ? 0 : count > 8 ? 8 : count)), lanes);
}

// c[r][0..<cols] += acc[r] (cols ≤ 16) for r < rows.
TARGET static inline void add_half(float *c, long ldc, long rows, long cols, __m256 acc[AP_MR][2], int overwrite) {
  if (overwrite) {
    __m256i m0 = lane_mask8(cols), m1 = lane_mask8(cols - 8);
    for (int r = 0; r < AP_MR; r++) {
      if (r >= rows) break;
      _mm256_maskstore_ps(c + r * ldc, m0, acc[r][0]);
      _mm256_maskstore_ps(c + r * ldc + 8, m1, acc[r][1]);
    }
    return;
  }
  if (rows == AP_MR && cols == 16) {
    for (int r = 0; r < AP_MR; r++) {
      float *row = c + r * ldc;
      _mm256_storeu_ps(row, _mm256_add_ps(_mm256_loadu_ps(row), acc[r][0]));
      _mm256_storeu_ps(row + 8, _mm256_add_ps(_mm256_loadu_ps(row + 8), acc[r][1]));
    }
    return;
  }
  __m256i m0 = lane_mask8(cols), m1 = lane_mask8(cols - 8);
  for (int r = 0; r < AP_MR; r++) {
    if (r >= rows) break;
    float *row = c + r * ldc;
    _mm256_maskstore_ps(row, m0, _mm256_add_ps(_mm256_maskload_ps(row, m0), acc[r][0]));
    _mm256_maskstore_ps(row + 8, m1, _mm256_add_ps(_mm256_maskload_ps(row + 8, m1), acc[r][1]));
  }
}

TARGET static void gemm_strip_avx2(long kb, const float *a, long row_strips, long rows, const float *b,
                                   long b_stride, float *c, long ldc, long cols, int overwrite) {
  for (long s = 0; s < row_strips; s++) {
    long left = rows - s * AP_MR;
    for (long half = 0; half < 2 && half * 16 < cols; half++) {
      const float *ap = a + s * AP_MR * kb, *bp = b + half * 16;
      __m256 acc[AP_MR][2];
      for (int r = 0; r < AP_MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
      for (long p = 0; p < kb; p++) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        for (int r = 0; r < AP_MR; r++) {
          __m256 x = _mm256_broadcast_ss(ap + r);
          acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
        ap += AP_MR;
        bp += b_stride;
      }
      long width = cols - half * 16;
      add_half(c + s * AP_MR * ldc + half * 16, ldc, left < AP_MR ? left : AP_MR, width < 16 ? width : 16, acc, overwrite);
    }
  }
}

TARGET static void conv_tile_avx2(const float *a, const float *b, long plane_stride, long channels,
                                  const long *offsets, long taps, float *c, long ldc) {
  for (int half = 0; half < 2; half++) {
    __m256 acc[AP_MR][2];
    for (int r = 0; r < AP_MR; r++) acc[r][0] = acc[r][1] = _mm256_setzero_ps();
    const float *ap = a;
    for (long t = 0; t < taps; t++) {
      const float *bp = b + offsets[t] + 16 * half;
      for (long ch = 0; ch < channels; ch++) {
        __m256 b0 = _mm256_loadu_ps(bp), b1 = _mm256_loadu_ps(bp + 8);
        for (int r = 0; r < AP_MR; r++) {
          __m256 x = _mm256_broadcast_ss(ap + r);
          acc[r][0] = _mm256_fmadd_ps(x, b0, acc[r][0]);
          acc[r][1] = _mm256_fmadd_ps(x, b1, acc[r][1]);
        }
        ap += AP_MR;
        bp += plane_stride;
      }
    }
    for (int r = 0; r < AP_MR; r++) {
      _mm256_storeu_ps(c + r * ldc + 16 * half, acc[r][0]);
      _mm256_storeu_ps(c + r * ldc + 16 * half + 8, acc[r][1]);
    }
  }
}

TARGET static void conv_narrow_tile_avx2(const float *a, const float *b, long plane_stride, long channels,
                                         const long *offsets, long taps, float *c, long ldc) {
  for (int half = 0; half < 2; half++) {
    __m256 acc[2][4];
    for (int r = 0; r < 2; r++)
      for (int q = 0; q < 4; q++) acc[r][q] = _mm256_setzero_ps();
    const float *ap = a;
    for (long t = 0; t < taps; t++) {
      const float *bp = b + offsets[t] + 32 * half;
      for (long ch = 0; ch < channels; ch++) {
        __m256 bv[4];
        for (int q = 0; q < 4; q++) bv[q] = _mm256_loadu_ps(bp + 8 * q);
        for (int r = 0; r < 2; r++) {
          __m256 x = _mm256_broadcast_ss(ap + r);
          for (int q = 0; q < 4; q++) acc[r][q] = _mm256_fmadd_ps(x, bv[q], acc[r][q]);
        }
        ap += AP_MR;
        bp += plane_stride;
      }
    }
    for (int r = 0; r < 2; r++)
      for (int q = 0; q < 4; q++) _mm256_storeu_ps(c + r * ldc + 32 * half + 8 * q, acc[r][q]);
  }
}

TARGET static inline float sum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// Tiles of 3 outputs × 4 (channel, tap) rows in named accumulators: with an array,
// clang kept moving the accumulators between registers and the stack on every step.
TARGET static void conv_weight_gradient_avx2(const float *dy, long dy_channel, long dy_sample, const float *x,
                           const long *x_rows, long x_sample, long samples, long span, long outputs,
                           long pairs, float *dw, long ldw) {
  for (long o0 = 0; o0 < outputs; o0 += 3) {
    long on = outputs - o0 < 3 ? outputs - o0 : 3;
    for (long j0 = 0; j0 < pairs; j0 += 4) {
      long jn = pairs - j0 < 4 ? pairs - j0 : 4;
      // Rows past the edge repeat the last real one; their sums are dropped.
      long d0 = (o0 + (0 < on ? 0 : on - 1)) * dy_channel;
      long d1 = (o0 + (1 < on ? 1 : on - 1)) * dy_channel;
      long d2 = (o0 + (2 < on ? 2 : on - 1)) * dy_channel;
      long r0 = x_rows[j0 + (0 < jn ? 0 : jn - 1)];
      long r1 = x_rows[j0 + (1 < jn ? 1 : jn - 1)];
      long r2 = x_rows[j0 + (2 < jn ? 2 : jn - 1)];
      long r3 = x_rows[j0 + (3 < jn ? 3 : jn - 1)];
      __m256 a00 = _mm256_setzero_ps(); __m256 a01 = _mm256_setzero_ps(); __m256 a02 = _mm256_setzero_ps(); __m256 a03 = _mm256_setzero_ps(); __m256 a10 = _mm256_setzero_ps(); __m256 a11 = _mm256_setzero_ps(); __m256 a12 = _mm256_setzero_ps(); __m256 a13 = _mm256_setzero_ps(); __m256 a20 = _mm256_setzero_ps(); __m256 a21 = _mm256_setzero_ps(); __m256 a22 = _mm256_setzero_ps(); __m256 a23 = _mm256_setzero_ps();
      for (long s = 0; s < samples; s++) {
        const float *d = dy + s * dy_sample, *xs = x + s * x_sample;
        const float *g0p = d + d0;
        const float *g1p = d + d1;
        const float *g2p = d + d2;
        const float *x0p = xs + r0;
        const float *x1p = xs + r1;
        const float *x2p = xs + r2;
        const float *x3p = xs + r3;
        for (long k = 0; k < span; k += 8) {
          __m256 g0 = _mm256_loadu_ps(g0p + k); __m256 g1 = _mm256_loadu_ps(g1p + k); __m256 g2 = _mm256_loadu_ps(g2p + k);
          { __m256 v = _mm256_loadu_ps(x0p + k); a00 = _mm256_fmadd_ps(g0, v, a00); a10 = _mm256_fmadd_ps(g1, v, a10); a20 = _mm256_fmadd_ps(g2, v, a20); }
          { __m256 v = _mm256_loadu_ps(x1p + k); a01 = _mm256_fmadd_ps(g0, v, a01); a11 = _mm256_fmadd_ps(g1, v, a11); a21 = _mm256_fmadd_ps(g2, v, a21); }
          { __m256 v = _mm256_loadu_ps(x2p + k); a02 = _mm256_fmadd_ps(g0, v, a02); a12 = _mm256_fmadd_ps(g1, v, a12); a22 = _mm256_fmadd_ps(g2, v, a22); }
          { __m256 v = _mm256_loadu_ps(x3p + k); a03 = _mm256_fmadd_ps(g0, v, a03); a13 = _mm256_fmadd_ps(g1, v, a13); a23 = _mm256_fmadd_ps(g2, v, a23); }
        }
      }
      __m256 acc[3][4] = {{a00, a01, a02, a03}, {a10, a11, a12, a13}, {a20, a21, a22, a23}};
      for (int i = 0; i < on; i++)
        for (int j = 0; j < jn; j++) dw[(o0 + i) * ldw + j0 + j] += sum8(acc[i][j]);
    }
  }
}


#define AP_V __m256
#define AP_W 8
#define AP_ZERO _mm256_setzero_ps()
#define AP_LOAD _mm256_loadu_ps
#define AP_STORE _mm256_storeu_ps
#define AP_SET1 _mm256_set1_ps
#define AP_FMA _mm256_fmadd_ps
#define AP_SUM sum8
#define AP_TAIL_DECL(count) __m256i tail = lane_mask8(count)
#define AP_TAIL_LOAD(p) _mm256_maskload_ps(p, tail)
#define AP_GEMV_NAME gemv_avx2
#include "gemv_body.h"

const ap_kernel_table ap_kernels_avx2 = {
    gemm_strip_avx2, pack_a_avx2, pack_b_avx2, conv_tile_avx2, conv_narrow_tile_avx2, conv_weight_gradient_avx2, gemv_avx2,
};
#endif
