// GEMM, C (M x N) (+)= op(A) (M x K) op(B) (K x N): the one kernel every matmul, linear layer and their
// backward passes run through, so it is the one worth making fast.
//
// gemm_reference is the specification: three loops.
// gemm_fast is the classic packed GEMM of GotoBLAS/BLIS, in three layers:
//   1. blocking: C is computed in blocks of MC rows x NC columns, over K in slices of KC, so the block of
//      A being worked on (MC x KC, 192 KiB) stays in the L2 cache and the slice of B (KC x NC) in L3;
//   2. packing: those pieces are copied into panels laid out in exactly the order the micro-kernel reads
//      them (and transposes are absorbed here, for free);
//   3. the micro-kernel: a 6 x 16 tile of C lives in 12 AVX registers while it runs over KC, doing two
//      fused multiply-adds per broadcast element of A. This is where the FLOPs happen. On CPUs with
//      AVX-512 (compiled with -march=native there) the tile is 12 x 32 in 24 of its 32 wider registers,
//      which about doubles the FLOPs per cycle where the CPU has full-width 512-bit FMA units (Intel Xeon);
//      AMD Zen 4 splits each 512-bit op in two, and there both tiles run at the same speed.
// Threads (OpenMP) split the MC row blocks of C: each thread owns the rows it writes.
#include "autograd/kernels.h"

#include <algorithm>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define BAYUN_GEMM_AVX2 1
#endif
#if defined(__AVX512F__)
#define BAYUN_GEMM_AVX512 1  // 16-float registers: the micro-tile is twice as wide
#endif

namespace bayun {

void gemm_reference(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B,
                    int64_t ldb, bool trans_b, float* C, int64_t ldc, bool accumulate) {
    for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
            float sum = 0.0f;
            for (int64_t k = 0; k < K; ++k) {
                const float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                const float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                sum += a * b;
            }
            C[i * ldc + j] = accumulate ? C[i * ldc + j] + sum : sum;
        }
    }
}

