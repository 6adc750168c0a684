// dropout: a seeded mask that zeroes with probability p and scales survivors by 1/(1-p); identity in eval.
#include "ops_testing.h"

#include <cmath>

using namespace bayun;

TEST_CASE("dropout in evaluation is the identity and draws no random numbers", "[autograd][dropout]") {
    Tensor x = test::random_tensor({3, 7}, 121);
    Rng rng(5);
    const auto state = rng.state();
    Tensor y = dropout(x, 0.5f, false, rng);
    CHECK(y.same(x));
    CHECK(rng.state() == state);
    Tensor z = dropout(x, 0.0f, true, rng);  // p = 0 while training: also the identity
    CHECK(z.same(x));
    CHECK(rng.state() == state);
}

TEST_CASE("dropout zeroes about p of the values and scales the rest by 1/(1-p)", "[autograd][dropout]") {
    const float p = GENERATE(0.1f, 0.25f, 0.5f, 0.9f);
    INFO("p " << p);
    Tensor x = test::away_from_zero({100, 100}, 122);
    Rng rng(6);
    Tensor y = dropout(x, p, true, rng);
    int64_t zeros = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
        if (y.data()[i] == 0.0f) ++zeros;
        else CHECK(y.data()[i] == x.data()[i] * (1.0f / (1.0f - p)));
    }
    // 10,000 Bernoulli draws: the standard deviation of the fraction is at most 0.005.
    CHECK_THAT(static_cast<double>(zeros) / 10000.0, WithinAbs(p, 0.02));
    // The expected value is unchanged.
    Tensor ones = Tensor::ones({100, 100});
    CHECK_THAT(mean(dropout(ones, p, true, rng)).item(), WithinAbs(1.0, 0.06));
}

TEST_CASE("dropout is reproducible for a seed and differs across seeds", "[autograd][dropout]") {
    Tensor x = Tensor::ones({64});
    Rng a(7), b(7), c(8);
    const std::vector<float> ya = dropout(x, 0.5f, true, a).to_vector();
    CHECK(ya == dropout(x, 0.5f, true, b).to_vector());
    CHECK(ya != dropout(x, 0.5f, true, c).to_vector());
    CHECK(ya != dropout(x, 0.5f, true, a).to_vector());  // the next call draws a new mask
}

TEST_CASE("dropout's gradient uses the same mask as its forward", "[autograd][dropout]") {
    Tensor x = test::away_from_zero({5, 40}, 123);
    Rng rng(9);
    Tensor y = dropout(x, 0.3f, true, rng);
    Tensor kept = y.detach().clone();
    sum(y).backward();
    int64_t dropped = 0;
    for (int64_t i = 0; i < x.numel(); ++i) {
        const float g = x.grad().data()[i];
        if (kept.data()[i] == 0.0f) {
            ++dropped;
            CHECK(g == 0.0f);
        } else {
            CHECK(g == 1.0f / (1.0f - 0.3f));
        }
    }
    CHECK(dropped > 0);
    CHECK(dropped < x.numel());
}

TEST_CASE("dropout backward matches finite differences for a fixed mask", "[autograd][dropout]") {
    const Shape shape = GENERATE(Shape{1}, Shape{7, 3}, Shape{2, 3, 17});
    INFO("x " << shape_str(shape));
    Tensor x = test::random_tensor(shape, 124);
    // A fresh Rng with the same seed in every call: the finite differences see the same mask as backward.
    test::require_gradcheck(
        [](const std::vector<Tensor>& in) {
            Rng rng(10);
            return dropout(in[0], 0.4f, true, rng);
        },
        {x});
}

TEST_CASE("dropout rejects a probability that is negative, 1 or more, or NaN", "[autograd][dropout][errors]") {
    Rng rng(1);
    Tensor x = Tensor::ones({2});
    REQUIRE_THROWS_WITH(dropout(x, 1.0f, true, rng), "[dropout] probability must be in [0, 1), found 1");
    REQUIRE_THROWS_WITH(dropout(x, -0.1f, true, rng), "[dropout] probability must be in [0, 1), found -0.1");
    REQUIRE_THROWS_AS(dropout(x, std::nanf(""), false, rng), Error);
}
