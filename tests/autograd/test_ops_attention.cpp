// The fused causal attention op: the same values and gradients as the composition of small ops it replaces
// (split, heads, Q K^T, scale, causal softmax, P V, concatenation), finite differences with and without
// dropout, fast and reference kernels alike, and the KV-cache path equal to attending over all positions.
#include "ops_testing.h"

#include <algorithm>
#include <cmath>

using namespace bayun;
using namespace bayun::test;

namespace {

// Attention one op at a time, as nn/attention.cpp's attend_step_by_step spells it out.
Tensor attention_by_ops(const Tensor& qkv, int64_t H) {
    const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3, D = C / H;
    std::vector<Tensor> parts = split(qkv, {C, C, C});
    const auto heads = [&](const Tensor& t) { return permute(reshape(t, {B, T, H, D}), {0, 2, 1, 3}); };
    Tensor scores = matmul(heads(parts[0]), transpose(heads(parts[1]))) * (1.0f / std::sqrt(static_cast<float>(D)));
    Tensor out = matmul(softmax(scores, true), heads(parts[2]));
    return reshape(permute(out, {0, 2, 1, 3}), {B, T, C});
}

}  // namespace

TEST_CASE("causal_attention equals attention composed of small ops, values and gradients",
          "[autograd][attention]") {
    // T = 70 and 130 cross the 64-query blocks that skip the future; T = 45 crosses the 32-query blocks
    // of a sequence of at most 64 positions.
    const auto [B, T, H, D] = GENERATE(table<int64_t, int64_t, int64_t, int64_t>(
        {{1, 1, 1, 4}, {2, 5, 2, 3}, {2, 45, 2, 8}, {2, 70, 4, 8}, {1, 130, 2, 16}}));
    INFO("B " << B << " T " << T << " H " << H << " D " << D);
    const Tensor qkv = random_tensor({B, T, 3 * H * D}, 21);
    const ForwardBackward fused = forward_backward([&](const auto& in) { return causal_attention(in[0], H); }, {qkv});
    const ForwardBackward ops = forward_backward([&](const auto& in) { return attention_by_ops(in[0], H); }, {qkv});
    require_close(fused.out, ops.out, 1e-5, 1e-6, "output");
    require_close(fused.grads[0], ops.grads[0], 1e-4, 1e-6, "gradient of qkv");
}

TEST_CASE("causal_attention passes gradcheck, with and without dropout", "[autograd][attention][gradcheck]") {
    const float p = GENERATE(0.0f, 0.3f);
    INFO("dropout " << p);
    const Tensor qkv = away_from_zero({2, 6, 3 * 2 * 3}, 22);
    // A fresh Rng per evaluation: every finite-difference evaluation sees the same dropout mask.
    require_gradcheck(
        [&](const std::vector<Tensor>& in) {
            Rng rng(5);
            return causal_attention(in[0], 2, {.dropout = p, .training = true, .rng = &rng});
        },
        {qkv});
}

TEST_CASE("causal_attention: fast and reference kernels agree", "[autograd][attention][kernels]") {
    const Tensor qkv = random_tensor({2, 67, 3 * 4 * 8}, 23);
    require_kernels_agree([](const auto& in) { return causal_attention(in[0], 4); }, {qkv}, 1e-5, 1e-6);
}

TEST_CASE("causal_attention with dropout drops weights, not rows, and is the identity in eval",
          "[autograd][attention][dropout]") {
    const Tensor qkv = random_tensor({1, 40, 3 * 2 * 4}, 24, false);
    Rng rng(6);
    Tensor weights;
    const Tensor eval = causal_attention(qkv, 2, {.dropout = 0.5f, .training = false, .rng = &rng, .weights = &weights});
    require_close(eval, causal_attention(qkv, 2), 0, 0, "eval ignores dropout");
    for (int64_t row = 0; row < 2 * 40; ++row) {  // the weights: rows sum to 1, the future is 0
        double total = 0;
        for (int64_t j = 0; j < 40; ++j) {
            const float w = weights.data()[row * 40 + j];
            if (j > row % 40) CHECK(w == 0.0f);
            total += w;
        }
        CHECK(total == Approx(1.0).epsilon(1e-5));
    }
    const Tensor dropped = causal_attention(qkv, 2, {.dropout = 0.5f, .training = true, .rng = &rng});
    const auto a = dropped.values(), b = eval.values();
    CHECK_FALSE(std::equal(a.begin(), a.end(), b.begin()));
}