namespace {

#ifdef BAYUN_GEMM_AVX512
constexpr int64_t MR = 12;    // rows of the micro-tile
#else
constexpr int64_t MR = 6;     // rows of the micro-tile
#endif
#ifdef BAYUN_GEMM_AVX512
constexpr int64_t NR = 32;    // columns of the micro-tile (two 16-float AVX-512 registers)
#else
constexpr int64_t NR = 16;    // columns of the micro-tile (two 8-float AVX registers)
#endif
constexpr int64_t KC = 512;   // depth of one packed slice (deep: C's tile is loaded and stored once per slice)
constexpr int64_t MC = 96;    // rows of A packed at once (a multiple of MR)
constexpr int64_t NC = 2048;  // columns of B packed at once (a multiple of NR)

// out[k * ldo + r] = in[r * ld + k] for r < rows, k < cols: a block of rows becomes a block of columns.
// Packing a stored row-major operand into panels is such a transpose, and one value at a time it cost a
// tenth of a training step. With AVX2, 8 rows x 8 columns (or 4 x 8) go through registers at once: pairs
// of rows are interleaved (unpack), then pairs of pairs (shuffle), then the 128-bit halves are swapped
// (permute2f128). The edges that do not fill a block go one value at a time.
void transpose_block(const float* in, int64_t ld, int64_t rows, int64_t cols, float* out, int64_t ldo) {
    int64_t r = 0;
#ifdef BAYUN_GEMM_AVX2
    const int64_t vector_cols = cols / 8 * 8;
    while (r + 4 <= rows) {
        const int64_t block = r + 8 <= rows ? 8 : 4;  // rows in this block
        const bool eight = block == 8;
        for (int64_t k = 0; k < vector_cols; k += 8) {
            const float* src = in + r * ld + k;
            const __m256 zero = _mm256_setzero_ps();
            const __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ld);
            const __m256 r2 = _mm256_loadu_ps(src + 2 * ld), r3 = _mm256_loadu_ps(src + 3 * ld);
            const __m256 r4 = eight ? _mm256_loadu_ps(src + 4 * ld) : zero;
            const __m256 r5 = eight ? _mm256_loadu_ps(src + 5 * ld) : zero;
            const __m256 r6 = eight ? _mm256_loadu_ps(src + 6 * ld) : zero;
            const __m256 r7 = eight ? _mm256_loadu_ps(src + 7 * ld) : zero;
            const __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            const __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            const __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            const __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            // u0 holds rows 0-3 of columns 0 (low half) and 4 (high half); u1 columns 1 and 5; ...
            const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
            const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
            float* dst = out + k * ldo + r;
            if (!eight) {  // 4 rows: the halves of u0..u3 are the 4-value columns
                const __m256 u[4] = {u0, u1, u2, u3};
                for (int c = 0; c < 4; ++c) {
                    _mm_storeu_ps(dst + c * ldo, _mm256_castps256_ps128(u[c]));
                    _mm_storeu_ps(dst + (c + 4) * ldo, _mm256_extractf128_ps(u[c], 1));
                }
                continue;
            }
            const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
            const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
            _mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(dst + ldo, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(dst + 2 * ldo, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(dst + 3 * ldo, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(dst + 4 * ldo, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(dst + 5 * ldo, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(dst + 6 * ldo, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(dst + 7 * ldo, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (int64_t i = r; i < r + block; ++i)  // the columns past the last whole block
            for (int64_t k = vector_cols; k < cols; ++k) out[k * ldo + i] = in[i * ld + k];
        r += block;
    }
#endif
    for (; r < rows; ++r)
        for (int64_t k = 0; k < cols; ++k) out[k * ldo + r] = in[r * ld + k];
}

// Packs op(A)[i0 : i0+mc, p0 : p0+kc] as panels of MR rows: panel r holds, for each k, the MR values
// A[i0 + r*MR + 0..MR-1][p0 + k] side by side (zero past the last row).
void pack_a(const float* A, bool trans, int64_t lda, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
    if (trans) {
        // op(A)'s column k is a stored row: its mc values are dealt out to the panels, MR to each. One pass
        // over each row: going panel by panel instead would read every row mc / MR times from L2.
        for (int64_t k = 0; k < kc; ++k) {
            const float* row = A + (p0 + k) * lda + i0;
            for (int64_t r = 0; r < mc; r += MR) {
                float* panel = out + r * kc + k * MR;  // panel r / MR, step k
                const int64_t rows = std::min(MR, mc - r);
                for (int64_t i = 0; i < rows; ++i) panel[i] = row[r + i];
                for (int64_t i = rows; i < MR; ++i) panel[i] = 0.0f;
            }
        }
        return;
    }
    for (int64_t r = 0; r < mc; r += MR) {  // the stored rows become the panels' columns
        const int64_t rows = std::min(MR, mc - r);
        transpose_block(A + (i0 + r) * lda + p0, lda, rows, kc, out, MR);
        for (int64_t k = 0; k < kc; ++k)
            for (int64_t i = rows; i < MR; ++i) out[k * MR + i] = 0.0f;
        out += kc * MR;
    }
}

// Packs op(B)[p0 : p0+kc, j0 : j0+nc] as panels of NR columns: panel c holds, for each k, the NR values
// B[p0 + k][j0 + c*NR + 0..NR-1] side by side (zero past the last column).
void pack_b_panel(const float* B, bool trans, int64_t ldb, int64_t p0, int64_t kc, int64_t j, int64_t cols,
                  float* out) {
    if (trans) {  // op(B)'s columns are stored rows: they become the panel's columns
        transpose_block(B + j * ldb + p0, ldb, cols, kc, out, NR);
        for (int64_t k = 0; k < kc; ++k)
            for (int64_t c = cols; c < NR; ++c) out[k * NR + c] = 0.0f;
        return;
    }
    for (int64_t k = 0; k < kc; ++k) {
        if (cols == NR) {
            std::memcpy(out, B + (p0 + k) * ldb + j, NR * sizeof(float));
        } else {
            for (int64_t c = 0; c < cols; ++c) out[c] = B[(p0 + k) * ldb + j + c];
            for (int64_t c = cols; c < NR; ++c) out[c] = 0.0f;
        }
        out += NR;
    }
}

// The micro-kernel: acc (MR x NR) = sum over k of a[k] (MR) outer b[k] (NR); then C += acc (or C = acc
// when `overwrite`: the first K slice of a product that does not accumulate; C = acc + bias with a bias,
// the tile's NR values of a linear layer's bias) for the rows x cols that exist.
void micro_kernel(int64_t kc, const float* a, const float* b, float* C, int64_t ldc, int64_t rows, int64_t cols,
                  bool overwrite, const float* bias) {
    alignas(64) float acc[MR * NR];
#if defined(BAYUN_GEMM_AVX2)
    // C's tile is read only after the k loop; ask for its rows now, so they arrive while the FMAs run
    // (C is often a large, cold activation: without this each tile ends with a wait on memory).
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; j += 16) _mm_prefetch(reinterpret_cast<const char*>(C + i * ldc + j), _MM_HINT_T0);
#endif
#if defined(BAYUN_GEMM_AVX512)
    // The same tile as the AVX2 version below, with 16-float registers: MR rows x 2 registers of C. The
    // loops over i have a constant trip count; the compiler unrolls them and keeps c in registers.
    __m512 c[MR][2];
    for (int64_t i = 0; i < MR; ++i) c[i][0] = c[i][1] = _mm512_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
        const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        for (int64_t i = 0; i < MR; ++i) {
            const __m512 ai = _mm512_set1_ps(a[i]);
            c[i][0] = _mm512_fmadd_ps(ai, b0, c[i][0]);
            c[i][1] = _mm512_fmadd_ps(ai, b1, c[i][1]);
        }
        a += MR;
        b += NR;
    }
    if (rows == MR && cols == NR) {  // a whole tile: update C straight from the registers
        const __m512 bias_lo = bias ? _mm512_loadu_ps(bias) : _mm512_setzero_ps();
        const __m512 bias_hi = bias ? _mm512_loadu_ps(bias + 16) : _mm512_setzero_ps();
        for (int64_t i = 0; i < MR; ++i) {
            float* row = C + i * ldc;
            const __m512 lo = overwrite ? _mm512_add_ps(c[i][0], bias_lo) : _mm512_add_ps(_mm512_loadu_ps(row), c[i][0]);
            const __m512 hi = overwrite ? _mm512_add_ps(c[i][1], bias_hi) : _mm512_add_ps(_mm512_loadu_ps(row + 16), c[i][1]);
            _mm512_storeu_ps(row, lo);
            _mm512_storeu_ps(row + 16, hi);
        }
        return;
    }
    for (int64_t i = 0; i < MR; ++i) {
        _mm512_store_ps(acc + i * NR, c[i][0]);
        _mm512_store_ps(acc + i * NR + 16, c[i][1]);
    }
#elif defined(BAYUN_GEMM_AVX2)
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
           c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
           c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
           c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int64_t k = 0; k < kc; ++k) {
        const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 ai = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(ai, b0, c00), c01 = _mm256_fmadd_ps(ai, b1, c01);
        ai = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ai, b0, c10), c11 = _mm256_fmadd_ps(ai, b1, c11);
        ai = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ai, b0, c20), c21 = _mm256_fmadd_ps(ai, b1, c21);
        ai = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ai, b0, c30), c31 = _mm256_fmadd_ps(ai, b1, c31);
        ai = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ai, b0, c40), c41 = _mm256_fmadd_ps(ai, b1, c41);
        ai = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ai, b0, c50), c51 = _mm256_fmadd_ps(ai, b1, c51);
        a += MR;
        b += NR;
    }
    if (rows == MR && cols == NR) {  // a whole tile: update C straight from the registers
        const __m256 c[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
        const __m256 bias_lo = bias ? _mm256_loadu_ps(bias) : _mm256_setzero_ps();
        const __m256 bias_hi = bias ? _mm256_loadu_ps(bias + 8) : _mm256_setzero_ps();
        for (int64_t i = 0; i < MR; ++i) {
            float* row = C + i * ldc;
            const __m256 lo = overwrite ? _mm256_add_ps(c[i][0], bias_lo) : _mm256_add_ps(_mm256_loadu_ps(row), c[i][0]);
            const __m256 hi = overwrite ? _mm256_add_ps(c[i][1], bias_hi) : _mm256_add_ps(_mm256_loadu_ps(row + 8), c[i][1]);
            _mm256_storeu_ps(row, lo);
            _mm256_storeu_ps(row + 8, hi);
        }
        return;
    }
    _mm256_store_ps(acc + 0, c00), _mm256_store_ps(acc + 8, c01), _mm256_store_ps(acc + 16, c10);
    _mm256_store_ps(acc + 24, c11), _mm256_store_ps(acc + 32, c20), _mm256_store_ps(acc + 40, c21);
    _mm256_store_ps(acc + 48, c30), _mm256_store_ps(acc + 56, c31), _mm256_store_ps(acc + 64, c40);
    _mm256_store_ps(acc + 72, c41), _mm256_store_ps(acc + 80, c50), _mm256_store_ps(acc + 88, c51);
#else
    // Portable version of the same tile (builds without AVX2/FMA, e.g. the sanitizer build).
    std::fill(acc, acc + MR * NR, 0.0f);
    for (int64_t k = 0; k < kc; ++k) {
        for (int64_t i = 0; i < MR; ++i)
            for (int64_t j = 0; j < NR; ++j) acc[i * NR + j] += a[i] * b[j];
        a += MR;
        b += NR;
    }
#endif
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
            C[i * ldc + j] = overwrite ? acc[i * NR + j] + (bias ? bias[j] : 0.0f) : C[i * ldc + j] + acc[i * NR + j];
}

// Dot product of two contiguous rows, with 8-wide partial sums (a vector reduction the compiler will not
// reorder on its own without -ffast-math).
inline float dot(const float* a, const float* b, int64_t n) {
    int64_t k = 0;
    float total = 0.0f;
#ifdef BAYUN_GEMM_AVX2
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (; k + 16 <= n; k += 16) {
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k), _mm256_loadu_ps(b + k), acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + k + 8), _mm256_loadu_ps(b + k + 8), acc1);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, _mm256_add_ps(acc0, acc1));
    for (float lane : lanes) total += lane;
