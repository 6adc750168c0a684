// softmax (with and without the causal mask, including Tq < Tk as with a KV cache) and log_softmax.
#include "ops_testing.h"

#include <cmath>

using namespace bayun;

TEST_CASE("softmax turns scores into weights that sum to 1", "[autograd][softmax]") {
    // exp(0), exp(ln 2), exp(ln 3) = 1, 2, 3: weights 1/6, 2/6, 3/6.
    Tensor x = Tensor::from({0, std::log(2.0f), std::log(3.0f), 5, 5, 5}, {2, 3});
    test::require_close(softmax(x), {1.0f / 6, 2.0f / 6, 3.0f / 6, 1.0f / 3, 1.0f / 3, 1.0f / 3});
}

TEST_CASE("softmax is stable for large scores", "[autograd][softmax]") {
    Tensor x = Tensor::from({1000, 1000, 1000, -1000, 0, -1000}, {2, 3});
    test::require_close(softmax(x), {1.0f / 3, 1.0f / 3, 1.0f / 3, 0, 1, 0});
    test::require_close(log_softmax(Tensor::from({1000, 1000}, {2})), {-0.6931471806f, -0.6931471806f});
}

TEST_CASE("log_softmax is the log of softmax", "[autograd][softmax]") {
    Tensor x = Tensor::from({0, std::log(2.0f), std::log(3.0f)}, {3});
    test::require_close(log_softmax(x), {std::log(1.0f / 6), std::log(2.0f / 6), std::log(3.0f / 6)});
    Tensor r = test::random_tensor({3, 7}, 71, false, -3, 3);
    test::require_close(log_softmax(r), log(softmax(r)), 1e-5, 1e-6);
}

TEST_CASE("the causal mask gives future positions weight 0", "[autograd][softmax]") {
    Tensor scores = Tensor::zeros({3, 3});
    test::require_close(softmax(scores, true), {1, 0, 0, 0.5f, 0.5f, 0, 1.0f / 3, 1.0f / 3, 1.0f / 3});
    // Values in the masked future must not leak in, however large.
    Tensor big_future = Tensor::from({0, 100, 100, 0, 0, 100, 1, 2, 3}, {3, 3});
    Tensor p = softmax(big_future, true);
    test::require_close(p, {1, 0, 0, 0.5f, 0.5f, 0, 0.0900305732f, 0.2447284711f, 0.6652409558f});
}

TEST_CASE("a causal mask with fewer queries than keys lines the queries up with the last keys", "[autograd][softmax]") {
    // A KV cache holds 2 past positions; 2 new queries (positions 2 and 3) see keys 0..2 and 0..3.
    Tensor scores = Tensor::zeros({2, 4});
    test::require_close(softmax(scores, true), {1.0f / 3, 1.0f / 3, 1.0f / 3, 0, 0.25f, 0.25f, 0.25f, 0.25f});
    // One query (sampling step) sees every key.
    test::require_close(softmax(Tensor::zeros({1, 4}), true), {0.25f, 0.25f, 0.25f, 0.25f});
}

TEST_CASE("the causal mask restarts for every (batch, head) matrix", "[autograd][softmax]") {
    Tensor scores = Tensor::zeros({2, 2, 2, 2});  // (B, H, T, T)
    Tensor p = softmax(scores, true);
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t h = 0; h < 2; ++h) {
            CHECK(p.at({b, h, 0, 0}) == 1.0f);
            CHECK(p.at({b, h, 0, 1}) == 0.0f);
            CHECK(p.at({b, h, 1, 0}) == 0.5f);
            CHECK(p.at({b, h, 1, 1}) == 0.5f);
        }
}

