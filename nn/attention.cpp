// Multi-head causal self-attention, step by step. Shapes: B batch, T positions, C channels, H heads,
// D = C / H head size, Tk the number of keys (T, or more when a KV cache holds the past).
#include "nn/attention.h"

#include "autograd/kernels.h"
#include "autograd/ops.h"

#include <cmath>

namespace bayun::nn {

MultiHeadAttention::MultiHeadAttention(const GPTConfig& config, Rng& dropout_rng)
    : c_attn(config.n_embd, 3 * config.n_embd, config.bias),
      c_proj(config.n_embd, config.n_embd, config.bias),
      n_head_(config.n_head),
      dropout_(config.dropout),
      rng_(dropout_rng) {
    register_module("c_attn", c_attn);
    register_module("c_proj", c_proj);
}

Tensor MultiHeadAttention::forward(const Tensor& x, LayerCache* cache) const {
    observe("attn_input", x);  // what attention reads: ln_1(x) with pre-norm, the residual stream with post-norm

    // 1. One matmul computes the query, key and value of every position.
    Tensor qkv = c_attn.forward(x);  // (B, T, 3C) = [q | k | v]; head h owns channels [hD, (h+1)D) of each

    // 2. With a KV cache, store this step's keys and values; the new queries attend over every position so far.
    if (cache) cache->append(qkv);

    // 3-6. Each head: scores, causal softmax, weighted sum of the values. attend_step_by_step does it one
    //    op at a time (set BAYUN_REFERENCE_KERNELS=1 to step through it, or inspect the model); the fast
    //    path is the fused op causal_attention (autograd/ops_attention.cpp), the same maths in one pass.
    Tensor y;  // (B, T, C): the heads' outputs side by side
    if (reference_kernels() || observed()) {
        y = attend_step_by_step(qkv, cache);
    } else {
        y = causal_attention(qkv, n_head_, {.dropout = dropout_, .training = is_training(), .rng = &rng_,
                                            .cache_k = cache ? &cache->k : nullptr,
                                            .cache_v = cache ? &cache->v : nullptr,
                                            .kv_length = cache ? cache->length : 0});
    }
    observe("attn_concat", y);

    // 7. Mix the heads with the output projection.
    y = c_proj.forward(y);  // (B, T, C)
    observe("attn_proj", y);
    return dropout(y, dropout_, is_training(), rng_);
}

Tensor MultiHeadAttention::attend_step_by_step(const Tensor& qkv, const LayerCache* cache) const {
    const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3;
    const int64_t H = n_head_, D = C / H;

    // 3. Cut q, k and v apart, and cut their C channels into H heads of D channels each.
    std::vector<Tensor> qkv_parts = split(qkv, {C, C, C});  // 3 x (B, T, C)
    const auto split_heads = [&](const Tensor& t) {
        return permute(reshape(t, {B, T, H, D}), {0, 2, 1, 3});  // (B, T, C) -> (B, T, H, D) -> (B, H, T, D)
    };
    Tensor q = split_heads(qkv_parts[0]);  // (B, H, T, D)
    Tensor k = split_heads(qkv_parts[1]);  // (B, H, T, D)
    Tensor v = split_heads(qkv_parts[2]);  // (B, H, T, D)
    observe("q", q);
    observe("k", k);
    observe("v", v);
    if (cache) std::tie(k, v) = cache->keys_values();  // every position so far: (B, H, Tk, D) each

    // 4. Scores: how well each query matches each key, scaled by 1/sqrt(D) so softmax does not saturate.
    Tensor scores = matmul(q, transpose(k)) * (1.0f / std::sqrt(static_cast<float>(D)));  // (B, H, T, Tk)

    // 5. Causal softmax: weights over the keys that sum to 1; the future gets weight 0.
    Tensor weights = softmax(scores, /*causal=*/true);  // (B, H, T, Tk)
    observe("attn_weights", weights);
    weights = dropout(weights, dropout_, is_training(), rng_);

    // 6. Each query's output is the weighted sum of the values it attends to.
    Tensor heads = matmul(weights, v);  // (B, H, T, D)

    // Concatenate the heads back into C channels.
    return reshape(permute(heads, {0, 2, 1, 3}), {B, T, C});  // (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
}

}  // namespace bayun::nn
