// GPT: the whole model. Token ids become vectors (wte) plus their position's vector (wpe); L blocks
// refine this residual stream (the hidden state); a final layer norm (ln_f) and the language-model head
// (lm_head, tied to wte by default) turn each position's hidden state into logits over the vocabulary:
// scores for what comes next. Parameter names follow nanoGPT's model.py, so checkpoints map 1:1.
#pragma once

#include "autograd/rng.h"
#include "nn/block.h"
#include "nn/config.h"
#include "nn/embedding.h"
#include "nn/kv_cache.h"

#include <memory>
#include <span>
#include <vector>

namespace bayun::nn {

struct GPTOutput {
    Tensor logits;  // (B, T, V)
    Tensor loss;    // scalar mean cross-entropy; undefined when no targets were given
};

// nanoGPT's `transformer.h`: the blocks, registered as "0", "1", ...
class BlockList : public Module {
public:
    BlockList(const GPTConfig& config, Rng& dropout_rng);
    std::vector<std::unique_ptr<Block>> blocks;
};

// nanoGPT's `transformer` ModuleDict.
class Transformer : public Module {
public:
    Transformer(const GPTConfig& config, Rng& dropout_rng);
    Embedding wte;  // (V, C) token embeddings
    Embedding wpe;  // (T_max, C) position embeddings
    BlockList h;    // L blocks
    LayerNorm ln_f; // the final layer norm
};

class GPT : public Module {
public:
    explicit GPT(const GPTConfig& config, uint64_t seed = 1337);

    // tokens (B, T) row-major; targets (B, T) or empty. With a cache, tokens are the new positions only.
    GPTOutput forward(std::span<const int32_t> tokens, int64_t B, int64_t T, std::span<const int32_t> targets = {},
                      KvCache* cache = nullptr);

    // The hidden state after ln_f: (B, T, C). forward() applies lm_head to it.
    Tensor hidden_states(std::span<const int32_t> tokens, int64_t B, int64_t T, KvCache* cache = nullptr);

    // Logits of the last position only, (B, V), without a graph: what sampling needs.
    Tensor last_logits(std::span<const int32_t> tokens, int64_t B, int64_t T, KvCache* cache = nullptr);

    // GPT-2 initialisation: weights normal(0, 0.02), residual projections (c_proj) scaled by
    // 1/sqrt(2 L), biases 0, layer-norm weights 1. Seeded, so reproducible.
    void reset_parameters(uint64_t seed);

    // Attaches an observer to every module; block l reports with layer = l.
    void set_observer(Observer* observer, int layer = -1) override;

    const GPTConfig& config() const { return config_; }
    Rng& dropout_rng() { return dropout_rng_; }  // its state goes into checkpoints, for exact resume

private:
    GPTConfig config_;
    Rng dropout_rng_;  // declared before the modules, which keep a reference to it

public:
    Transformer transformer;
    Linear lm_head;  // (V, C); its weight is transformer.wte.weight when tied
};

}  // namespace bayun::nn
