// A transformer block: attention and FFN, each with a residual connection and a layer norm.
#include "nn/block.h"

#include "autograd/ops.h"

namespace bayun::nn {

Block::Block(const GPTConfig& config, Rng& dropout_rng)
    : ln_1(config.n_embd, config.bias),
      attn(config, dropout_rng),
      ln_2(config.n_embd, config.bias),
      mlp(config, dropout_rng),
      norm_(config.norm) {
    register_module("ln_1", ln_1);
    register_module("attn", attn);
    register_module("ln_2", ln_2);
    register_module("mlp", mlp);
}

Tensor Block::forward(const Tensor& x, LayerCache* cache) const {
    Tensor h;
    if (norm_ == NormPlacement::pre) {
        h = x + attn.forward(ln_1.forward(x), cache);  // residual + attention(norm(x))
        observe("residual_attn", h);
        h = h + mlp.forward(ln_2.forward(h));          // residual + FFN(norm(h))
    } else {
        h = ln_1.forward(x + attn.forward(x, cache));  // norm(residual + attention(x))
        observe("residual_attn", h);
        h = ln_2.forward(h + mlp.forward(h));          // norm(residual + FFN(h))
    }
    observe("residual_mlp", h);
    return h;  // (B, T, C): the hidden state after this layer
}

}  // namespace bayun::nn
