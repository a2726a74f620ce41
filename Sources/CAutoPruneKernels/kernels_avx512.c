// AVX-512 kernels: 6 × 32 register tiles of two 16-float vectors per row (12 of the 32 zmm
// registers), masked loads and stores for ragged edges.
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernel_table.h"
#include "pack_body.h"

#define TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

AP_DEFINE_PACKING(avx512, TARGET, pack_a_vector_body, pack_b_vector_body)

TARGET static inline __mmask16 lane_mask(long count) {
  return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

// c[r][0..<cols] += acc[r] for r < rows.
TARGET static inline void add_tile(float *c, long ldc, long rows, long cols, __m512 acc[AP_MR][2], int overwrite) {
  if (overwrite) {
    __mmask16 m0 = lane_mask(cols), m1 = lane_mask(cols - 16);
    for (int r = 0; r < AP_MR; r++) {
      if (r >= rows) break;
      _mm512_mask_storeu_ps(c + r * ldc, m0, acc[r][0]);
      _mm512_mask_storeu_ps(c + r * ldc + 16, m1, acc[r][1]);
    }
    return;
  }
  if (rows == AP_MR && cols == AP_NR) {
    for (int r = 0; r < AP_MR; r++) {
      float *row = c + r * ldc;
      _mm512_storeu_ps(row, _mm512_add_ps(_mm512_loadu_ps(row), acc[r][0]));
      _mm512_storeu_ps(row + 16, _mm512_add_ps(_mm512_loadu_ps(row + 16), acc[r][1]));
    }
    return;
  }
  __mmask16 m0 = lane_mask(cols), m1 = lane_mask(cols - 16);
  for (int r = 0; r < AP_MR; r++) {
    if (r >= rows) break;
    float *row = c + r * ldc;
    _mm512_mask_storeu_ps(row, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, row), acc[r][0]));
    _mm512_mask_storeu_ps(row + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, row + 16), acc[r][1]));
  }
}

