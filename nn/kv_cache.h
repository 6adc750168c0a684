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
    // (B, H, T_max, D) each, PyTorch's layout: row t of head h's (T_max, D) matrix is the key (value) of
    // position t, as c_attn computed it. A head's keys and values are contiguous blocks, so attention reads
    // them in one stream and each thread of a decode step touches only its own heads' memory.
    // Attention reads the first `length` rows in place.
    Tensor k, v;
    int64_t length = 0;  // positions filled so far

    // Copies the keys and values of new positions, from qkv (B, T_new, 3C) = [q | k | v], into rows
    // [length, length + T_new) of every head, and advances length.
    void append(const Tensor& qkv);

    // Copies of every cached key and value: (B, H, length, D) each (the step-by-step path).
    std::pair<Tensor, Tensor> keys_values() const;
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