#endif
    for (; k < n; ++k) total += a[k] * b[k];
    return total;
}

#ifdef BAYUN_GEMM_AVX2
// c[0..7] += the dot products of `a` with 8 consecutive rows of B. One dot product alone is a chain of
// dependent adds, each waiting for the last; eight side by side keep both FMA units busy, and their
// 8-lane partial sums are reduced together (two rounds of pairwise adds, then the two 128-bit halves).
inline void add_dots8(const float* a, const float* B, int64_t ldb, int64_t K, float* c) {
    __m256 acc[8];
    for (int r = 0; r < 8; ++r) acc[r] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
        const __m256 ak = _mm256_loadu_ps(a + k);
        for (int r = 0; r < 8; ++r) acc[r] = _mm256_fmadd_ps(ak, _mm256_loadu_ps(B + r * ldb + k), acc[r]);
    }
    const __m256 s0 = _mm256_hadd_ps(_mm256_hadd_ps(acc[0], acc[1]), _mm256_hadd_ps(acc[2], acc[3]));
    const __m256 s1 = _mm256_hadd_ps(_mm256_hadd_ps(acc[4], acc[5]), _mm256_hadd_ps(acc[6], acc[7]));
    // s0 holds rows 0-3 (low half: lanes 0-3 of each row, high half: lanes 4-7), s1 rows 4-7
    const __m256 sums = _mm256_add_ps(_mm256_permute2f128_ps(s0, s1, 0x20), _mm256_permute2f128_ps(s0, s1, 0x31));
    alignas(32) float total[8];
    _mm256_store_ps(total, sums);
    for (int r = 0; r < 8; ++r) {
        for (int64_t kk = k; kk < K; ++kk) total[r] += a[kk] * B[r * ldb + kk];
        c[r] += total[r];
    }
}

