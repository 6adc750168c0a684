// exp for many floats at once. std::exp is a scalar library call the compiler cannot vectorise (without
// -ffast-math), and the softmaxes, cross-entropy and GELU spend most of their time in it. With AVX2, exp8
// computes 8 values per call with Cephes's expf method (within 2 ulp of std::exp over the float range):
//   exp(x) = 2^n * exp(r),  n = round(x / ln 2),  r = x - n ln 2 in [-ln2/2, ln2/2],
// exp(r) from a degree-7 polynomial, and 2^n built directly in the float's exponent bits.
#pragma once

#include "autograd/kernels.h"

#include <cmath>
#include <cstdint>
#include <limits>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define BAYUN_VEC_MATH_AVX2 1
#endif

namespace bayun {

#ifdef BAYUN_VEC_MATH_AVX2
inline __m256 exp8(__m256 x) {
    x = _mm256_min_ps(_mm256_max_ps(x, _mm256_set1_ps(-87.3365f)), _mm256_set1_ps(88.3762f));
    const __m256 n = _mm256_floor_ps(_mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f)));
    // r = x - n ln 2, with ln 2 split in two so that n * ln2_hi is exact.
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    const __m256i two_n = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(two_n));
}
#endif

// The sum of term(i) for i < n. A single running sum is a chain of dependent adds, each waiting ~4 cycles
// for the last (the compiler keeps that order without -ffast-math); eight partial sums side by side, added
// at the end, let the compiler put them in one vector register. The reference kernels sum in order.
template <typename Term>
inline float lane_sum(int64_t n, Term term) {
    float total = 0.0f;
    int64_t i = 0;
    if (!reference_kernels()) {
        float lanes[8] = {};
        for (; i + 8 <= n; i += 8)
            for (int lane = 0; lane < 8; ++lane) lanes[lane] += term(i + lane);
        for (float lane : lanes) total += lane;
    }
    for (; i < n; ++i) total += term(i);
    return total;
}

// The largest of x[0..n) (-infinity for n = 0). A scalar max is a chain of dependent compares that the
// compiler will not split into lanes on its own (without -ffast-math); 8 lanes side by side are ~8x faster.
inline float max_of(const float* x, int64_t n) {
    int64_t i = 0;
    float max = -std::numeric_limits<float>::infinity();
#ifdef BAYUN_VEC_MATH_AVX2
    if (!reference_kernels() && n >= 8) {
        __m256 m = _mm256_loadu_ps(x);
        for (i = 8; i + 8 <= n; i += 8) m = _mm256_max_ps(m, _mm256_loadu_ps(x + i));
        alignas(32) float lanes[8];
        _mm256_store_ps(lanes, m);
        for (float lane : lanes) max = std::max(max, lane);
    }
#endif
    for (; i < n; ++i) max = std::max(max, x[i]);
    return max;
}

// y[i] = exp(x[i] - shift) for i < n (y may be x), and returns the sum of the y[i]. The reference kernels
// use std::exp throughout.
inline float exp_shifted(const float* x, float* y, int64_t n, float shift) {
    int64_t i = 0;
    float total = 0.0f;
#ifdef BAYUN_VEC_MATH_AVX2
    __m256 acc = _mm256_setzero_ps();
    const __m256 s = _mm256_set1_ps(shift);
    const int64_t vector_end = reference_kernels() ? 0 : n;
    for (; i + 8 <= vector_end; i += 8) {
        const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), s));
        _mm256_storeu_ps(y + i, e);
        acc = _mm256_add_ps(acc, e);
    }
    alignas(32) float lanes[8];
    _mm256_store_ps(lanes, acc);
    for (float lane : lanes) total += lane;
#endif
    for (; i < n; ++i) total += (y[i] = std::exp(x[i] - shift));
    return total;
}

}  // namespace bayun
