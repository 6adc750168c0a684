// The position-wise feed-forward network: expand, activate, narrow.
#include "nn/feed_forward.h"

#include "autograd/ops.h"

namespace bayun::nn {

FeedForward::FeedForward(const GPTConfig& config, Rng& dropout_rng)
    : c_fc(config.n_embd, 4 * config.n_embd, config.bias),
      c_proj(4 * config.n_embd, config.n_embd, config.bias),
      activation_(config.activation),
      dropout_(config.dropout),
      rng_(dropout_rng) {
    register_module("c_fc", c_fc);
    register_module("c_proj", c_proj);
}

Tensor FeedForward::forward(const Tensor& x) const {
    observe("mlp_input", x);  // what the FFN reads: ln_2(h) with pre-norm, the residual stream with post-norm
    Tensor h = c_fc.forward(x);  // (B, T, 4C): expand
    observe("mlp_expand", h);
    h = activation_ == Activation::gelu ? gelu(h) : relu(h);  // (B, T, 4C): the non-linearity
    observe("mlp_activation", h);
    h = c_proj.forward(h);  // (B, T, C): narrow back
    observe("mlp_output", h);
    return dropout(h, dropout_, is_training(), rng_);
}

}  // namespace bayun::nn
