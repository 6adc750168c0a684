// The kernel switch, the thread count, and the gemm() dispatch (the kernels themselves are in gemm.cpp).
#include "autograd/kernels.h"

#include <cstdlib>
#include <cstring>

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
    gemm_strided(M, N, K, A, trans_a ? M : K, trans_a, B, trans_b ? K : N, trans_b, C, N, accumulate);
}

void gemm_strided(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B,
                  int64_t ldb, bool trans_b, float* C, int64_t ldc, bool accumulate) {
    if (reference_kernels()) gemm_reference(M, N, K, A, lda, trans_a, B, ldb, trans_b, C, ldc, accumulate);
    else gemm_fast(M, N, K, A, lda, trans_a, B, ldb, trans_b, C, ldc, accumulate);
}

}  // namespace bayun