TEST_CASE("softmax backward: the gradient of a constant row sum is 0", "[autograd][softmax]") {
    Tensor x = test::random_tensor({3, 5}, 72);
    sum(softmax(x)).backward();  // every row sums to 1, whatever x
    test::require_close(x.grad(), std::vector<float>(15, 0.0f), 0, 1e-6);
    // d/dx of p_0 for x = 0 (two entries): p_0 (1 - p_0) and -p_0 p_1.
    Tensor z = Tensor::zeros({2}, true);
    sum(mul(softmax(z), Tensor::from({1, 0}, {2}))).backward();
    test::require_close(z.grad(), {0.25f, -0.25f});
}

TEST_CASE("masked scores receive no gradient", "[autograd][softmax]") {
    Tensor x = test::random_tensor({2, 3, 5}, 73);
    Tensor r = test::random_tensor({2, 3, 5}, 74, false);
    sum(mul(softmax(x, true), r)).backward();
    for (int64_t b = 0; b < 2; ++b)
        for (int64_t i = 0; i < 3; ++i)
            for (int64_t j = 0; j < 5; ++j) {
                const float g = x.grad().at({b, i, j});
                if (j > i + 2) CHECK(g == 0.0f);
                else CHECK(g != 0.0f);
            }
}

TEST_CASE("softmax and log_softmax backward match finite differences", "[autograd][softmax]") {
    const bool log_form = GENERATE(false, true);
    const Shape shape = GENERATE(Shape{1}, Shape{3}, Shape{7, 3}, Shape{2, 5, 17}, Shape{2, 1, 3, 33});
    INFO((log_form ? "log_softmax of " : "softmax of ") << shape_str(shape));
    Tensor x = test::random_tensor(shape, 75, true, -2, 2);
    test::require_gradcheck(
        [&](const std::vector<Tensor>& in) { return log_form ? log_softmax(in[0]) : softmax(in[0]); }, {x});
}

TEST_CASE("causal softmax backward matches finite differences, also with Tq < Tk", "[autograd][softmax]") {
    const Shape shape = GENERATE(Shape{1, 1}, Shape{3, 3}, Shape{1, 7}, Shape{3, 7}, Shape{2, 5, 5},
                                 Shape{2, 3, 4, 9}, Shape{1, 2, 17, 17});
    INFO("causal softmax of " << shape_str(shape));
    Tensor x = test::random_tensor(shape, 76, true, -2, 2);
    test::require_gradcheck([](const std::vector<Tensor>& in) { return softmax(in[0], true); }, {x});
}

TEST_CASE("softmax fast kernels agree with the reference loops", "[autograd][softmax][kernels]") {
    // 4 x 64 x 80 = 20,480 elements: above the 16,384 at which rows are spread over threads.
    const int variant = GENERATE(0, 1, 2);  // softmax, causal softmax, log_softmax
    INFO("variant " << variant);
    Tensor x = test::random_tensor({4, 64, 80}, 77, true, -3, 3);
    test::require_kernels_agree(
        [&](const std::vector<Tensor>& in) {
            return variant == 2 ? log_softmax(in[0]) : softmax(in[0], variant == 1);
        },
        // The fast path's exp is vectorised (autograd/vec_math.h, within 2 ulp of std::exp) and sums in 8
        // lanes, so agreement is to float rounding, not bit for bit.
        {x}, 1e-5, 1e-6);
}

TEST_CASE("softmax errors name the op and the shape", "[autograd][softmax][errors]") {
    REQUIRE_THROWS_WITH(softmax(Tensor::zeros({4, 3}), true),
                        "[softmax] causal scores need Tq <= Tk, found (4, 3) (more queries than keys)");
    REQUIRE_THROWS_WITH(softmax(Tensor::zeros({3}), true),
                        "[softmax] a causal mask needs (..., Tq, Tk) scores, found (3,)");
    REQUIRE_THROWS_WITH(softmax(Tensor::scalar(1.0f)), "[softmax] needs at least one dimension, found a scalar");
    REQUIRE_THROWS_WITH(log_softmax(Tensor::scalar(1.0f)),
                        "[log_softmax] needs at least one dimension, found a scalar");
}
