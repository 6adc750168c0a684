// KvCache: during generation, the keys and values of every position processed so far, per layer, so
// that decoding step `pos` computes Q, K, V for the new token only and attends over the cache (llama2.c's
// key_cache / value_cache). It lives in nn/ because MultiHeadAttention writes into it; infer/ drives it.
#pragma once

#include "autograd/tensor.h"
#include "nn/config.h"

#include <utility>
#include <vector>

namespace bayun::nn {

struct LayerCache {
    // (B, T_max, 2C): row t of sequence b is [k | v] of position t, every head's D channels side by side,
    // exactly as c_attn computed them. Attention reads the first `length` rows in place.
    Tensor kv;
    int64_t length = 0;  // positions filled so far

    // Copies the keys and values of new positions, the last 2C channels of qkv (B, T_new, 3C), into rows
    // [length, length + T_new), and advances length.
    void append(const Tensor& qkv);

    // Copies of every cached key and value, split into heads: (B, H, length, D) each (the step-by-step path).
    std::pair<Tensor, Tensor> keys_values(int64_t n_head) const;
};

class KvCache {
public:
    KvCache(const GPTConfig& config, int64_t batch, int64_t max_positions);

    int64_t length() const { return layers.empty() ? 0 : layers[0].length; }  // positions held
    int64_t capacity() const { return capacity_; }                            // T_max
    void clear();
    int64_t bytes() const;  // memory of keys and values

    std::vector<LayerCache> layers;  // one per block

private:
    int64_t capacity_;
};

}  // namespace bayun::nn
