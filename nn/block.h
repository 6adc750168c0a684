// Block: one transformer layer. Attention lets positions talk to each other; the FFN thinks about each
// position alone. Each is a residual branch: its output is added to the residual stream (the hidden
// state), with layer norm before the branch (pre-norm, GPT-2) or after the addition (post-norm, the
// original "Attention is all you need" diagram).
#pragma once

#include "nn/attention.h"
#include "nn/feed_forward.h"
#include "nn/layer_norm.h"

namespace bayun::nn {

class Block : public Module {
public:
    Block(const GPTConfig& config, Rng& dropout_rng);
    Tensor forward(const Tensor& x, LayerCache* cache = nullptr) const;  // (B, T, C) -> (B, T, C)

    LayerNorm ln_1;
    MultiHeadAttention attn;
    LayerNorm ln_2;
    FeedForward mlp;

private:
    NormPlacement norm_;
};

}  // namespace bayun::nn
