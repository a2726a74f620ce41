// CPU feature detection and the kernel table in use.
#include "CAutoPruneKernels.h"
#include "kernel_table.h"

#if defined(__x86_64__)
#include <cpuid.h>

static unsigned long long read_xcr0(void) {
  unsigned int lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return ((unsigned long long)hi << 32) | lo;
}

// CPUID says what the core can do; XCR0 says whether the OS saves the wider registers on a
// context switch (a kernel or hypervisor may switch AVX-512 state off).
static int detect(void) {
  unsigned int a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return AP_ISA_BASELINE;
  int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
  if (!(fma && osxsave && avx)) return AP_ISA_BASELINE;
  unsigned long long xcr0 = read_xcr0();
  if ((xcr0 & 0x6) != 0x6) return AP_ISA_BASELINE;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return AP_ISA_BASELINE;
  int avx2 = (b >> 5) & 1;
  int avx512 = ((b >> 16) & 1) && ((b >> 17) & 1) && ((b >> 30) & 1) && ((b >> 31) & 1);
  if (avx512 && (xcr0 & 0xE6) == 0xE6) return AP_ISA_AVX512;
  return avx2 ? AP_ISA_AVX2 : AP_ISA_BASELINE;
}
#else
static int detect(void) { return AP_ISA_BASELINE; }
#endif

static const ap_kernel_table *table_for(int isa) {
#if defined(__x86_64__)
  if (isa == AP_ISA_AVX512) return &ap_kernels_avx512;
  if (isa == AP_ISA_AVX2) return &ap_kernels_avx2;
#endif
  return &ap_kernels_baseline;
}

// -1 until first use; races on first use store the same value.
static int best_isa = -1;
static int selected_isa = -1;

int ap_isa_best(void) {
  int best = __atomic_load_n(&best_isa, __ATOMIC_RELAXED);
  if (best < 0) {
    best = detect();
    __atomic_store_n(&best_isa, best, __ATOMIC_RELAXED);
  }
  return best;
}

int ap_isa_supported(int isa) { return isa >= AP_ISA_BASELINE && isa <= ap_isa_best(); }

int ap_isa_select(int isa) {
  if (!ap_isa_supported(isa)) return 0;
  __atomic_store_n(&selected_isa, isa, __ATOMIC_RELAXED);
  return 1;
}

int ap_isa_selected(void) {
  int isa = __atomic_load_n(&selected_isa, __ATOMIC_RELAXED);
  return isa < 0 ? ap_isa_best() : isa;
}

const char *ap_isa_name(int isa) {
  switch (isa) {
    case AP_ISA_AVX512: return "avx512";
    case AP_ISA_AVX2: return "avx2";
    default:
#if defined(__aarch64__)
      return "neon";
#else
      return "baseline";
#endif
  }
}

static inline const ap_kernel_table *current(void) { return table_for(ap_isa_selected()); }

void ap_gemm_strip(long kb, const float *a, long row_strips, long rows, const float *b, long b_stride,
                   float *c, long ldc, long cols, int overwrite) {
  current()->gemm_strip(kb, a, row_strips, rows, b, b_stride, c, ldc, cols, overwrite);
}

void ap_pack_a(int transposed, const float *a, long lda, long row0, long rows, long col0, long kb,
               float alpha, float *out) {
  current()->pack_a(transposed, a, lda, row0, rows, col0, kb, alpha, out);
}

void ap_pack_b(int transposed, const float *b, long ldb, long row0, long kb, long col0, long n, float *out) {
  current()->pack_b(transposed, b, ldb, row0, kb, col0, n, out);
}

void ap_gemv(int b_transposed, long n, long k, float alpha, const float *x, const float *b, long ldb, float beta,
             float *y) {
  current()->gemv(b_transposed, n, k, alpha, x, b, ldb, beta, y);
}

void ap_conv_tile(const float *a, const float *b, long plane_stride, long channels, const long *offsets,
                  long taps, float *c, long ldc) {
  current()->conv_tile(a, b, plane_stride, channels, offsets, taps, c, ldc);
}

void ap_conv_narrow_tile(const float *a, const float *b, long plane_stride, long channels,
                         const long *offsets, long taps, float *c, long ldc) {
  current()->conv_narrow_tile(a, b, plane_stride, channels, offsets, taps, c, ldc);
}

void ap_conv_weight_gradient(const float *dy, long dy_channel, long dy_sample, const float *x,
                             const long *x_rows, long x_sample, long samples, long span, long outputs,
                             long pairs, float *dw, long ldw) {
  current()->conv_weight_gradient(dy, dy_channel, dy_sample, x, x_rows, x_sample, samples, span, outputs, pairs,
                                  dw, ldw);
}
