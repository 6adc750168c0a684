// The learning-rate schedule (warm-up, cosine, floor, constant) and global gradient-norm clipping.
#include "train/schedule.h"

#include "support.h"

#include <cmath>

using namespace bayun;

namespace {
const LrSchedule nano{.lr = 6e-4f, .min_lr = 6e-5f, .warmup_iters = 100, .decay_iters = 5000, .decay = true};
}

TEST_CASE("warm-up rises linearly from lr / (warmup + 1) to lr", "[train][schedule]") {
    CHECK_THAT(learning_rate_at(nano, 0), WithinRel(6e-4 / 101, 1e-6));
    CHECK_THAT(learning_rate_at(nano, 49), WithinRel(6e-4 * 50 / 101, 1e-6));
    CHECK_THAT(learning_rate_at(nano, 99), WithinRel(6e-4 * 100 / 101, 1e-6));
    CHECK(learning_rate_at(nano, 100) == 6e-4f);  // the end of warm-up is the top of the cosine
}

TEST_CASE("cosine decay passes the midpoint halfway and reaches the floor at decay_iters", "[train][schedule]") {
    CHECK_THAT(learning_rate_at(nano, 2550), WithinRel((6e-4 + 6e-5) / 2, 1e-6));
    // A quarter of the way: coeff = (1 + cos(pi / 4)) / 2.
    CHECK_THAT(learning_rate_at(nano, 100 + 4900 / 4), WithinRel(6e-5 + (6e-4 - 6e-5) * (1 + std::sqrt(0.5)) / 2, 1e-6));
    CHECK_THAT(learning_rate_at(nano, 5000), WithinRel(6e-5, 1e-6));
    CHECK(learning_rate_at(nano, 5001) == 6e-5f);
    CHECK(learning_rate_at(nano, 1'000'000) == 6e-5f);
}

TEST_CASE("after warm-up the learning rate never increases", "[train][schedule]") {
    float previous = learning_rate_at(nano, 100);
    for (int64_t step = 101; step <= 5100; ++step) {
        const float lr = learning_rate_at(nano, step);
        REQUIRE(lr <= previous);
        previous = lr;
    }
}

TEST_CASE("a schedule without decay is constant, and warm-up 0 starts at the peak", "[train][schedule]") {
    const LrSchedule constant{.lr = 3e-4f, .decay = false};
    CHECK(learning_rate_at(constant, 0) == 3e-4f);
    CHECK(learning_rate_at(constant, 123456) == 3e-4f);
    const LrSchedule no_warmup{.lr = 1e-3f, .min_lr = 1e-4f, .warmup_iters = 0, .decay_iters = 10};
    CHECK(learning_rate_at(no_warmup, 0) == 1e-3f);
}

TEST_CASE("a schedule that cannot work says which numbers are wrong", "[train][schedule][errors]") {
    CHECK_THROWS_WITH(learning_rate_at({.warmup_iters = 100, .decay_iters = 100}, 0),
                      "[schedule] need 0 <= warmup_iters < decay_iters, found warmup_iters 100 and decay_iters 100 "
                      "(decay_iters is usually the total number of steps)");
    CHECK_THROWS_WITH(learning_rate_at({.lr = 1e-4f, .min_lr = 1e-3f}, 0),
                      "[schedule] min_lr must be in [0, lr], found min_lr 0.001 with lr 0.0001 (nanoGPT uses lr / 10)");
    CHECK_THROWS_WITH(learning_rate_at(nano, -1), "[schedule] step must be >= 0, found -1");
}

TEST_CASE("clip_grad_norm scales the global norm to exactly max_norm and returns the norm before", "[train][clip]") {
    std::vector<NamedTensor> params{{"a.weight", Tensor::zeros({1, 2}, true)}, {"a.bias", Tensor::zeros({1}, true)},
                                    {"frozen", Tensor::zeros({3})}};
    float* ga = params[0].tensor.grad_data();
    ga[0] = 3.0f;
    ga[1] = 0.0f;
    params[1].tensor.grad_data()[0] = 4.0f;  // global norm sqrt(9 + 16) = 5 across both tensors
    CHECK(clip_grad_norm(params, 1.0f) == 5.0f);
    CHECK(params[0].tensor.grad().to_vector() == std::vector<float>{0.6f, 0.0f});
    CHECK(params[1].tensor.grad().to_vector() == std::vector<float>{0.8f});
    CHECK_THAT(clip_grad_norm(params, 1.0f), WithinAbs(1.0, 1e-7));
    CHECK_FALSE(params[2].tensor.has_grad());  // no gradient, none made up
}

TEST_CASE("clip_grad_norm leaves small gradients alone and only measures when max_norm is 0", "[train][clip]") {
    std::vector<NamedTensor> params{{"w", Tensor::zeros({2}, true)}};
    params[0].tensor.grad_data()[0] = 0.3f;
    params[0].tensor.grad_data()[1] = 0.4f;
    CHECK_THAT(clip_grad_norm(params, 1.0f), WithinRel(0.5, 1e-7));
    CHECK(params[0].tensor.grad().to_vector() == std::vector<float>{0.3f, 0.4f});
    CHECK_THAT(clip_grad_norm(params, 0.0f), WithinRel(0.5, 1e-7));
    CHECK(params[0].tensor.grad().to_vector() == std::vector<float>{0.3f, 0.4f});
    CHECK_THROWS_WITH(clip_grad_norm(params, -1.0f),
                      "[clip_grad_norm] max_norm must be >= 0, found -1 (0 disables clipping)");
}

TEST_CASE("clip_grad_norm sums in double, and leaves non-finite gradients for the caller", "[train][clip]") {
    std::vector<NamedTensor> params{{"w", Tensor::zeros({2}, true)}};
    params[0].tensor.grad_data()[0] = 3e20f;  // its square overflows float, not double
    params[0].tensor.grad_data()[1] = 4e20f;
    CHECK_THAT(clip_grad_norm(params, 1.0f), WithinRel(5e20, 1e-6));
    CHECK_THAT(params[0].tensor.grad().at({0}), WithinRel(0.6f, 1e-6f));

    params[0].tensor.grad_data()[1] = INFINITY;
    CHECK(std::isinf(clip_grad_norm(params, 1.0f)));
    CHECK(std::isinf(params[0].tensor.grad().at({1})));
}

TEST_CASE("clipping a large random gradient lands on max_norm", "[train][clip]") {
    auto n = GENERATE(1, 7, (1 << 15) + 5);  // one element, an odd size, past the OpenMP threshold
    std::vector<NamedTensor> params{{"w", test::random_tensor({n}, 3, true)}};
    const Tensor values = test::random_tensor({n}, 4, false, 10.0f, 20.0f);
    std::copy(values.values().begin(), values.values().end(), params[0].tensor.grad_data());
    const float before = clip_grad_norm(params, 0.25f);
    CHECK(before > 0.25f);
    CHECK_THAT(clip_grad_norm(params, 0.0f), WithinRel(0.25, 1e-6));
}