// c[0, 8 V) += sum over k of a[k] * row k of B (rows ldb apart). The 8V partial sums stay in V registers for
// the whole k loop; accumulating into c in memory instead makes every k wait for the previous k's store.
template <int V>
void add_axpys(const float* a, const float* B, int64_t ldb, int64_t K, float* c) {
    __m256 acc[V];
    for (int v = 0; v < V; ++v) acc[v] = _mm256_loadu_ps(c + 8 * v);
    for (int64_t k = 0; k < K; ++k) {
        const __m256 ak = _mm256_set1_ps(a[k]);
        for (int v = 0; v < V; ++v) acc[v] = _mm256_fmadd_ps(ak, _mm256_loadu_ps(B + k * ldb + 8 * v), acc[v]);
    }
    for (int v = 0; v < V; ++v) _mm256_storeu_ps(c + 8 * v, acc[v]);
}

// The same for any width up to 64: whole registers first, then the columns left over.
void add_axpys_upto64(const float* a, const float* B, int64_t ldb, int64_t K, float* c, int64_t width) {
    switch (width / 8) {
        case 8: add_axpys<8>(a, B, ldb, K, c); break;
        case 7: add_axpys<7>(a, B, ldb, K, c); break;
        case 6: add_axpys<6>(a, B, ldb, K, c); break;
        case 5: add_axpys<5>(a, B, ldb, K, c); break;
        case 4: add_axpys<4>(a, B, ldb, K, c); break;
        case 3: add_axpys<3>(a, B, ldb, K, c); break;
        case 2: add_axpys<2>(a, B, ldb, K, c); break;
        case 1: add_axpys<1>(a, B, ldb, K, c); break;
        default: break;
    }
    for (int64_t k = 0; k < K; ++k)
        for (int64_t j = width / 8 * 8; j < width; ++j) c[j] += a[k] * B[k * ldb + j];
}
#endif