TEST_CASE("causal_attention over a KV cache equals attention over all positions at once", "[autograd][attention]") {
    const int64_t B = 2, T = 9, H = 2, D = 4, C = H * D, T_max = 12;
    const Tensor qkv = random_tensor({B, T, 3 * C}, 25, false);
    const Tensor all = causal_attention(qkv, H);
    // Feed the positions in chunks of 4, 1, 4; the cache holds each head's keys and values, (B, H, T_max, D).
    Tensor cache_k = Tensor::zeros({B, H, T_max, D}), cache_v = Tensor::zeros({B, H, T_max, D});
    int64_t length = 0;
    for (const int64_t chunk : {4, 1, 4}) {
        Tensor part = Tensor::empty({B, chunk, 3 * C});
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < chunk; ++t)
                for (int64_t c = 0; c < 3 * C; ++c) {
                    const float value = qkv.data()[(b * T + length + t) * 3 * C + c];
                    part.data()[(b * chunk + t) * 3 * C + c] = value;
                    const int64_t h = c % C / D, d = c % D;  // channel c of the k or v part: head h, dimension d
                    const int64_t at = ((b * H + h) * T_max + length + t) * D + d;
                    if (c >= 2 * C) cache_v.data()[at] = value;
                    else if (c >= C) cache_k.data()[at] = value;
                }
        length += chunk;
        const Tensor out =
            causal_attention(part, H, {.cache_k = &cache_k, .cache_v = &cache_v, .kv_length = length});
        for (int64_t b = 0; b < B; ++b)
            for (int64_t t = 0; t < chunk; ++t)
                for (int64_t c = 0; c < C; ++c)
                    CHECK(out.data()[(b * chunk + t) * C + c] ==
                          Approx(all.data()[(b * T + length - chunk + t) * C + c]).margin(1e-6));
    }
}

TEST_CASE("causal_attention names what does not fit", "[autograd][attention][errors]") {
    REQUIRE_THROWS_WITH(causal_attention(Tensor::zeros({2, 3, 10}), 2),
                        Catch::Contains("expected qkv (B, T, 3C) with C divisible by the 2 heads, found (2, 3, 10)"));
    const Tensor cache = Tensor::zeros({1, 2, 4, 2});  // (B, H, T_max, D) for qkv (1, T, 12) with 2 heads
    REQUIRE_THROWS_WITH(causal_attention(Tensor::zeros({1, 2, 12}), 2,
                                         {.cache_k = &cache, .cache_v = &cache, .kv_length = 5}),
                        Catch::Contains("the KV cache (1, 2, 4, 2) holding 5 positions does not fit qkv (1, 2, 12) "
                                        "with 2 heads"));
    const Tensor wrong = Tensor::zeros({1, 4, 8});
    REQUIRE_THROWS_WITH(causal_attention(Tensor::zeros({1, 2, 12}), 2,
                                         {.cache_k = &wrong, .cache_v = &wrong, .kv_length = 2}),
                        Catch::Contains("the KV cache (1, 4, 8) holding 2 positions does not fit"));
    const Tensor needs_grad = random_tensor({1, 2, 12}, 26);
    REQUIRE_THROWS_WITH(causal_attention(needs_grad, 2, {.cache_k = &cache, .cache_v = &cache, .kv_length = 2}),
                        Catch::Contains("the KV cache is for inference"));
}
