// The GPT forward pass: embeddings -> blocks -> ln_f -> lm_head -> logits (-> loss).
#include "nn/gpt.h"

#include "autograd/ops.h"

#include <algorithm>
#include <cmath>

namespace bayun::nn {

BlockList::BlockList(const GPTConfig& config, Rng& dropout_rng) {
    for (int64_t l = 0; l < config.n_layer; ++l) {
        blocks.push_back(std::make_unique<Block>(config, dropout_rng));
        register_module(std::to_string(l), *blocks.back());
    }
}

Transformer::Transformer(const GPTConfig& config, Rng& dropout_rng)
    : wte(config.vocab_size, config.n_embd),
      wpe(config.block_size, config.n_embd),
      h(config, dropout_rng),
      ln_f(config.n_embd, config.bias) {
    register_module("wte", wte);
    register_module("wpe", wpe);
    register_module("h", h);
    register_module("ln_f", ln_f);
}

namespace {
const GPTConfig& validated(const GPTConfig& config) {
    config.validate();
    return config;
}
}  // namespace

GPT::GPT(const GPTConfig& config, uint64_t seed)
    : config_(validated(config)),
      dropout_rng_(seed ^ 0x5eedd50dULL),
      transformer(config_, dropout_rng_),
      lm_head(config_.n_embd, config_.vocab_size, /*bias=*/false) {
    register_module("transformer", transformer);
    if (config_.tie_weights) lm_head.tie_weight(transformer.wte.weight);  // one tensor, two names
    register_module("lm_head", lm_head);
    reset_parameters(seed);
}

void GPT::set_observer(Observer* observer, int layer) {
    Module::set_observer(observer, layer);
    for (int64_t l = 0; l < config_.n_layer; ++l) transformer.h.blocks[l]->set_observer(observer, static_cast<int>(l));
}

void GPT::reset_parameters(uint64_t seed) {
    Rng rng(seed);
    const float residual_std = 0.02f / std::sqrt(2.0f * static_cast<float>(config_.n_layer));
    for (NamedTensor& p : named_parameters()) {
        const std::string& name = p.name;
        const bool is_bias = name.ends_with(".bias");
        const bool is_norm = name.find(".ln_") != std::string::npos || name.find("ln_f.") != std::string::npos;
        if (is_bias) {
            std::fill(p.tensor.values().begin(), p.tensor.values().end(), 0.0f);
        } else if (is_norm) {
            std::fill(p.tensor.values().begin(), p.tensor.values().end(), 1.0f);
        } else {
            const float std = name.ends_with("c_proj.weight") ? residual_std : 0.02f;
            for (float& v : p.tensor.values()) v = std * rng.normal();
        }
        p.tensor.set_label(name);
    }
}

Tensor GPT::hidden_states(std::span<const int32_t> tokens, int64_t B, int64_t T, KvCache* cache) {
    if (B <= 0 || T <= 0 || static_cast<int64_t>(tokens.size()) != B * T)
        fail("gpt", "expected B x T = {} x {} token ids, found {}", B, T, tokens.size());
    const int64_t start = cache ? cache->length() : 0;  // position of the first token
    if (start + T > config_.block_size)
        fail("gpt", "{} positions exceed the context length {} (block_size): use at most the last {} tokens",
             start + T, config_.block_size, config_.block_size);

    // Embeddings: what each token is, plus where it is.
    std::vector<int32_t> positions(static_cast<size_t>(T));
    for (int64_t t = 0; t < T; ++t) positions[t] = static_cast<int32_t>(start + t);
    Tensor tok = transformer.wte.forward(tokens, {B, T});  // (B, T, C)
    Tensor pos = transformer.wpe.forward(positions, {T});  // (T, C), broadcast over the batch
    Tensor x = dropout(tok + pos, config_.dropout, is_training(), dropout_rng_);  // (B, T, C)
    observe("embeddings", x);

    // The blocks refine the residual stream, layer by layer.
    for (int64_t l = 0; l < config_.n_layer; ++l)
        x = transformer.h.blocks[l]->forward(x, cache ? &cache->layers[l] : nullptr);  // (B, T, C)

    x = transformer.ln_f.forward(x);  // (B, T, C)
    observe("ln_f", x);
    return x;
}

GPTOutput GPT::forward(std::span<const int32_t> tokens, int64_t B, int64_t T, std::span<const int32_t> targets,
                       KvCache* cache) {
    if (!targets.empty() && targets.size() != tokens.size())
        fail("gpt", "expected {} targets (one per token), found {}", tokens.size(), targets.size());
    GPTOutput out;
    out.logits = lm_head.forward(hidden_states(tokens, B, T, cache));  // (B, T, V)
    observe("logits", out.logits);
    if (!targets.empty()) out.loss = cross_entropy(out.logits, targets);
    return out;
}

Tensor GPT::last_logits(std::span<const int32_t> tokens, int64_t B, int64_t T, KvCache* cache) {
    NoGradGuard no_grad;
    Tensor hidden = hidden_states(tokens, B, T, cache);  // (B, T, C)
    const int64_t C = config_.n_embd;
    Tensor last = Tensor::empty({B, C});
    for (int64_t b = 0; b < B; ++b)
        std::copy_n(hidden.data() + (b * T + T - 1) * C, C, last.data() + b * C);
    return lm_head.forward(last);  // (B, V)
}

}  // namespace bayun::nn
