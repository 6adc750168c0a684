// layer_norm: each row of C channels to mean 0, variance 1, then times weight plus bias (eps 1e-5).
#include "ops_testing.h"

#include <cmath>

using namespace bayun;

TEST_CASE("layer_norm normalises a row, then scales and shifts it", "[autograd][layernorm]") {
    // x = 1 2 3 4: mean 2.5, variance 1.25; norm = (x - 2.5) / sqrt(1.25 + 1e-5)
    Tensor x = Tensor::from({1, 2, 3, 4}, {1, 4});
    Tensor w = Tensor::from({1, 2, 1, 2}, {4});
    Tensor b = Tensor::from({0, 0, 1, 1}, {4});
    const float rstd = 1.0f / std::sqrt(1.25f + 1e-5f);
    test::require_close(layer_norm(x, w, b), {-1.5f * rstd, -1.0f * rstd, 0.5f * rstd + 1, 3.0f * rstd + 1});
    test::require_close(layer_norm(x, w, b), {-1.3416354656f, -0.8944237232f, 1.4472117424f, 3.6832709312f});
}

TEST_CASE("layer_norm rows have mean 0 and variance 1 before the affine part", "[autograd][layernorm]") {
    Tensor x = test::random_tensor({2, 3, 33}, 91, false, -5, 7);
    Tensor y = layer_norm(x, Tensor::ones({33}), Tensor::zeros({33}));
    CHECK(y.shape() == Shape{2, 3, 33});
    for (int64_t r = 0; r < 6; ++r) {
        double m = 0, v = 0;
        for (int64_t c = 0; c < 33; ++c) m += y.data()[r * 33 + c];
        m /= 33;
        for (int64_t c = 0; c < 33; ++c) v += (y.data()[r * 33 + c] - m) * (y.data()[r * 33 + c] - m);
        v /= 33;
        CHECK_THAT(m, WithinAbs(0.0, 1e-6));
        CHECK_THAT(v, WithinRel(1.0, 1e-4));
    }
}

TEST_CASE("a constant row becomes the bias (eps keeps it finite)", "[autograd][layernorm]") {
    Tensor x = Tensor::full({2, 3}, 4.0f);
    Tensor y = layer_norm(x, Tensor::from({1, 2, 3}, {3}), Tensor::from({0.5f, -1, 2}, {3}));
    test::require_close(y, {0.5f, -1, 2, 0.5f, -1, 2});
}

TEST_CASE("layer_norm backward: dbias counts rows, dweight sums norm, dx of a sum is 0", "[autograd][layernorm]") {
    Tensor x = Tensor::from({1, 2, 3, 4, -1, 0, 1, 6}, {2, 4}, true);
    Tensor w = Tensor::ones({4}, true);
    Tensor b = Tensor::zeros({4}, true);
    sum(layer_norm(x, w, b)).backward();
    test::require_close(b.grad(), {2, 2, 2, 2});
    // norm rows: (x - mean) * rstd; row 1 has mean 1.5 and variance 7.25
    const float r0 = 1.0f / std::sqrt(1.25f + 1e-5f), r1 = 1.0f / std::sqrt(7.25f + 1e-5f);
    test::require_close(w.grad(), {-1.5f * r0 - 2.5f * r1, -0.5f * r0 - 1.5f * r1, 0.5f * r0 - 0.5f * r1,
                                   1.5f * r0 + 4.5f * r1}, 1e-5, 1e-6);
    // sum(norm) is 0 for every x, so its gradient is too.
    test::require_close(x.grad(), std::vector<float>(8, 0.0f), 0, 1e-6);
}

TEST_CASE("layer_norm backward matches finite differences", "[autograd][layernorm]") {
    const Shape shape = GENERATE(Shape{1}, Shape{3}, Shape{7, 3}, Shape{2, 3, 17}, Shape{1, 33}, Shape{2, 1, 2, 7});
    INFO("x " << shape_str(shape));
    const int64_t C = shape.back();
    // Inputs spread over [-2, 2) keep each row's variance well above the finite-difference step.
    Tensor x = test::random_tensor(shape, 92, true, -2, 2);
    Tensor w = test::random_tensor({C}, 93, true, 0.5f, 1.5f);
    Tensor b = test::random_tensor({C}, 94);
    test::require_gradcheck([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); }, {x, w, b});
}

TEST_CASE("layer_norm gradients flow only to inputs that require them", "[autograd][layernorm]") {
    Tensor x = test::random_tensor({3, 5}, 95);
    Tensor w = test::random_tensor({5}, 96, false);
    Tensor b = test::random_tensor({5}, 97, false);
    sum(mul(layer_norm(x, w, b), test::random_tensor({3, 5}, 98, false))).backward();
    CHECK(x.has_grad());
    CHECK_FALSE(w.has_grad());
    CHECK_FALSE(b.has_grad());
}

TEST_CASE("layer_norm fast kernels agree with the reference loops", "[autograd][layernorm][kernels]") {
    // 64 x 300 = 19,200 elements: above the 16,384 at which rows are spread over threads.
    Tensor x = test::random_tensor({2, 32, 300}, 99, true, -3, 3);
    Tensor w = test::random_tensor({300}, 100);
    Tensor b = test::random_tensor({300}, 101);
    // The fast kernel adds each row's sums in 8 lanes, the reference in order: mean and rstd a few ulps
    // apart, which the weight's gradient (64 rows of O(1) terms that largely cancel) carries to ~1e-6.
    test::require_kernels_agree([](const std::vector<Tensor>& in) { return layer_norm(in[0], in[1], in[2]); },
                                {x, w, b}, 1e-5, 1e-5);
}

TEST_CASE("layer_norm errors name the parameter and both shapes", "[autograd][layernorm][errors]") {
    Tensor x = Tensor::ones({2, 4});
    REQUIRE_THROWS_WITH(layer_norm(x, Tensor::ones({3}), Tensor::zeros({4})),
                        "[layer_norm] weight must be (4,) to match input (2, 4), found (3,)");
    REQUIRE_THROWS_WITH(layer_norm(x, Tensor::ones({4}), Tensor::zeros({1, 4})),
                        "[layer_norm] bias must be (4,) to match input (2, 4), found (1, 4)");
    REQUIRE_THROWS_WITH(layer_norm(Tensor::scalar(1.0f), Tensor::ones({1}), Tensor::zeros({1})),
                        "[layer_norm] input must be (..., C), found a scalar");
}
