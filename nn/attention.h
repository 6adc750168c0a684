// MultiHeadAttention: causal self-attention, where each position gathers information from the positions
// before it. Q asks ("what am I looking for?"), K answers ("what do I contain?"), V carries the content.
// H heads each look at a D = C / H wide slice, so they can attend to different things; their outputs are
// concatenated and mixed by the output projection.
#pragma once

#include "nn/config.h"
#include "nn/kv_cache.h"
#include "nn/linear.h"

namespace bayun {
class Rng;
}

namespace bayun::nn {

class MultiHeadAttention : public Module {
public:
    MultiHeadAttention(const GPTConfig& config, Rng& dropout_rng);

    // x (B, T, C) -> (B, T, C). With a cache, x holds only the new positions and attends over the cache too.
    Tensor forward(const Tensor& x, LayerCache* cache = nullptr) const;

    Linear c_attn;  // (3C, C): Q, K and V projections fused into one matmul
    Linear c_proj;  // (C, C): mixes the concatenated heads back into the residual stream

private:
    // Steps 3-6 one small op at a time: split heads, scores, causal softmax, weighted sum, concatenation.
    // qkv (B, T, 3C) -> (B, T, C). The same result as the fused causal_attention, which forward uses
    // unless the reference kernels are on or an observer is watching.
    Tensor attend_step_by_step(const Tensor& qkv, const LayerCache* cache) const;

    int64_t n_head_;
    float dropout_;
    Rng& rng_;
};

}  // namespace bayun::nn
