// KvCache: preallocated key/value rows and the write at `length`.
#include "nn/kv_cache.h"

#include "autograd/error.h"

#include <algorithm>

namespace bayun::nn {

KvCache::KvCache(const GPTConfig& config, int64_t batch, int64_t max_positions) : capacity_(max_positions) {
    for (int64_t l = 0; l < config.n_layer; ++l)
        layers.push_back({Tensor::zeros({batch, max_positions, 2 * config.n_embd}), 0});
}

void KvCache::clear() {
    for (LayerCache& layer : layers) layer.length = 0;
}

int64_t KvCache::bytes() const {
    int64_t n = 0;
    for (const LayerCache& layer : layers) n += layer.kv.numel() * 4;
    return n;
}

void LayerCache::append(const Tensor& qkv) {
    const int64_t B = kv.size(0), T_max = kv.size(1), C2 = kv.size(2);
    const int64_t T_new = qkv.size(1), C = C2 / 2;
    if (length + T_new > T_max)
        fail("kv_cache", "{} new positions do not fit: {} of {} are used (the generator slides the window first)",
             T_new, length, T_max);
    BAYUN_ASSERT(qkv.dim() == 3 && qkv.size(0) == B && qkv.size(2) == 3 * C, "qkv must be (B, T_new, 3C)");
    for (int64_t b = 0; b < B; ++b)
        for (int64_t t = 0; t < T_new; ++t) {
            const float* row = qkv.data() + (b * T_new + t) * 3 * C;  // [q | k | v]
            std::copy_n(row + C, C2, kv.data() + (b * T_max + length + t) * C2);
        }
    length += T_new;
}

std::pair<Tensor, Tensor> LayerCache::keys_values(int64_t n_head) const {
    const int64_t B = kv.size(0), T_max = kv.size(1), C = kv.size(2) / 2, D = C / n_head;
    Tensor keys = Tensor::empty({B, n_head, length, D});
    Tensor values = Tensor::empty({B, n_head, length, D});
    for (int64_t b = 0; b < B; ++b)
        for (int64_t h = 0; h < n_head; ++h)
            for (int64_t t = 0; t < length; ++t) {
                const float* row = kv.data() + (b * T_max + t) * 2 * C;
                const int64_t at = ((b * n_head + h) * length + t) * D;
                std::copy_n(row + h * D, D, keys.data() + at);
                std::copy_n(row + C + h * D, D, values.data() + at);
            }
    return {keys, values};
}

}  // namespace bayun::nn
