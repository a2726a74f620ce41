// AVX-512 kernels: 6 × 32 register tiles of two 16-float vectors per row (12 of the 32 zmm
// registers), masked loads and stores for ragged edges.
#if defined(__x86_64__)
#include <immintrin.h>

#include "kernel_table.h"
#include "pack_body.h"

#define TARGET __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq,avx2,fma")))

AP_DEFINE_PACKING(avx512, TARGET)

TARGET static inline __mmask16 lane_mask(long count) {
  return count >= 16 ? (__mmask16)0xFFFF : count <= 0 ? (__mmask16)0 : (__mmask16)((1u << count) - 1);
}

// c[r][0..<cols] += acc[r] for r < rows.
TARGET static inline void add_tile(float *c, long ldc, long rows, long cols, __m512 acc[AP_MR][2]) {
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
                                     long b_stride, float *c, long ldc, long cols) {
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
    add_tile(c + s * AP_MR * ldc, ldc, left < AP_MR ? left : AP_MR, cols, acc);
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

// Tiles of 4 outputs × 6 (channel, tap) rows: 24 accumulators, 10 loads per 24 FMAs.
#define WG_O 4
#define WG_J 6

TARGET static void conv_weight_gradient_avx512(const float *dy, long dy_channel, long dy_sample, const float *x,
                                               const long *x_rows, long x_sample, long samples, long span,
                                               long outputs, long pairs, float *dw, long ldw) {
  for (long o0 = 0; o0 < outputs; o0 += WG_O) {
    long on = outputs - o0 < WG_O ? outputs - o0 : WG_O;
    for (long j0 = 0; j0 < pairs; j0 += WG_J) {
      long jn = pairs - j0 < WG_J ? pairs - j0 : WG_J;
      long dyo[WG_O], xr[WG_J];
      // Rows past the edge repeat the last real one; their sums are dropped.
      for (int i = 0; i < WG_O; i++) dyo[i] = (o0 + (i < on ? i : on - 1)) * dy_channel;
      for (int i = 0; i < WG_J; i++) xr[i] = x_rows[j0 + (i < jn ? i : jn - 1)];
      __m512 acc[WG_O][WG_J];
      for (int i = 0; i < WG_O; i++)
        for (int j = 0; j < WG_J; j++) acc[i][j] = _mm512_setzero_ps();
      for (long s = 0; s < samples; s++) {
        const float *d = dy + s * dy_sample, *xs = x + s * x_sample;
        for (long k = 0; k < span; k += 16) {
          __m512 g[WG_O];
          for (int i = 0; i < WG_O; i++) g[i] = _mm512_loadu_ps(d + dyo[i] + k);
          for (int j = 0; j < WG_J; j++) {
            __m512 v = _mm512_loadu_ps(xs + xr[j] + k);
            for (int i = 0; i < WG_O; i++) acc[i][j] = _mm512_fmadd_ps(g[i], v, acc[i][j]);
          }
        }
      }
      for (int i = 0; i < WG_O; i++) {
        if (i >= on) break;
        for (int j = 0; j < WG_J; j++) {
          if (j >= jn) break;
          dw[(o0 + i) * ldw + j0 + j] += _mm512_reduce_add_ps(acc[i][j]);
        }
      }
    }
  }
}

const ap_kernel_table ap_kernels_avx512 = {
    gemm_strip_avx512, pack_a_avx512, pack_b_avx512, conv_tile_avx512, conv_narrow_tile_avx512,
    conv_weight_gradient_avx512,
};
#endif
