// The kernel switch and GEMM: gemm_reference is the specification, gemm_fast must agree with it for every
// transpose combination and for sizes that reach each of its paths: tiny products, leftovers of the
// micro-tile (rows and columns that do not fill it), several K slices and row blocks, and products big
// enough that OpenMP splits the rows (or, for a product wider than tall, the columns) over threads.
#include "autograd/vec_math.h"
#include "ops_testing.h"

#include <cmath>

#include <vector>

using namespace bayun;

namespace {

std::vector<float> random_values(int64_t n, uint64_t seed) {
    Rng rng(seed);
    std::vector<float> v(static_cast<size_t>(n));
    for (float& x : v) x = rng.uniform() * 2.0f - 1.0f;
    return v;
}

// The contiguous case: each stored matrix's rows are exactly as long as they are wide.
void reference_contiguous(int64_t M, int64_t N, int64_t K, const float* a, bool ta, const float* b, bool tb, float* c, bool acc) {
    gemm_reference(M, N, K, a, ta ? M : K, ta, b, tb ? K : N, tb, c, N, acc);
}
void fast_contiguous(int64_t M, int64_t N, int64_t K, const float* a, bool ta, const float* b, bool tb, float* c, bool acc) {
    gemm_fast(M, N, K, a, ta ? M : K, ta, b, tb ? K : N, tb, c, N, acc);
}

}  // namespace

TEST_CASE("gemm_reference follows its specification for every transpose", "[autograd][kernels]") {
    // op(A) = [[1 2] [3 4]], op(B) = [[5 6] [7 8]]; op(A) op(B) = [[19 22] [43 50]].
    const std::vector<float> a{1, 2, 3, 4}, a_t{1, 3, 2, 4};
    const std::vector<float> b{5, 6, 7, 8}, b_t{5, 7, 6, 8};
    const bool trans_a = GENERATE(false, true);
    const bool trans_b = GENERATE(false, true);
    std::vector<float> c(4, 100.0f);
    reference_contiguous(2, 2, 2, (trans_a ? a_t : a).data(), trans_a, (trans_b ? b_t : b).data(), trans_b, c.data(), false);
    CHECK(c == std::vector<float>{19, 22, 43, 50});
    reference_contiguous(2, 2, 2, (trans_a ? a_t : a).data(), trans_a, (trans_b ? b_t : b).data(), trans_b, c.data(), true);
    CHECK(c == std::vector<float>{38, 44, 86, 100});
}

TEST_CASE("gemm_reference of a non-square product", "[autograd][kernels]") {
    // (2, 3) x (3, 1)
    const std::vector<float> a{1, 2, 3, 4, 5, 6}, b{1, 0, -1};
    std::vector<float> c(2);
    reference_contiguous(2, 1, 3, a.data(), false, b.data(), false, c.data(), false);
    CHECK(c == std::vector<float>{-2, -2});
}

TEST_CASE("gemm_fast agrees with gemm_reference for all transposes and odd sizes", "[autograd][kernels]") {
    const bool trans_a = GENERATE(false, true);
    const bool trans_b = GENERATE(false, true);
    const bool accumulate = GENERATE(false, true);
    const auto [M, N, K] = GENERATE(table<int64_t, int64_t, int64_t>({
        {1, 1, 1}, {3, 5, 7}, {4, 4, 4}, {5, 17, 33}, {17, 1, 3}, {7, 33, 1},  // small products
        {13, 37, 29}, {1, 4097, 3}, {31, 6, 40},                              // partial micro-tiles
        {9, 13, 300}, {7, 17, 600},                                           // K in several slices
        {101, 33, 9},                                                         // several row blocks
        {197, 21, 70}, {130, 200, 40},                                        // OpenMP over row blocks
        {67, 129, 45}, {8, 4500, 520},                                        // over column panels, in NC chunks
        {1, 203, 131}, {3, 70, 64}, {1, 300, 600},                            // decode: rows of dot products
        {1, 32, 257}, {2, 24, 100},                                           // decode attention: P V of one head
    }));
    INFO("M " << M << " N " << N << " K " << K << " trans_a " << trans_a << " trans_b " << trans_b << " accumulate "
              << accumulate);
    const std::vector<float> a = random_values(M * K, 51), b = random_values(K * N, 52), c0 = random_values(M * N, 53);
    std::vector<float> fast = c0, reference = c0;
    fast_contiguous(M, N, K, a.data(), trans_a, b.data(), trans_b, fast.data(), accumulate);
    reference_contiguous(M, N, K, a.data(), trans_a, b.data(), trans_b, reference.data(), accumulate);
    // Different summation orders: the error grows like sqrt(K) ulps of the partial sums.
    test::require_close(Tensor::from(fast, {M, N}), reference, 1e-5, 1e-5);
}