// A few rows of op(A) (a decode step computes one position): matrix-vector products without packing,
// which for one row would cost as much as the product itself. Threads split the output columns.
void gemv_rows(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B, int64_t ldb, bool trans_b,
               float* C, int64_t ldc) {
    const int64_t panels = (N + 63) / 64;
    parallel_for(panels, N * K >= (int64_t{1} << 14), [&](int64_t panel) {
        const int64_t j0 = panel * 64, j1 = std::min(j0 + 64, N);
        for (int64_t i = 0; i < M; ++i) {
            const float* a = A + i * lda;
            float* c = C + i * ldc;
            if (trans_b) {  // B is (N, K): each output is a dot product of two contiguous rows
                int64_t j = j0;
#ifdef BAYUN_GEMM_AVX2
                for (; j + 8 <= j1; j += 8) add_dots8(a, B + j * ldb, ldb, K, c + j);
#endif
                for (; j < j1; ++j) c[j] += dot(a, B + j * ldb, K);
            } else {  // B is (K, N): c += a[k] * row k of B, contiguous in j
#ifdef BAYUN_GEMM_AVX2
                add_axpys_upto64(a, B + j0, ldb, K, c + j0, j1 - j0);
#else
                for (int64_t k = 0; k < K; ++k) {
                    const float ak = a[k];
                    const float* b = B + k * ldb;
                    for (int64_t j = j0; j < j1; ++j) c[j] += ak * b[j];
                }
#endif
            }
        }
    });
}

}  // namespace

