// The kernel switch, thread count, and GEMM: the one kernel every matmul, linear layer and their
// backward passes run through (so it is the one worth making fast).
#include "autograd/kernels.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bayun {

namespace {
bool env_reference() {
    const char* value = std::getenv("BAYUN_REFERENCE_KERNELS");
    return value && *value && std::strcmp(value, "0") != 0;
}
bool use_reference = env_reference();
}  // namespace

bool reference_kernels() { return use_reference; }
void set_reference_kernels(bool on) { use_reference = on; }
ReferenceKernelsGuard::ReferenceKernelsGuard(bool on) : previous_(use_reference) { use_reference = on; }
ReferenceKernelsGuard::~ReferenceKernelsGuard() { use_reference = previous_; }

void set_num_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n > 0 ? n : omp_get_num_procs());
#else
    (void)n;
#endif
}

int num_threads() {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

void gemm(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B, bool trans_b, float* C,
          bool accumulate) {
    if (reference_kernels()) gemm_reference(M, N, K, A, trans_a, B, trans_b, C, accumulate);
    else gemm_fast(M, N, K, A, trans_a, B, trans_b, C, accumulate);
}

// The specification: C[i][j] (+)= sum_k op(A)[i][k] * op(B)[k][j].
void gemm_reference(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B, bool trans_b,
                    float* C, bool accumulate) {
    for (int64_t i = 0; i < M; ++i) {
        for (int64_t j = 0; j < N; ++j) {
            float sum = 0.0f;
            for (int64_t k = 0; k < K; ++k) {
                const float a = trans_a ? A[k * M + i] : A[i * K + k];
                const float b = trans_b ? B[j * K + k] : B[k * N + j];
                sum += a * b;
            }
            C[i * N + j] = accumulate ? C[i * N + j] + sum : sum;
        }
    }
}

namespace {
// rows x cols (row-major) -> cols x rows, in tiles so both sides stay in cache.
void transpose_into(const float* src, int64_t rows, int64_t cols, float* dst) {
    constexpr int64_t tile = 32;
#pragma omp parallel for schedule(static) if (rows * cols > 65536)
    for (int64_t r0 = 0; r0 < rows; r0 += tile)
        for (int64_t c0 = 0; c0 < cols; c0 += tile)
            for (int64_t r = r0; r < std::min(r0 + tile, rows); ++r)
                for (int64_t c = c0; c < std::min(c0 + tile, cols); ++c) dst[c * rows + r] = src[r * cols + c];
}

// C rows [i0, i1) += A rows [i0, i1) * B with A (M x K), B (K x N) plain row-major.
// Trick: 4 rows of C at a time share every row of B we load, and the inner j loop is contiguous in both
// B and C, so the compiler turns it into SIMD fused multiply-adds. K is blocked so the B panel stays in cache.
void gemm_rows(int64_t i0, int64_t i1, int64_t N, int64_t K, const float* A, const float* B, float* C) {
    constexpr int64_t k_block = 128;
    for (int64_t k0 = 0; k0 < K; k0 += k_block) {
        const int64_t k1 = std::min(k0 + k_block, K);
        int64_t i = i0;
        for (; i + 4 <= i1; i += 4) {
            float* __restrict c0 = C + (i + 0) * N;
            float* __restrict c1 = C + (i + 1) * N;
            float* __restrict c2 = C + (i + 2) * N;
            float* __restrict c3 = C + (i + 3) * N;
            for (int64_t k = k0; k < k1; ++k) {
                const float a0 = A[(i + 0) * K + k], a1 = A[(i + 1) * K + k];
                const float a2 = A[(i + 2) * K + k], a3 = A[(i + 3) * K + k];
                const float* __restrict b = B + k * N;
                for (int64_t j = 0; j < N; ++j) {
                    const float bj = b[j];
                    c0[j] += a0 * bj;
                    c1[j] += a1 * bj;
                    c2[j] += a2 * bj;
                    c3[j] += a3 * bj;
                }
            }
        }
        for (; i < i1; ++i) {
            float* __restrict c = C + i * N;
            for (int64_t k = k0; k < k1; ++k) {
                const float a = A[i * K + k];
                const float* __restrict b = B + k * N;
                for (int64_t j = 0; j < N; ++j) c[j] += a * b[j];
            }
        }
    }
}
}  // namespace

void gemm_fast(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B, bool trans_b, float* C,
               bool accumulate) {
    // Bring both operands to plain row-major (a transpose costs O(MK), the product O(MNK)).
    thread_local std::vector<float> a_buffer, b_buffer;
    if (trans_a) {
        a_buffer.resize(static_cast<size_t>(M * K));
        transpose_into(A, K, M, a_buffer.data());
        A = a_buffer.data();
    }
    if (trans_b) {
        b_buffer.resize(static_cast<size_t>(K * N));
        transpose_into(B, N, K, b_buffer.data());
        B = b_buffer.data();
    }
    if (!accumulate) std::fill(C, C + M * N, 0.0f);
    // Each thread owns a band of C's rows: no two threads write the same output.
    const int64_t band = 16;
#pragma omp parallel for schedule(dynamic, 1) if (M * N * K > 32768)
    for (int64_t i0 = 0; i0 < M; i0 += band) gemm_rows(i0, std::min(i0 + band, M), N, K, A, B, C);
}

}  // namespace bayun