TEST_CASE("gemm_bias adds the bias to every row on each of gemm_fast's paths", "[autograd][kernels]") {
    // Matrix-vector rows, a tiny product, row blocks, column panels (wider than tall), K in two slices,
    // partial tiles at the edges; the expected value starts from the bias rows and adds the product.
    const bool trans_b = GENERATE(false, true);
    const auto [M, N, K] = GENERATE(table<int64_t, int64_t, int64_t>(
        {{1, 70, 33}, {3, 5, 7}, {130, 40, 45}, {37, 301, 70}, {29, 45, 600}, {5, 7, 0}}));
    INFO("M " << M << " N " << N << " K " << K << " trans_b " << trans_b);
    const std::vector<float> a = random_values(M * K, 54), b = random_values(K * N, 55), bias = random_values(N, 56);
    std::vector<float> fast(static_cast<size_t>(M * N), 100.0f), expected(static_cast<size_t>(M * N));
    gemm_bias(M, N, K, a.data(), false, b.data(), trans_b, bias.data(), fast.data());
    for (int64_t i = 0; i < M; ++i) std::copy(bias.begin(), bias.end(), expected.begin() + i * N);
    reference_contiguous(M, N, K, a.data(), false, b.data(), trans_b, expected.data(), true);
    test::require_close(Tensor::from(fast, {M, N}), expected, 1e-5, 1e-5);
}

TEST_CASE("gemm_fast and gemm_reference agree on column slices of wider matrices", "[autograd][kernels]") {
    // Attention multiplies one head's D channels of a (T, 3C) qkv: every operand is a slice whose rows are
    // ld floats apart. Garbage around the slices must neither be read into the result nor overwritten.
    const bool trans_a = GENERATE(false, true);
    const bool trans_b = GENERATE(false, true);
    const bool accumulate = GENERATE(false, true);
    const auto [M, N, K] = GENERATE(table<int64_t, int64_t, int64_t>({{3, 5, 7}, {64, 64, 32}, {67, 129, 45}, {2, 40, 9}}));
    INFO("M " << M << " N " << N << " K " << K << " trans_a " << trans_a << " trans_b " << trans_b);
    const int64_t a_rows = trans_a ? K : M, a_cols = trans_a ? M : K, lda = a_cols + 5;
    const int64_t b_rows = trans_b ? N : K, b_cols = trans_b ? K : N, ldb = b_cols + 3;
    const int64_t ldc = N + 7;
    const std::vector<float> a = random_values(a_rows * lda, 56), b = random_values(b_rows * ldb, 57);
    const std::vector<float> c0 = random_values(M * ldc, 58);
    std::vector<float> strided = c0, expected = c0;
    gemm_fast(M, N, K, a.data() + 2, lda, trans_a, b.data() + 1, ldb, trans_b, strided.data() + 3, ldc, accumulate);
    // The expectation: copy the slices out, multiply contiguously, copy back.
    std::vector<float> ac(a_rows * a_cols), bc(b_rows * b_cols), cc(M * N);
    for (int64_t r = 0; r < a_rows; ++r)
        for (int64_t c = 0; c < a_cols; ++c) ac[r * a_cols + c] = a[r * lda + 2 + c];
    for (int64_t r = 0; r < b_rows; ++r)
        for (int64_t c = 0; c < b_cols; ++c) bc[r * b_cols + c] = b[r * ldb + 1 + c];
    for (int64_t r = 0; r < M; ++r)
        for (int64_t c = 0; c < N; ++c) cc[r * N + c] = c0[r * ldc + 3 + c];
    reference_contiguous(M, N, K, ac.data(), trans_a, bc.data(), trans_b, cc.data(), accumulate);
    for (int64_t r = 0; r < M; ++r)
        for (int64_t c = 0; c < N; ++c) expected[r * ldc + 3 + c] = cc[r * N + c];
    test::require_close(Tensor::from(strided, {M, ldc}), Tensor::from(expected, {M, ldc}), 1e-5, 1e-5);
    for (int64_t r = 0; r < M; ++r)  // outside the slice, C is untouched, bit for bit
        for (int64_t c = 0; c < ldc; ++c)
            if (c < 3 || c >= 3 + N) CHECK(strided[r * ldc + c] == c0[r * ldc + c]);
}

TEST_CASE("gemm with K = 0 writes zeros, or leaves C when accumulating", "[autograd][kernels]") {
    std::vector<float> c{1, 2, 3, 4};
    const bool fast = GENERATE(false, true);
    float unused = 0.0f;
    if (fast) fast_contiguous(2, 2, 0, &unused, false, &unused, false, c.data(), true);
    else reference_contiguous(2, 2, 0, &unused, false, &unused, false, c.data(), true);
    CHECK(c == std::vector<float>{1, 2, 3, 4});
    if (fast) fast_contiguous(2, 2, 0, &unused, false, &unused, false, c.data(), false);
    else reference_contiguous(2, 2, 0, &unused, false, &unused, false, c.data(), false);
    CHECK(c == std::vector<float>{0, 0, 0, 0});
}

