// cross_entropy: fused log-softmax + negative log-likelihood, mean over rows whose target is not ignore_index.
#include "ops_testing.h"

#include <cmath>

using namespace bayun;

TEST_CASE("cross_entropy of uniform logits is log V", "[autograd][loss]") {
    Tensor logits = Tensor::zeros({2, 4}, true);
    const std::vector<int32_t> targets{1, 3};
    Tensor loss = cross_entropy(logits, targets);
    CHECK(loss.dim() == 0);
    CHECK_THAT(loss.item(), WithinRel(std::log(4.0f), 1e-6f));
    loss.backward();
    // (softmax - one_hot) / rows
    test::require_close(logits.grad(), {0.125f, -0.375f, 0.125f, 0.125f, 0.125f, 0.125f, 0.125f, -0.375f});
}

TEST_CASE("cross_entropy is minus the log-probability of the target, averaged", "[autograd][loss]") {
    // probabilities 1/6, 2/6, 3/6 in both rows; targets 2 and 0: (ln 2 + ln 6) / 2
    Tensor logits = Tensor::from({0, std::log(2.0f), std::log(3.0f), 10, 10 + std::log(2.0f), 10 + std::log(3.0f)},
                                 {2, 3});
    const std::vector<int32_t> targets{2, 0};
    CHECK_THAT(cross_entropy(logits, targets).item(), WithinRel((std::log(2.0f) + std::log(6.0f)) / 2, 1e-5f));
}

TEST_CASE("cross_entropy equals the mean of the picked log_softmax values", "[autograd][loss]") {
    Tensor logits = test::random_tensor({2, 3, 7}, 81, false, -3, 3);
    const std::vector<int32_t> targets{0, 6, 3, 3, 1, 5};
    Tensor logp = log_softmax(logits);
    double total = 0.0;
    for (int64_t r = 0; r < 6; ++r) total -= logp.data()[r * 7 + targets[r]];
    CHECK_THAT(cross_entropy(logits, targets).item(), WithinRel(total / 6, 1e-5));
}

TEST_CASE("rows whose target is ignore_index count for nothing", "[autograd][loss]") {
    Tensor logits = Tensor::from({0, 0, 0, 0, 5, -3, 2, 7}, {2, 4}, true);
    const std::vector<int32_t> targets{1, ignore_index};
    Tensor loss = cross_entropy(logits, targets);
    CHECK_THAT(loss.item(), WithinRel(std::log(4.0f), 1e-6f));  // the mean is over the 1 counted row
    loss.backward();
    test::require_close(logits.grad(), {0.25f, -0.75f, 0.25f, 0.25f, 0, 0, 0, 0});
}

TEST_CASE("cross_entropy with every target ignored is 0 with a zero gradient", "[autograd][loss]") {
    Tensor logits = test::random_tensor({3, 5}, 82);
    const std::vector<int32_t> targets{ignore_index, ignore_index, ignore_index};
    Tensor loss = cross_entropy(logits, targets);
    CHECK(loss.item() == 0.0f);
    loss.backward();
    CHECK(std::isfinite(logits.grad().values()[0]));
    test::require_close(logits.grad(), std::vector<float>(15, 0.0f));
}

TEST_CASE("cross_entropy stays finite for extreme logits", "[autograd][loss]") {
    Tensor logits = Tensor::from({1000, -1000, 0, -1000, 1000, 0}, {2, 3}, true);
    const std::vector<int32_t> targets{0, 0};
    Tensor loss = cross_entropy(logits, targets);
    CHECK_THAT(loss.item(), WithinRel(1000.0f, 1e-6f));  // (0 + 2000) / 2
    loss.backward();
    test::require_close(logits.grad(), {0, 0, 0, -0.5f, 0.5f, 0});
}

TEST_CASE("cross_entropy backward matches finite differences", "[autograd][loss]") {
    const Shape shape = GENERATE(Shape{1, 1}, Shape{1, 3}, Shape{7, 5}, Shape{2, 3, 17}, Shape{5, 33});
    INFO("logits " << shape_str(shape));
    const int64_t V = shape.back();
    const int64_t rows = shape_numel(shape) / V;
    std::vector<int32_t> targets;
    for (int64_t r = 0; r < rows; ++r)  // every third row ignored, when there are more rows than one
        targets.push_back(rows > 1 && r % 3 == 1 ? ignore_index : static_cast<int32_t>((r * 7 + 2) % V));
    Tensor logits = test::random_tensor(shape, 83, true, -2, 2);
    test::require_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], targets); }, {logits});
    // A scaled loss scales the gradient: dout reaches the logits.
    test::require_gradcheck([&](const std::vector<Tensor>& in) { return mul(cross_entropy(in[0], targets), 3.0f); },
                            {logits});
}

TEST_CASE("cross_entropy fast kernels agree with the reference loops", "[autograd][loss][kernels]") {
    // 3 x 40 x 150 = 18,000 logits: above the 16,384 at which rows are spread over threads.
    Tensor logits = test::random_tensor({3, 40, 150}, 84, true, -3, 3);
    std::vector<int32_t> targets;
    for (int32_t r = 0; r < 120; ++r) targets.push_back(r % 5 == 0 ? ignore_index : (r * 37) % 150);
    test::require_kernels_agree([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], targets); },
                                {logits});
}

TEST_CASE("cross_entropy errors name the logits shape and the bad target", "[autograd][loss][errors]") {
    Tensor logits = Tensor::zeros({2, 5});
    const std::vector<int32_t> three{0, 1, 2};
    REQUIRE_THROWS_WITH(cross_entropy(logits, three),
                        "[cross_entropy] 3 targets for logits (2, 5) (expected one per row: 2)");
    const std::vector<int32_t> too_big{0, 5};
    REQUIRE_THROWS_WITH(cross_entropy(logits, too_big), "[cross_entropy] target 5 is outside the vocabulary [0, 5)");
    const std::vector<int32_t> negative{-2, 0};
    REQUIRE_THROWS_WITH(cross_entropy(logits, negative),
                        "[cross_entropy] target -2 is outside the vocabulary [0, 5)");
    const std::vector<int32_t> none;
    REQUIRE_THROWS_WITH(cross_entropy(Tensor::scalar(1.0f), none),
                        "[cross_entropy] logits must be (..., V), found a scalar");
}
