// Multi-head causal self-attention, step by step. Shapes: B batch, T positions, C channels, H heads,
// D = C / H head size, Tk the number of keys (T, or more when a KV cache holds the past).
#include "nn/attention.h"

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
    const int64_t B = x.size(0), T = x.size(1), C = x.size(2);
    const int64_t H = n_head_, D = C / H;
    observe("attn_input", x);  // what attention reads: ln_1(x) with pre-norm, the residual stream with post-norm

    // 1. One matmul computes the query, key and value of every position.
    Tensor qkv = c_attn.forward(x);                          // (B, T, 3C)
    std::vector<Tensor> qkv_parts = split(qkv, {C, C, C});   // 3 x (B, T, C)

    // 2. Cut the C channels into H heads of D channels; each head works on its own slice.
    const auto split_heads = [&](const Tensor& t) {
        return permute(reshape(t, {B, T, H, D}), {0, 2, 1, 3});  // (B, T, C) -> (B, T, H, D) -> (B, H, T, D)
    };
    Tensor q = split_heads(qkv_parts[0]);  // (B, H, T, D)
    Tensor k = split_heads(qkv_parts[1]);  // (B, H, T, D)
    Tensor v = split_heads(qkv_parts[2]);  // (B, H, T, D)
    observe("q", q);
    observe("k", k);
    observe("v", v);

    // 3. With a KV cache, store this step's keys and values and attend over every position so far.
    if (cache) std::tie(k, v) = cache->append(k, v);  // (B, H, Tk, D) each

    // 4. Scores: how well each query matches each key, scaled by 1/sqrt(D) so softmax does not saturate.
    Tensor scores = matmul(q, transpose(k)) * (1.0f / std::sqrt(static_cast<float>(D)));  // (B, H, T, Tk)

    // 5. Causal softmax: weights over the keys that sum to 1; the future gets weight 0.
    Tensor weights = softmax(scores, /*causal=*/true);  // (B, H, T, Tk)
    observe("attn_weights", weights);
    weights = dropout(weights, dropout_, is_training(), rng_);

    // 6. Each query's output is the weighted sum of the values it attends to.
    Tensor heads = matmul(weights, v);  // (B, H, T, D)

    // 7. Concatenate the heads back into C channels, then mix them with the output projection.
    Tensor y = reshape(permute(heads, {0, 2, 1, 3}), {B, T, C});  // (B, H, T, D) -> (B, T, H, D) -> (B, T, C)
    observe("attn_concat", y);
    y = c_proj.forward(y);  // (B, T, C)
    observe("attn_proj", y);
    return dropout(y, dropout_, is_training(), rng_);
}

}  // namespace bayun::nn