void gemm_fast(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B, int64_t ldb,
               bool trans_b, float* C, int64_t ldc, bool accumulate, const float* bias) {
    if (M == 0 || N == 0) return;
    // The small cases start C from the bias (or zero) and accumulate onto it.
    const auto start_from_bias = [&] {
        for (int64_t i = 0; i < M; ++i) {
            if (bias) std::copy(bias, bias + N, C + i * ldc);
            else std::fill(C + i * ldc, C + i * ldc + N, 0.0f);
        }
    };
    if (K == 0 || (M <= 4 && !trans_a)) {
        if (!accumulate) start_from_bias();
        gemv_rows(M, N, K, A, lda, B, ldb, trans_b, C, ldc);
        return;
    }
    // Small products (tiny test shapes): packing costs more than it saves.
    if (M * N * K <= 4096) {
        if (bias && !accumulate) start_from_bias();
        gemm_reference(M, N, K, A, lda, trans_a, B, ldb, trans_b, C, ldc, accumulate || bias != nullptr);
        return;
    }
    // Larger ones add the bias in the micro-kernel, as each tile of C is first written.
    const auto tile_bias = [&](int64_t p0, int64_t j) { return p0 == 0 && !accumulate && bias ? bias + j : nullptr; };
    static thread_local std::vector<float> b_pack;  // the shared B slice lives in the calling thread
    const int64_t nc_max = std::min(NC, (N + NR - 1) / NR * NR);
    b_pack.resize(static_cast<size_t>(KC * nc_max));
    float* bp = b_pack.data();
    const bool parallel = M * N * K >= (int64_t{1} << 18) && can_fork();

    // The work of thread `thread` of `threads`: each loop below gives it a contiguous share of the
    // iterations, and the threads meet at a barrier after each. With one thread this runs outside any OpenMP
    // region (a small product does not pay for waking the team, and a gemm called inside another
    // parallel loop stays out of that loop's team).
    const auto run = [&](int64_t thread, int64_t threads) {
        const auto share = [&](int64_t n) {  // [begin, end) of this thread's iterations of a 0..n loop
            return std::pair{thread * n / threads, (thread + 1) * n / threads};
        };
        const auto barrier = [&] {
            if (threads > 1) {
#pragma omp barrier
            }
        };
        const int64_t tiles = (M + MR - 1) / MR;  // MR-row tiles of C
        int64_t blocks = (tiles + MC / MR - 1) / (MC / MR);
        blocks = std::min(tiles, (blocks + threads - 1) / threads * threads);
        static thread_local std::vector<float> a_pack;
        a_pack.resize(static_cast<size_t>(MC * KC));
        // Threads split C's longer side. When C is wider than tall (a weight gradient of a narrow layer,
        // a square product), each thread takes whole NR-wide column panels: it packs its own B panels, which
        // stay in its own cache, packs every A block itself, and never waits for the other thread.
        const int64_t panels = (N + NR - 1) / NR;
        if (threads > 1 && M <= N && panels >= 2 * threads) {
            const auto [panel_begin, panel_end] = share(panels);
            const int64_t j_begin = panel_begin * NR, j_end = std::min(panel_end * NR, N);
            static thread_local std::vector<float> own_b;  // this thread's panels of B's slice, NC columns at most
            own_b.resize(static_cast<size_t>(KC * NC));
            for (int64_t j0 = j_begin; j0 < j_end; j0 += NC) {
                const int64_t j1 = std::min(j0 + NC, j_end);
                for (int64_t p0 = 0; p0 < K; p0 += KC) {
                    const int64_t kc = std::min(KC, K - p0);
                    for (int64_t j = j0; j < j1; j += NR)
                        pack_b_panel(B, trans_b, ldb, p0, kc, j, std::min(NR, j1 - j), own_b.data() + (j - j0) * kc);
                    for (int64_t i0 = 0; i0 < M; i0 += MC) {
                        const int64_t mc = std::min(MC, M - i0);
                        pack_a(A, trans_a, lda, i0, mc, p0, kc, a_pack.data());
                        for (int64_t j = j0; j < j1; j += NR)
                            for (int64_t i = 0; i < mc; i += MR)
                                micro_kernel(kc, a_pack.data() + i * kc, own_b.data() + (j - j0) * kc,
                                             C + (i0 + i) * ldc + j, ldc, std::min(MR, mc - i), std::min(NR, j1 - j),
                                             p0 == 0 && !accumulate, tile_bias(p0, j));
                    }
                }
            }
            return;
        }
        // Otherwise each thread takes blocks of C's rows, and the B slice is packed once for both.
        for (int64_t j0 = 0; j0 < N; j0 += NC) {
            const int64_t nc = std::min(NC, N - j0);
            for (int64_t p0 = 0; p0 < K; p0 += KC) {
                const int64_t kc = std::min(KC, K - p0);
                // Pack B's slice, one NR-wide panel per iteration, shared by all threads.
                const auto [panel_begin, panel_end] = share((nc + NR - 1) / NR);
                for (int64_t j = panel_begin * NR; j < panel_end * NR; j += NR)
                    pack_b_panel(B, trans_b, ldb, p0, kc, j0 + j, std::min(NR, nc - j), bp + j * kc);
                barrier();
                // Each thread takes blocks of at most MC rows of C: it packs its A block and runs the
                // micro-kernels. The blocks are as equal as whole MR-row tiles allow, and there are a
                // multiple of the thread count of them, so no thread waits long for another at the end.
                const auto [block_begin, block_end] = share(blocks);
                for (int64_t block = block_begin; block < block_end; ++block) {
                    const int64_t i0 = block * tiles / blocks * MR;
                    const int64_t mc = std::min((block + 1) * tiles / blocks * MR, M) - i0;
                    pack_a(A, trans_a, lda, i0, mc, p0, kc, a_pack.data());
                    for (int64_t j = 0; j < nc; j += NR)
                        for (int64_t i = 0; i < mc; i += MR)
                            micro_kernel(kc, a_pack.data() + i * kc, bp + j * kc, C + (i0 + i) * ldc + j0 + j, ldc,
                                         std::min(MR, mc - i), std::min(NR, nc - j), p0 == 0 && !accumulate,
                                         tile_bias(p0, j0 + j));
                }
                barrier();  // every block is done with this B slice before the next one is packed over it
            }
        }
    };
#ifdef _OPENMP
    if (parallel) {
#pragma omp parallel
        run(omp_get_thread_num(), omp_get_num_threads());
        return;
    }
#endif
    run(0, 1);
}

}  // namespace bayun
