// The kernel switch, the thread count, and the gemm() dispatch (the kernels themselves are in gemm.cpp).
#include "autograd/kernels.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <string>
#include <cstring>

#ifdef _OPENMP
#include <omp.h>
#endif
#ifdef BAYUN_OPENBLAS
#include <cblas.h>
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

int physical_cores() {
    // Each logical CPU names its core in sysfs; hyperthreads of one core share (package, core) ids.
    std::set<std::pair<std::string, std::string>> cores;
    for (int cpu = 0;; ++cpu) {
        const std::string dir = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
        std::ifstream core(dir + "core_id"), package(dir + "physical_package_id");
        if (!core || !package) break;
        std::string core_id, package_id;
        core >> core_id;
        package >> package_id;
        cores.emplace(package_id, core_id);
    }
#ifdef _OPENMP
    const int usable = omp_get_num_procs();  // the CPUs this process may run on
#else
    const int usable = 1;
#endif
    if (cores.empty()) return usable;  // no sysfs (not Linux): one thread per logical CPU
    return std::max(1, std::min(usable, static_cast<int>(cores.size())));
}

void set_num_threads(int n) {
#ifdef _OPENMP
    // Hyperthreads share a core's vector units: for these FMA-bound kernels a second thread per core only
    // adds synchronisation, so the default is one thread per physical core.
    omp_set_num_threads(n > 0 ? n : physical_cores());
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

bool can_fork() {
#ifdef _OPENMP
    return omp_get_max_threads() > 1 && !omp_in_parallel();
#else
    return false;
#endif
}

void gemm(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B, bool trans_b, float* C,
          bool accumulate) {
    gemm_strided(M, N, K, A, trans_a ? M : K, trans_a, B, trans_b ? K : N, trans_b, C, N, accumulate);
}

void gemm_bias(int64_t M, int64_t N, int64_t K, const float* A, bool trans_a, const float* B, bool trans_b,
               const float* bias, float* C) {
#ifndef BAYUN_OPENBLAS
    if (!reference_kernels()) {  // bayun's kernel adds the bias as it first writes each tile
        gemm_fast(M, N, K, A, trans_a ? M : K, trans_a, B, trans_b ? K : N, trans_b, C, N, false, bias);
        return;
    }
#endif
    // The others start from the bias rows and accumulate the product onto them.
    parallel_for(M, go_parallel(M * N), [&](int64_t r) { std::copy(bias, bias + N, C + r * N); });
    gemm(M, N, K, A, trans_a, B, trans_b, C, true);
}

const char* gemm_backend() {
    if (reference_kernels()) return "reference";
#ifdef BAYUN_OPENBLAS
    return "openblas";
#else
    return "bayun";
#endif
}

void gemm_strided(int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, bool trans_a, const float* B,
                  int64_t ldb, bool trans_b, float* C, int64_t ldc, bool accumulate) {
    if (reference_kernels()) {
        gemm_reference(M, N, K, A, lda, trans_a, B, ldb, trans_b, C, ldc, accumulate);
        return;
    }
#ifdef BAYUN_OPENBLAS
    if (M > 0 && N > 0 && K > 0) {  // BLAS rejects zero leading dimensions; gemm_fast handles the empty cases
        cblas_sgemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans,
                    static_cast<int>(M), static_cast<int>(N), static_cast<int>(K), 1.0f, A, static_cast<int>(lda), B,
                    static_cast<int>(ldb), accumulate ? 1.0f : 0.0f, C, static_cast<int>(ldc));
        return;
    }
#endif
    gemm_fast(M, N, K, A, lda, trans_a, B, ldb, trans_b, C, ldc, accumulate);
}

}  // namespace bayun
