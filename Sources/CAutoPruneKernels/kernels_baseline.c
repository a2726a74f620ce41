// Baseline kernels for CPUs without AVX2 (and for arm64, where 4-float vectors are NEON): the
// same tiles in 4-float vector registers, 6 × 8 at a time (12 accumulators of 16 registers).
#include <string.h>

#include "kernel_table.h"
#include "pack_body.h"

typedef float v4 __attribute__((vector_size(16)));

static inline __attribute__((always_inline)) v4 load4(const float *p) {
  v4 v;
  memcpy(&v, p, sizeof v);
  return v;
}

static inline __attribute__((always_inline)) void store4(float *p, v4 v) { memcpy(p, &v, sizeof v); }

static inline __attribute__((always_inline)) v4 splat(float x) { return (v4){x, x, x, x}; }

AP_DEFINE_PACKING(baseline, , pack_a_body, pack_b_body)

static void gemm_strip_baseline(long kb, const float *a, long row_strips, long rows, const float *b,
                                long b_stride, float *c, long ldc, long cols, int overwrite) {
  for (long s = 0; s < row_strips; s++) {
    long left = rows - s * AP_MR, valid = left < AP_MR ? left : AP_MR;
    for (long q0 = 0; q0 < cols; q0 += 8) {
      const float *ap = a + s * AP_MR * kb, *bp = b + q0;
      v4 acc[AP_MR][2];
      for (int r = 0; r < AP_MR; r++) acc[r][0] = acc[r][1] = splat(0);
      for (long p = 0; p < kb; p++) {
        v4 b0 = load4(bp), b1 = load4(bp + 4);
        for (int r = 0; r < AP_MR; r++) {
          v4 x = splat(ap[r]);
          acc[r][0] += x * b0;
          acc[r][1] += x * b1;
        }
        ap += AP_MR;
        bp += b_stride;
      }
      long width = cols - q0 < 8 ? cols - q0 : 8;
      for (long r = 0; r < valid; r++) {
        float *row = c + (s * AP_MR + r) * ldc + q0;
        if (width == 8) {
          store4(row, overwrite ? acc[r][0] : load4(row) + acc[r][0]);
          store4(row + 4, overwrite ? acc[r][1] : load4(row + 4) + acc[r][1]);
        } else {
          float t[8];
          store4(t, acc[r][0]);
          store4(t + 4, acc[r][1]);
          for (long j = 0; j < width; j++) row[j] = overwrite ? t[j] : row[j] + t[j];
        }
      }
    }
  }
}

static void conv_tile_baseline(const float *a, const float *b, long plane_stride, long channels,
                               const long *offsets, long taps, float *c, long ldc) {
  for (int q0 = 0; q0 < AP_NR; q0 += 8) {
    v4 acc[AP_MR][2];
    for (int r = 0; r < AP_MR; r++) acc[r][0] = acc[r][1] = splat(0);
    const float *ap = a;
    for (long t = 0; t < taps; t++) {
      const float *bp = b + offsets[t] + q0;
      for (long ch = 0; ch < channels; ch++) {
        v4 b0 = load4(bp), b1 = load4(bp + 4);
        for (int r = 0; r < AP_MR; r++) {
          v4 x = splat(ap[r]);
          acc[r][0] += x * b0;
          acc[r][1] += x * b1;
        }
        ap += AP_MR;
        bp += plane_stride;
      }
    }
    for (int r = 0; r < AP_MR; r++) {
      store4(c + r * ldc + q0, acc[r][0]);
      store4(c + r * ldc + q0 + 4, acc[r][1]);
    }
  }
}

static void conv_narrow_tile_baseline(const float *a, const float *b, long plane_stride, long channels,
                                      const long *offsets, long taps, float *c, long ldc) {
  for (int q0 = 0; q0 < 2 * AP_NR; q0 += 16) {
    v4 acc[2][4];
    for (int r = 0; r < 2; r++)
      for (int q = 0; q < 4; q++) acc[r][q] = splat(0);
    const float *ap = a;
    for (long t = 0; t < taps; t++) {
      const float *bp = b + offsets[t] + q0;
      for (long ch = 0; ch < channels; ch++) {
        v4 bv[4];
        for (int q = 0; q < 4; q++) bv[q] = load4(bp + 4 * q);
        for (int r = 0; r < 2; r++) {
          v4 x = splat(ap[r]);
          for (int q = 0; q < 4; q++) acc[r][q] += x * bv[q];
        }
        ap += AP_MR;
        bp += plane_stride;
      }
    }
    for (int r = 0; r < 2; r++)
      for (int q = 0; q < 4; q++) store4(c + r * ldc + q0 + 4 * q, acc[r][q]);
  }
}

#define WG_O 2
#define WG_J 4

static void conv_weight_gradient_baseline(const float *dy, long dy_channel, long dy_sample, const float *x,
                                          const long *x_rows, long x_sample, long samples, long span,
                                          long outputs, long pairs, float *dw, long ldw) {
  for (long o0 = 0; o0 < outputs; o0 += WG_O) {
    long on = outputs - o0 < WG_O ? outputs - o0 : WG_O;
    for (long j0 = 0; j0 < pairs; j0 += WG_J) {
      long jn = pairs - j0 < WG_J ? pairs - j0 : WG_J;
      long dyo[WG_O], xr[WG_J];
      for (int i = 0; i < WG_O; i++) dyo[i] = (o0 + (i < on ? i : on - 1)) * dy_channel;
      for (int i = 0; i < WG_J; i++) xr[i] = x_rows[j0 + (i < jn ? i : jn - 1)];
      v4 acc[WG_O][WG_J];
      for (int i = 0; i < WG_O; i++)
        for (int j = 0; j < WG_J; j++) acc[i][j] = splat(0);
      for (long s = 0; s < samples; s++) {
        const float *d = dy + s * dy_sample, *xs = x + s * x_sample;
        for (long k = 0; k < span; k += 4) {
          v4 g[WG_O];
          for (int i = 0; i < WG_O; i++) g[i] = load4(d + dyo[i] + k);
          for (int j = 0; j < WG_J; j++) {
            v4 v = load4(xs + xr[j] + k);
            for (int i = 0; i < WG_O; i++) acc[i][j] += g[i] * v;
          }
        }
      }
      for (int i = 0; i < WG_O; i++) {
        if (i >= on) break;
        for (int j = 0; j < WG_J; j++) {
          if (j >= jn) break;
          v4 v = acc[i][j];
          dw[(o0 + i) * ldw + j0 + j] += (v[0] + v[1]) + (v[2] + v[3]);
        }
      }
    }
  }
}

static inline __attribute__((always_inline)) v4 tail4(const float *p, long count) {
  v4 v = splat(0);
  for (long i = 0; i < count && i < 4; i++) v[i] = p[i];
  return v;
}

#define TARGET
#define AP_V v4
#define AP_W 4
#define AP_ZERO splat(0)
#define AP_LOAD load4
#define AP_STORE store4
#define AP_SET1 splat
#define AP_FMA(a, b, c) ((c) + (a) * (b))
#define AP_SUM(v) (((v)[0] + (v)[1]) + ((v)[2] + (v)[3]))
#define AP_TAIL_DECL(count) long tail = (count)
#define AP_TAIL_LOAD(p) tail4(p, tail)
#define AP_GEMV_NAME gemv_baseline
#include "gemv_body.h"

const ap_kernel_table ap_kernels_baseline = {
    gemm_strip_baseline, pack_a_baseline, pack_b_baseline, conv_tile_baseline, conv_narrow_tile_baseline,
    conv_weight_gradient_baseline, gemv_baseline,
};
