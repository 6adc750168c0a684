// KvCache: preallocated key/value rows and the write at `length`.
#include "nn/kv_cache.h"

#include "autograd/error.h"

#include <algorithm>

namespace bayun::nn {

KvCache::KvCache(const GPTConfig& config, int64_t batch, int64_t max_positions) : capacity_(max_positions) {
    const Shape shape{batch, config.n_head, max_positions, config.head_size()};  // (B, H, T_max, D)
    for (int64_t l = 0; l < config.n_layer; ++l) layers.push_back({Tensor::zeros(shape), Tensor::zeros(shape), 0});
}

void KvCache::clear() {
    for (LayerCache& layer : layers) layer.length = 0;
}

int64_t KvCache::bytes() const {
    int64_t n = 0;
    for (const LayerCache& layer : layers) n += (layer.k.numel() + layer.v.numel()) * 4;
    return n;
}

void LayerCache::append(const Tensor& qkv) {
    const int64_t B = k.size(0), H = k.size(1), T_max = k.size(2), D = k.size(3), C = H * D;
    const int64_t T_new = qkv.size(1);
    if (length + T_new > T_max)
        fail("kv_cache", "{} new positions do not fit: {} of {} are used (the generator slides the window first)",
             T_new, length, T_max);
    BAYUN_ASSERT(qkv.dim() == 3 && qkv.size(0) == B && qkv.size(2) == 3 * C, "qkv must be (B, T_new, 3C)");
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T_new; ++t) {
            const float* row = qkv.data() + (b * T_new + t) * 3 * C;  // [q | k | v], head h at h * D of each
            for (int64_t h = 0; h < H; ++h) {
                const int64_t at = ((b * H + h) * T_max + length + t) * D;  // row length + t of head h
                std::copy_n(row + C + h * D, D, k.data() + at);
                std::copy_n(row + 2 * C + h * D, D, v.data() + at);
            }
        }
    length += T_new;
}

std::pair<Tensor, Tensor> LayerCache::keys_values() const {
    const int64_t B = k.size(0), H = k.size(1), T_max = k.size(2), D = k.size(3);
    Tensor keys = Tensor::empty({B, H, length, D});
    Tensor values = Tensor::empty({B, H, length, D});
    for (int64_t bh = 0; bh < B * H; ++bh) {  // the first `length` rows of each head
        std::copy_n(k.data() + bh * T_max * D, length * D, keys.data() + bh * length * D);
        std::copy_n(v.data() + bh * T_max * D, length * D, values.data() + bh * length * D);
    }
    return {keys, values};
}

}  // namespace bayun::nn
