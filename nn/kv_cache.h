// KvCache: during generation, the keys and values of every position processed so far, per layer, so
// that decoding step `pos` computes Q, K, V for the new token only and attends over the cache (llama2.c's
// key_cache / value_cache). It lives in nn/ because MultiHeadAttention writes into it; infer/ drives it.
#pragma once

#include "autograd/tensor.h"
#include "nn/config.h"

#include <vector>

namespace bayun::nn {

struct LayerCache {
    Tensor keys;         // (B, H, T_max, D): keys[b][h][t] is the key of position t seen by head h
    Tensor values;       // (B, H, T_max, D)
    int64_t length = 0;  // positions filled so far

    // Writes new keys and values (B, H, T_new, D) at positions [length, length + T_new) and returns all
    // cached keys and values, (B, H, length + T_new, D) each.
    std::pair<Tensor, Tensor> append(const Tensor& k_new, const Tensor& v_new);
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
