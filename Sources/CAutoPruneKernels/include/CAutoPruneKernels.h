// Vector kernels compiled once per instruction set and chosen at run time.
//
// Swift has no per-function target attribute, so Swift code is only as wide as the flags of
// the whole build: a plain `swift build` targets baseline x86-64 (SSE2, no FMA), where the
// GEMM ran several times slower. These C functions carry `target(...)` attributes instead, so
// one binary holds AVX-512, AVX2+FMA and baseline versions of every hot loop and calls the best
// one the CPU (and the OS) supports. Nothing here needs compiler flags.
//
// Layouts (shared with AutoPruneKernels' Swift code):
// - packed A: strips of 6 rows, each `kb` groups of 6 floats (row-interleaved), zero-padded;
// - packed B: strips of 32 columns, each `kb` rows of 32 floats, zero-padded;
// - C row-major with row stride `ldc`; kernels *add* into C.
#ifndef C_AUTOPRUNE_KERNELS_H
#define C_AUTOPRUNE_KERNELS_H

#ifdef __cplusplus
extern "C" {
#endif

/// Instruction sets with a kernel table. Numbers are stable (Swift mirrors them).
enum {
  AP_ISA_BASELINE = 0,  // the build's own baseline (SSE2 on x86-64, NEON on arm64)
  AP_ISA_AVX2 = 1,      // AVX2 + FMA (x86-64 since Haswell / Zen 1)
  AP_ISA_AVX512 = 2,    // AVX-512 F/VL/BW/DQ + FMA (Skylake-SP and later, Zen 4)
};

/// The best instruction set this CPU and OS support (OS: the XSAVE state is enabled).
int ap_isa_best(void);
/// Whether `isa` can run here.
int ap_isa_supported(int isa);
/// Makes `isa` the one every kernel below uses; returns 0 (and changes nothing) when unsupported.
int ap_isa_select(int isa);
/// The instruction set in use (the best one until `ap_isa_select` is called).
int ap_isa_selected(void);
/// A short name: "baseline", "avx2", "avx512" (the baseline is "neon" on arm64).
const char *ap_isa_name(int isa);

/// C[r, 0..<cols] += A_strip(r) · B for every row strip: `row_strips` packed 6-row strips of A
/// (`6·kb` floats apart, `rows` real rows in all) against one 32-column strip of B whose rows
/// are `b_stride` floats apart (32 when packed, ldb when read in place). With `overwrite` the
/// tile is stored instead of added (the first k block of a product with beta = 0: no pass to
/// zero C first, and no load of it).
void ap_gemm_strip(long kb, const float *a, long row_strips, long rows, const float *b, long b_stride,
                   float *c, long ldc, long cols, int overwrite);

/// Packs `alpha · op(A)[row0 ..< row0+rows, col0 ..< col0+kb]` into 6-row strips.
void ap_pack_a(int transposed, const float *a, long lda, long row0, long rows, long col0, long kb,
               float alpha, float *out);

/// Packs `op(B)[row0 ..< row0+kb, col0 ..< col0+32]` (columns past `n` zero) into one strip.
void ap_pack_b(int transposed, const float *b, long ldb, long row0, long kb, long col0, long n, float *out);

/// One row of A times B, for products with a single row (one-sample inference), where packing B
/// for a register tile would cost more than the product: `y[j] = alpha · Σ_p x[p] · op(B)[p, j] +
/// beta · y[j]` for j < n, `x` contiguous. `b_transposed`: B stored n × k (rows of op(B)ᵀ
/// contiguous: dot products) or k × n (rows of op(B) contiguous: scaled row sums).
void ap_gemv(int b_transposed, long n, long k, float alpha, const float *x, const float *b, long ldb, float beta,
             float *y);

/// Direct convolution tile: c[0..<6, 0..<32] = Σ_t Σ_ch a[t][ch][0..<6] ⊗ b[ch·plane_stride +
/// offsets[t] ..< +32], `a` packed as `[tap][channel][6]` (rows of c `ldc` apart).
void ap_conv_tile(const float *a, const float *b, long plane_stride, long channels, const long *offsets,
                  long taps, float *c, long ldc);

/// The same for a strip whose first two lanes alone are real: c[0..<2, 0..<64].
void ap_conv_narrow_tile(const float *a, const float *b, long plane_stride, long channels,
                         const long *offsets, long taps, float *c, long ldc);

/// Weight gradient of a convolution as correlations of long rows:
/// `dw[o·ldw + j] += Σ_s Σ_{k < span} dy[s·dy_sample + o·dy_channel + k] · x[s·x_sample + x_rows[j] + k]`
/// for o < outputs, j < pairs. `span` must be a multiple of 16; every row read must be readable
/// for `span` floats (the caller pads with zeros in dy, so x past the image adds nothing).
void ap_conv_weight_gradient(const float *dy, long dy_channel, long dy_sample, const float *x,
                             const long *x_rows, long x_sample, long samples, long span, long outputs,
                             long pairs, float *dw, long ldw);

#ifdef __cplusplus
}
#endif

#endif
