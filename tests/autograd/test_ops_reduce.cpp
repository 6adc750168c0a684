// Reductions: sum and mean over all elements or over the last axis, with and without keepdim.
#include "ops_testing.h"

using namespace bayun;

TEST_CASE("sum and mean over all elements give a scalar", "[autograd][reduce]") {
    Tensor x = reshape(Tensor::arange(6), {2, 3});
    Tensor s = sum(x);
    Tensor m = mean(x);
    CHECK(s.dim() == 0);
    CHECK(m.dim() == 0);
    CHECK(s.item() == 15.0f);
    CHECK(m.item() == 2.5f);
}

TEST_CASE("sum and mean over the last axis, with and without keepdim", "[autograd][reduce]") {
    Tensor x = reshape(Tensor::arange(12), {2, 2, 3});
    Tensor s = sum(x, -1);
    CHECK(s.shape() == Shape{2, 2});
    test::require_close(s, {3, 12, 21, 30});
    Tensor sk = sum(x, 2, true);
    CHECK(sk.shape() == Shape{2, 2, 1});
    test::require_close(sk, {3, 12, 21, 30});
    Tensor m = mean(x, -1);
    CHECK(m.shape() == Shape{2, 2});
    test::require_close(m, {1, 4, 7, 10});
    CHECK(mean(x, -1, true).shape() == Shape{2, 2, 1});
    Tensor v = sum(Tensor::from({1, 2, 3}, {3}), -1);  // a vector reduces to a scalar
    CHECK(v.dim() == 0);
    CHECK(v.item() == 6.0f);
}

TEST_CASE("sum and mean spread their gradient evenly", "[autograd][reduce]") {
    Tensor x = Tensor::zeros({2, 4}, true);
    mean(x).backward();
    test::require_close(x.grad(), std::vector<float>(8, 0.125f));
    x.zero_grad();
    // loss = sum_r w[r] * mean_c x[r, c]:  dx[r, c] = w[r] / 4
    Tensor w = Tensor::from({2, -4}, {2});
    sum(mul(mean(x, -1), w)).backward();
    test::require_close(x.grad(), {0.5f, 0.5f, 0.5f, 0.5f, -1, -1, -1, -1});
    x.zero_grad();
    sum(mul(sum(x, -1, true), reshape(w, {2, 1}))).backward();
    test::require_close(x.grad(), {2, 2, 2, 2, -4, -4, -4, -4});
}

TEST_CASE("a mean over a million elements keeps its digits", "[autograd][reduce]") {
    // A float accumulator would drift by about 1e-3 relative here; the kernel accumulates in double.
    Tensor x = Tensor::full({1000, 1000}, 0.1f);
    CHECK_THAT(mean(x).item(), WithinRel(0.1f, 1e-6f));
    CHECK_THAT(sum(x).item(), WithinRel(100000.0f, 1e-6f));
}

TEST_CASE("sum and mean backward match finite differences", "[autograd][reduce]") {
    const std::string op = GENERATE("sum", "mean");
    const int mode = GENERATE(0, 1, 2);  // 0: all elements, 1: last axis, 2: last axis with keepdim
    const Shape shape = GENERATE(Shape{1}, Shape{3}, Shape{7, 3}, Shape{2, 3, 17}, Shape{2, 1, 3, 5});
    INFO(op << " mode " << mode << " of " << shape_str(shape));
    Tensor x = test::random_tensor(shape, 21);
    test::require_gradcheck(
        [&](const std::vector<Tensor>& in) {
            if (mode == 0) return op == "sum" ? sum(in[0]) : mean(in[0]);
            return op == "sum" ? sum(in[0], -1, mode == 2) : mean(in[0], -1, mode == 2);
        },
        {x});
}

TEST_CASE("a sum over an empty last axis is 0", "[autograd][reduce]") {
    { Tensor junk = Tensor::full({3}, 7.0f); }  // a recycled buffer may still hold old values
    Tensor s = sum(Tensor::zeros({3, 0}), -1);
    CHECK(s.shape() == Shape{3});
    test::require_close(s, {0, 0, 0});
    CHECK(sum(Tensor::zeros({0})).item() == 0.0f);
    REQUIRE_THROWS_WITH(mean(Tensor::zeros({3, 0}), -1), "[mean] mean over an empty last axis in shape (3, 0)");
}

TEST_CASE("reducing an axis other than the last names the axis and shape", "[autograd][reduce][errors]") {
    Tensor x = Tensor::ones({2, 3});
    REQUIRE_THROWS_WITH(sum(x, 0), "[sum] only the last axis can be reduced: axis 0 of shape (2, 3) (permute first)");
    REQUIRE_THROWS_WITH(mean(x, -2), "[mean] only the last axis can be reduced: axis -2 of shape (2, 3) (permute first)");
    REQUIRE_THROWS_WITH(sum(Tensor::scalar(1.0f), -1), "[sum] cannot reduce over an axis of a scalar");
    REQUIRE_THROWS_WITH(mean(Tensor::zeros({0})), "[mean] mean of an empty tensor of shape (0,)");
}