TARGET static void gemm_strip_avx512(long kb, const float *a, long row_strips, long rows, const float *b,
                                     long b_stride, float *c, long ldc, long cols, int overwrite) {
  for (long s = 0; s < row_strips; s++) {
    const float *ap = a + s * AP_MR * kb, *bp = b;
    __m512 acc[AP_MR][2];
    for (int r = 0; r < AP_MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    for (long p = 0; p < kb; p++) {
      __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
      for (int r = 0; r < AP_MR; r++) {
        __m512 x = _mm512_set1_ps(ap[r]);
        acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
      }
      ap += AP_MR;
      bp += b_stride;
    }
    long left = rows - s * AP_MR;
    add_tile(c + s * AP_MR * ldc, ldc, left < AP_MR ? left : AP_MR, cols, acc, overwrite);
  }
}

TARGET static void conv_tile_avx512(const float *a, const float *b, long plane_stride, long channels,
                                    const long *offsets, long taps, float *c, long ldc) {
  __m512 acc[AP_MR][2];
  for (int r = 0; r < AP_MR; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
  const float *ap = a;
  for (long t = 0; t < taps; t++) {
    const float *bp = b + offsets[t];
    for (long ch = 0; ch < channels; ch++) {
      __m512 b0 = _mm512_loadu_ps(bp), b1 = _mm512_loadu_ps(bp + 16);
      for (int r = 0; r < AP_MR; r++) {
        __m512 x = _mm512_set1_ps(ap[r]);
        acc[r][0] = _mm512_fmadd_ps(x, b0, acc[r][0]);
        acc[r][1] = _mm512_fmadd_ps(x, b1, acc[r][1]);
      }
      ap += AP_MR;
      bp += plane_stride;
    }
  }
  for (int r = 0; r < AP_MR; r++) {
    _mm512_storeu_ps(c + r * ldc, acc[r][0]);
    _mm512_storeu_ps(c + r * ldc + 16, acc[r][1]);
  }
}

TARGET static void conv_narrow_tile_avx512(const float *a, const float *b, long plane_stride, long channels,
                                           const long *offsets, long taps, float *c, long ldc) {
  __m512 acc[2][4];
  for (int r = 0; r < 2; r++)
    for (int q = 0; q < 4; q++) acc[r][q] = _mm512_setzero_ps();
  const float *ap = a;
  for (long t = 0; t < taps; t++) {
    const float *bp = b + offsets[t];
    for (long ch = 0; ch < channels; ch++) {
      __m512 bv[4];
      for (int q = 0; q < 4; q++) bv[q] = _mm512_loadu_ps(bp + 16 * q);
      for (int r = 0; r < 2; r++) {
        __m512 x = _mm512_set1_ps(ap[r]);
        for (int q = 0; q < 4; q++) acc[r][q] = _mm512_fmadd_ps(x, bv[q], acc[r][q]);
      }
      ap += AP_MR;
      bp += plane_stride;
    }
  }
  for (int r = 0; r < 2; r++)
    for (int q = 0; q < 4; q++) _mm512_storeu_ps(c + r * ldc + 16 * q, acc[r][q]);
}

// Tiles of 4 outputs × 5 (channel, tap) rows in named accumulators: with an array,
// clang kept moving the accumulators between registers and the stack on every step.
TARGET static void conv_weight_gradient_avx512(const float *dy, long dy_channel, long dy_sample, const float *x,
                           const long *x_rows, long x_sample, long samples, long span, long outputs,
                           long pairs, float *dw, long ldw) {
  for (long o0 = 0; o0 < outputs; o0 += 4) {
    long on = outputs - o0 < 4 ? outputs - o0 : 4;
    for (long j0 = 0; j0 < pairs; j0 += 5) {
      long jn = pairs - j0 < 5 ? pairs - j0 : 5;
      // Rows past the edge repeat the last real one; their sums are dropped.
      long d0 = (o0 + (0 < on ? 0 : on - 1)) * dy_channel;
      long d1 = (o0 + (1 < on ? 1 : on - 1)) * dy_channel;
      long d2 = (o0 + (2 < on ? 2 : on - 1)) * dy_channel;
      long d3 = (o0 + (3 < on ? 3 : on - 1)) * dy_channel;
      long r0 = x_rows[j0 + (0 < jn ? 0 : jn - 1)];
      long r1 = x_rows[j0 + (1 < jn ? 1 : jn - 1)];
      long r2 = x_rows[j0 + (2 < jn ? 2 : jn - 1)];
      long r3 = x_rows[j0 + (3 < jn ? 3 : jn - 1)];
      long r4 = x_rows[j0 + (4 < jn ? 4 : jn - 1)];
      __m512 a00 = _mm512_setzero_ps(); __m512 a01 = _mm512_setzero_ps(); __m512 a02 = _mm512_setzero_ps(); __m512 a03 = _mm512_setzero_ps(); __m512 a04 = _mm512_setzero_ps(); __m512 a10 = _mm512_setzero_ps(); __m512 a11 = _mm512_setzero_ps(); __m512 a12 = _mm512_setzero_ps(); __m512 a13 = _mm512_setzero_ps(); __m512 a14 = _mm512_setzero_ps(); __m512 a20 = _mm512_setzero_ps(); __m512 a21 = _mm512_setzero_ps(); __m512 a22 = _mm512_setzero_ps(); __m512 a23 = _mm512_setzero_ps(); __m512 a24 = _mm512_setzero_ps(); __m512 a30 = _mm512_setzero_ps(); __m512 a31 = _mm512_setzero_ps(); __m512 a32 = _mm512_setzero_ps(); __m512 a33 = _mm512_setzero_ps(); __m512 a34 = _mm512_setzero_ps();
      for (long s = 0; s < samples; s++) {
        const float *d = dy + s * dy_sample, *xs = x + s * x_sample;
        const float *g0p = d + d0;
        const float *g1p = d + d1;
        const float *g2p = d + d2;
        const float *g3p = d + d3;
        const float *x0p = xs + r0;
        const float *x1p = xs + r1;
        const float *x2p = xs + r2;
        const float *x3p = xs + r3;
        const float *x4p = xs + r4;
        for (long k = 0; k < span; k += 16) {
          __m512 g0 = _mm512_loadu_ps(g0p + k); __m512 g1 = _mm512_loadu_ps(g1p + k); __m512 g2 = _mm512_loadu_ps(g2p + k); __m512 g3 = _mm512_loadu_ps(g3p + k);
          { __m512 v = _mm512_loadu_ps(x0p + k); a00 = _mm512_fmadd_ps(g0, v, a00); a10 = _mm512_fmadd_ps(g1, v, a10); a20 = _mm512_fmadd_ps(g2, v, a20); a30 = _mm512_fmadd_ps(g3, v, a30); }
          { __m512 v = _mm512_loadu_ps(x1p + k); a01 = _mm512_fmadd_ps(g0, v, a01); a11 = _mm512_fmadd_ps(g1, v, a11); a21 = _mm512_fmadd_ps(g2, v, a21); a31 = _mm512_fmadd_ps(g3, v, a31); }
          { __m512 v = _mm512_loadu_ps(x2p + k); a02 = _mm512_fmadd_ps(g0, v, a02); a12 = _mm512_fmadd_ps(g1, v, a12); a22 = _mm512_fmadd_ps(g2, v, a22); a32 = _mm512_fmadd_ps(g3, v, a32); }
          { __m512 v = _mm512_loadu_ps(x3p + k); a03 = _mm512_fmadd_ps(g0, v, a03); a13 = _mm512_fmadd_ps(g1, v, a13); a23 = _mm512_fmadd_ps(g2, v, a23); a33 = _mm512_fmadd_ps(g3, v, a33); }
          { __m512 v = _mm512_loadu_ps(x4p + k); a04 = _mm512_fmadd_ps(g0, v, a04); a14 = _mm512_fmadd_ps(g1, v, a14); a24 = _mm512_fmadd_ps(g2, v, a24); a34 = _mm512_fmadd_ps(g3, v, a34); }
        }
      }
      __m512 acc[4][5] = {{a00, a01, a02, a03, a04}, {a10, a11, a12, a13, a14}, {a20, a21, a22, a23, a24}, {a30, a31, a32, a33, a34}};
      for (int i = 0; i < on; i++)
        for (int j = 0; j < jn; j++) dw[(o0 + i) * ldw + j0 + j] += _mm512_reduce_add_ps(acc[i][j]);
    }
  }
}


#define AP_V __m512
#define AP_W 16
#define AP_ZERO _mm512_setzero_ps()
#define AP_LOAD _mm512_loadu_ps
#define AP_STORE _mm512_storeu_ps
#define AP_SET1 _mm512_set1_ps
#define AP_FMA _mm512_fmadd_ps
#define AP_SUM _mm512_reduce_add_ps
#define AP_TAIL_DECL(count) __mmask16 tail = lane_mask(count)
#define AP_TAIL_LOAD(p) _mm512_maskz_loadu_ps(tail, p)
#define AP_GEMV_NAME gemv_avx512
#include "gemv_body.h"

const ap_kernel_table ap_kernels_avx512 = {
    gemm_strip_avx512, pack_a_avx512, pack_b_avx512, conv_tile_avx512, conv_narrow_tile_avx512,
    conv_weight_gradient_avx512, gemv_avx512,
};
#endif