TEST_CASE("gemm routes to the reference kernel inside ReferenceKernelsGuard", "[autograd][kernels]") {
    const int64_t M = 67, N = 129, K = 45;
    const std::vector<float> a = random_values(M * K, 54), b = random_values(K * N, 55);
    std::vector<float> expected(M * N), via_switch(M * N);
    reference_contiguous(M, N, K, a.data(), false, b.data(), true, expected.data(), false);
    {
        ReferenceKernelsGuard guard;
        CHECK(reference_kernels());
        gemm(M, N, K, a.data(), false, b.data(), true, via_switch.data(), false);
    }
    CHECK(via_switch == expected);  // bit for bit: the very same loops ran
}

TEST_CASE("ReferenceKernelsGuard restores the previous setting, also when nested", "[autograd][kernels]") {
    const bool before = reference_kernels();
    {
        ReferenceKernelsGuard on;
        CHECK(reference_kernels());
        {
            ReferenceKernelsGuard off(false);
            CHECK_FALSE(reference_kernels());
        }
        CHECK(reference_kernels());
    }
    CHECK(reference_kernels() == before);
    set_reference_kernels(true);
    CHECK(reference_kernels());
    set_reference_kernels(before);
    CHECK(reference_kernels() == before);
}

TEST_CASE("the thread count can be set and restored", "[autograd][kernels]") {
    const int before = num_threads();
    CHECK(before >= 1);
    set_num_threads(1);
#ifdef _OPENMP
    CHECK(num_threads() == 1);
#endif
    set_num_threads(before);
    CHECK(num_threads() == before);
}

TEST_CASE("exp_shifted matches std::exp to a few ulp over the float range, and sums what it writes",
          "[autograd][kernels]") {
    std::vector<float> x;
    for (float v = -87.0f; v <= 88.0f; v += 0.01337f) x.push_back(v);
    x.push_back(-1000.0f);  // underflows to 0, as std::exp does
    std::vector<float> y(x.size());
    exp_shifted(x.data(), y.data(), static_cast<int64_t>(x.size()), 0.0f);
    for (size_t i = 0; i < x.size(); ++i) {
        INFO("x = " << x[i]);
        CHECK(std::abs(y[i] - std::exp(x[i])) <= 4e-7f * std::exp(x[i]) + 1e-37f);
    }
    const float total = exp_shifted(x.data(), y.data(), 3000, 0.0f);  // x in [-87, -47]: no overflow
    double expected_total = 0;
    for (size_t i = 0; i < 3000; ++i) expected_total += std::exp(static_cast<double>(x[i]));
    CHECK(total == Approx(expected_total).epsilon(1e-5));
    // The shift is subtracted first: exp(x - shift), as softmax uses it.
    const float shifted[3] = {1.0f, 2.0f, 3.0f};
    float out[3];
    CHECK(exp_shifted(shifted, out, 3, 3.0f) == Approx(std::exp(-2.0) + std::exp(-1.0) + 1.0));
}

TEST_CASE("threads default to one per physical core; an explicit count overrides", "[autograd][kernels]") {
    const int before = num_threads();
    CHECK(physical_cores() >= 1);
    set_num_threads(0);
    CHECK(num_threads() == physical_cores());
    set_num_threads(3);
    CHECK(num_threads() == 3);
    set_num_threads(before);
}

TEST_CASE("gradients summed over rows (bias, layer norm, broadcast add) are bit for bit the same on 1 and 2 threads",
          "[autograd][kernels]") {
    // Threads own columns and add the rows in order, so the thread count must not change a single bit.
    const int64_t rows = 300, C = 96;  // rows * C above the threshold where the threads share the work
    const std::vector<Tensor> inputs{test::away_from_zero({rows, C}, 61), test::away_from_zero({C, C}, 62),
                                     test::away_from_zero({C}, 63), test::away_from_zero({C}, 64),
                                     test::away_from_zero({C}, 65), test::away_from_zero({C}, 66)};
    const test::OpFn f = [](const std::vector<Tensor>& in) {
        Tensor h = linear(in[0], in[1], in[2]);         // bias gradient: a sum over rows
        h = layer_norm(h, in[3], in[4], 1e-5f);         // weight and bias gradients: sums over rows
        return add(h, in[5]);                           // broadcast operand: a sum over rows
    };
    const int before = num_threads();
    set_num_threads(1);
    const test::ForwardBackward one = test::forward_backward(f, inputs);
    set_num_threads(2);
    const test::ForwardBackward two = test::forward_backward(f, inputs);
    set_num_threads(before);
    for (size_t i = 0; i < inputs.size(); ++i) {
        INFO("input " << i);
        REQUIRE(two.grads[i].defined());
        CHECK(std::equal(one.grads[i].values().begin(), one.grads[i].values().end(), two.grads[i].values().begin()));
    }
}
