// The sampler's pure functions on crafted distributions.
#include "infer/sampler.h"
#include "support.h"

#include <cmath>

using namespace bayun;

TEST_CASE("greedy picks the largest logit", "[infer][sampler]") {
    const std::vector<float> logits{0.1f, 2.0f, -1.0f, 1.9f};
    SamplerOptions o;
    o.greedy = true;
    CHECK(choose_token(logits, {}, o, 0.99f) == 1);
}

TEST_CASE("top-k = 1 equals greedy whatever the random number", "[infer][sampler]") {
    const std::vector<float> logits{0.3f, -0.2f, 1.5f, 1.4f, 0.0f};
    SamplerOptions o;
    o.top_k = 1;
    for (float u : {0.0f, 0.3f, 0.7f, 0.999f}) CHECK(choose_token(logits, {}, o, u) == 2);
}

TEST_CASE("top-k keeps the k most likely tokens and renormalises", "[infer][sampler]") {
    std::vector<float> probs{0.1f, 0.4f, 0.2f, 0.3f};
    filter_top_k(probs, 2);
    CHECK_THAT(probs[0], WithinAbs(0.0, 1e-7));
    CHECK_THAT(probs[1], WithinAbs(0.4 / 0.7, 1e-6));
    CHECK_THAT(probs[2], WithinAbs(0.0, 1e-7));
    CHECK_THAT(probs[3], WithinAbs(0.3 / 0.7, 1e-6));
}

TEST_CASE("top-p keeps the smallest set whose probability reaches p", "[infer][sampler]") {
    std::vector<float> probs{0.05f, 0.5f, 0.15f, 0.3f};
    filter_top_p(probs, 0.75f);  // 0.5 + 0.3 = 0.8 >= 0.75: keep ids 1 and 3
    CHECK(probs[0] == 0.0f);
    CHECK(probs[2] == 0.0f);
    CHECK_THAT(probs[1], WithinAbs(0.5 / 0.8, 1e-6));
    CHECK_THAT(probs[3], WithinAbs(0.3 / 0.8, 1e-6));
    std::vector<float> exact{0.5f, 0.5f};
    filter_top_p(exact, 0.5f);  // the first token alone reaches p
    CHECK(exact[1] == 0.0f);
}

TEST_CASE("min-p drops tokens less likely than min_p times the top one", "[infer][sampler]") {
    std::vector<float> probs{0.5f, 0.3f, 0.1f, 0.1f};
    filter_min_p(probs, 0.4f);  // threshold 0.2: keep 0.5 and 0.3
    CHECK(probs[2] == 0.0f);
    CHECK(probs[3] == 0.0f);
    CHECK_THAT(probs[0], WithinAbs(0.625, 1e-6));
}

TEST_CASE("temperature sharpens below 1 and flattens above 1", "[infer][sampler]") {
    const std::vector<float> logits{1.0f, 0.0f};
    const float p1 = softmax_with_temperature(logits, 1.0f)[0];
    CHECK_THAT(p1, WithinAbs(1.0 / (1.0 + std::exp(-1.0)), 1e-6));
    CHECK(softmax_with_temperature(logits, 0.5f)[0] > p1);
    CHECK(softmax_with_temperature(logits, 2.0f)[0] < p1);
}

TEST_CASE("the draw follows the cumulative distribution", "[infer][sampler]") {
    const std::vector<float> probs{0.2f, 0.0f, 0.5f, 0.3f};
    CHECK(sample_from(probs, 0.0f) == 0);
    CHECK(sample_from(probs, 0.19f) == 0);
    CHECK(sample_from(probs, 0.21f) == 2);
    CHECK(sample_from(probs, 0.69f) == 2);
    CHECK(sample_from(probs, 0.71f) == 3);
    CHECK(sample_from(probs, 0.99999f) == 3);
}

TEST_CASE("the repetition penalty lowers tokens already seen", "[infer][sampler]") {
    std::vector<float> logits{2.0f, -1.0f, 1.0f};
    const std::vector<int32_t> recent{0, 1};
    apply_repetition_penalty(logits, recent, 2.0f);
    CHECK(logits[0] == 1.0f);
    CHECK(logits[1] == -2.0f);
    CHECK(logits[2] == 1.0f);
}

TEST_CASE("bad sampler settings are clear errors", "[infer][sampler][errors]") {
    SamplerOptions o;
    o.top_p = 1.5f;
    REQUIRE_THROWS_WITH(validate(o), "[sampler] top-p must be in (0, 1], found 1.5");
    o = {};
    o.temperature = 0.0f;
    REQUIRE_THROWS_WITH(validate(o), "[sampler] temperature must be > 0, found 0 (use --greedy for 0)");
}
