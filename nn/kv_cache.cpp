// KvCache: preallocated key/value buffers and the indexed write at `length`.
#include "nn/kv_cache.h"

#include "autograd/error.h"

#include <algorithm>

namespace bayun::nn {

KvCache::KvCache(const GPTConfig& config, int64_t batch, int64_t max_positions) : capacity_(max_positions) {
    const Shape shape{batch, config.n_head, max_positions, config.head_size()};
    for (int64_t l = 0; l < config.n_layer; ++l) layers.push_back({Tensor::zeros(shape), Tensor::zeros(shape), 0});
}

void KvCache::clear() {
    for (LayerCache& layer : layers) layer.length = 0;
}

int64_t KvCache::bytes() const {
    int64_t n = 0;
    for (const LayerCache& layer : layers) n += (layer.keys.numel() + layer.values.numel()) * 4;
    return n;
}

std::pair<Tensor, Tensor> LayerCache::append(const Tensor& k_new, const Tensor& v_new) {
    const int64_t B = keys.size(0), H = keys.size(1), T_max = keys.size(2), D = keys.size(3);
    const int64_t T_new = k_new.size(2);
    if (length + T_new > T_max)
        fail("kv_cache", "{} new positions do not fit: {} of {} are used (the generator slides the window first)",
             T_new, length, T_max);
    BAYUN_ASSERT(k_new.shape() == (Shape{B, H, T_new, D}), "new keys must be (B, H, T_new, D)");
    const int64_t T_all = length + T_new;
    Tensor k_all = Tensor::empty({B, H, T_all, D});
    Tensor v_all = Tensor::empty({B, H, T_all, D});
    for (int64_t bh = 0; bh < B * H; ++bh) {
        // The write: positions [length, T_all) of this head's rows.
        std::copy_n(k_new.data() + bh * T_new * D, T_new * D, keys.data() + (bh * T_max + length) * D);
        std::copy_n(v_new.data() + bh * T_new * D, T_new * D, values.data() + (bh * T_max + length) * D);
        // The read: everything cached for this head, as one contiguous (T_all, D) block.
        std::copy_n(keys.data() + bh * T_max * D, T_all * D, k_all.data() + bh * T_all * D);
        std::copy_n(values.data() + bh * T_max * D, T_all * D, v_all.data() + bh * T_all * D);
    }
    length = T_all;
    return {k_all, v_all};
}

}  // namespace bayun::nn
