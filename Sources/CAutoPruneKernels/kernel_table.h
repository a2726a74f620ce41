// The per-instruction-set kernel table behind the functions of CAutoPruneKernels.h.
#ifndef AP_KERNEL_TABLE_H
#define AP_KERNEL_TABLE_H

typedef struct ap_kernel_table {
  void (*gemm_strip)(long kb, const float *a, long row_strips, long rows, const float *b, long b_stride,
                     float *c, long ldc, long cols, int overwrite);
  void (*pack_a)(int transposed, const float *a, long lda, long row0, long rows, long col0, long kb,
                 float alpha, float *out);
  void (*pack_b)(int transposed, const float *b, long ldb, long row0, long kb, long col0, long n, float *out);
  void (*conv_tile)(const float *a, const float *b, long plane_stride, long channels, const long *offsets,
                    long taps, float *c, long ldc);
  void (*conv_narrow_tile)(const float *a, const float *b, long plane_stride, long channels,
                           const long *offsets, long taps, float *c, long ldc);
  void (*conv_weight_gradient)(const float *dy, long dy_channel, long dy_sample, const float *x,
                               const long *x_rows, long x_sample, long samples, long span, long outputs,
                               long pairs, float *dw, long ldw);
  void (*gemv)(int b_transposed, long n, long k, float alpha, const float *x, const float *b, long ldb, float beta,
               float *y);
} ap_kernel_table;

extern const ap_kernel_table ap_kernels_baseline;
#if defined(__x86_64__)
extern const ap_kernel_table ap_kernels_avx2;
extern const ap_kernel_table ap_kernels_avx512;
#endif

#define AP_MR 6
#define AP_NR 32

#endif
