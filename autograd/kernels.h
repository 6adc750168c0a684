// Kernel switches and the shared matrix-multiply kernel.
// Every op has a plain `*_reference` loop (the specification) and a fast version (OpenMP on the outer
// loop, blocking, vectorisable inner loops). set_reference_kernels(true), or the environment variable
// BAYUN_REFERENCE_KERNELS=1, routes everything to the reference loops: use it to step through in a debugger
// and in tests that assert both paths agree.
#pragma once

#include <algorithm>
#include <cstdint>

namespace bayun {

bool reference_kernels();
void set_reference_kernels(bool on);

// RAII: reference kernels inside a scope (tests).
class ReferenceKernelsGuard {
public:
    explicit ReferenceKernelsGuard(bool on = true);
    ~ReferenceKernelsGuard();
    ReferenceKernelsGuard(const ReferenceKernelsGuard&) = delete;
    ReferenceKernelsGuard& operator=(const ReferenceKernelsGuard&) = delete;

private:
    bool previous_;
};

// Threads used by the fast kernels (OpenMP). 0 means "the default": one per physical core.
void set_num_threads(int n);
int physical_cores();  // cores (not hyperthreads) this process may use, from /sys; at least 1
int num_threads();
// True when a parallel region here would get more than one thread: there is more than one, and this code
// is not already running inside a parallel loop (whose threads are all busy).
bool can_fork();

// Whether an elementwise loop over n values is worth the threads: below 32K values, waking them costs more
// than they save. The reference kernels always stay on one thread.
inline bool go_parallel(int64_t n) { return !reference_kernels() && n >= (int64_t{1} << 15); }

// Runs body(i) for every i in [0, n). When `parallel` (and there is more than one thread), OpenMP's threads
// share the range in equal contiguous blocks; otherwise it is a plain loop on this thread that never enters
// OpenMP. An OpenMP region costs a few microseconds even on one thread (libgomp wakes its team with a
// futex system call), and a decode step, which is all small ops, would pay that about 100 times.
template <typename Body>
void parallel_for(int64_t n, bool parallel, Body&& body) {
    if (parallel && n > 1 && can_fork()) {
#pragma omp parallel for schedule(static)
        for (int64_t i = 0; i < n; ++i) body(i);
    } else {
        for (int64_t i = 0; i < n; ++i) body(i);
    }
}

// Runs body(c0, c1) on column ranges that split [0, cols) between the threads (one range when not
// `parallel`). It is for sums over rows into one total per column (bias and layer-norm gradients): each
// thread owns its columns and adds the rows in order, so the totals are the same, bit for bit, with any
// number of threads.
template <typename Body>
void parallel_columns(int64_t cols, bool parallel, Body&& body) {
    const int64_t parts = parallel ? std::min<int64_t>(num_threads(), cols) : 1;
    parallel_for(parts, parallel, [&](int64_t p) { body(p * cols / parts, (p + 1) * cols / parts); });
}

// Row kernels that the ops run per row and the decode step (infer/decode_step.cpp) runs on raw vectors.
// y = layer_norm(x) of one row of C values (ops_layernorm.cpp); mean_out and rstd_out may be null.
void layer_norm_row(const float* x, const float* weight, const float* bias, int64_t C, float eps, float* y,
                    float* mean_out = nullptr, float* rstd_out = nullptr);
// y = gelu(x) for n values (ops_elementwise.cpp); t (may be null) receives the tanh that gelu's backward reads.
void gelu_values(const float* x, float* y, float* t, int64_t n);
// Causal attention of one new position of one sequence, for heads [head_begin, head_end) of n_head
// (ops_attention.cpp): q (C) its queries; keys, values (H, T_max, D) the sequence's KV cache, whose first
// kv_length rows (the new position's last) it reads; out (C) receives those heads' D-wide columns.
// The fused causal_attention with T = 1.
void attend_last_position(const float* q, const float* keys, const float* values, int64_t T_max, int64_t kv_length,
                          int64_t C, int64_t n_head, int64_t head_begin, int64_t head_end, float* out);

// C (M x N) = op(A) op(B) (+ C when accumulate), all row-major and contiguous.
// op(A) is M x K: A is stored M x K, or K x M when trans_a. op(B) is K x N: B is K x N, or N x K when trans_b.
void gemm(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B, bool trans_b, float* C,
          bool accumulate);

// The same with leading dimensions: row i of the stored A starts at A + i * lda (BLAS's convention), so
// the operands can be column slices of wider matrices, e.g. one head's D channels of a (T, 3C) qkv.
// Which kernel gemm runs now: "reference", "bayun" (gemm_fast) or "openblas" (built with BAYUN_OPENBLAS).
const char* gemm_backend();
void gemm_strided(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B,
                  int64_t ldb, bool trans_b, float* C, int64_t ldc, bool accumulate);
void gemm_reference(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B,
                    int64_t ldb, bool trans_b, float* C, int64_t ldc, bool accumulate);
// gemm_fast can also add a bias (N) to every row of C, in the micro-kernel as each tile is first written
// (C = op(A) op(B) + bias; with accumulate, C += op(A) op(B) and the bias is ignored).
void gemm_fast(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B, int64_t ldb,
               bool trans_b, float* C, int64_t ldc, bool accumulate, const float* bias = nullptr);
// C (M x N) = op(A) op(B) + bias, the bias (N) added to every row: a linear layer's forward.
void gemm_bias(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B, bool trans_b,
               const float* bias, float* C);

}  // namespace bayun
