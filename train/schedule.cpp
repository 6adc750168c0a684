// The learning-rate schedule (warm-up, cosine decay, floor) and global gradient-norm clipping (see schedule.h).
#include "train/schedule.h"

#include "autograd/kernels.h"

#include <cmath>
#include <numbers>

namespace bayun {

float learning_rate_at(const LrSchedule& s, int64_t step) {
    if (step < 0) fail("schedule", "step must be >= 0, found {}", step);
    if (!(s.lr >= 0.0f) || !std::isfinite(s.lr)) fail("schedule", "lr must be finite and >= 0, found {}", s.lr);
    if (!s.decay) return s.lr;
    if (!(s.min_lr >= 0.0f && s.min_lr <= s.lr))
        fail("schedule", "min_lr must be in [0, lr], found min_lr {} with lr {} (nanoGPT uses lr / 10)", s.min_lr, s.lr);
    if (s.warmup_iters < 0 || s.decay_iters <= s.warmup_iters)
        fail("schedule", "need 0 <= warmup_iters < decay_iters, found warmup_iters {} and decay_iters {} (decay_iters "
             "is usually the total number of steps)", s.warmup_iters, s.decay_iters);

    const double lr = s.lr, min_lr = s.min_lr;
    // 1. Linear warm-up: small steps while AdamW's running averages are still noisy.
    if (step < s.warmup_iters)
        return static_cast<float>(lr * static_cast<double>(step + 1) / static_cast<double>(s.warmup_iters + 1));
    // 3. The floor, after the decay.
    if (step > s.decay_iters) return s.min_lr;
    // 2. Cosine decay from lr (ratio 0) to min_lr (ratio 1).
    const double ratio = static_cast<double>(step - s.warmup_iters) / static_cast<double>(s.decay_iters - s.warmup_iters);
    const double coeff = 0.5 * (1.0 + std::cos(std::numbers::pi * ratio));  // 1 -> 0
    return static_cast<float>(min_lr + coeff * (lr - min_lr));
}

float clip_grad_norm(const std::vector<NamedTensor>& params, float max_norm) {
    if (!(max_norm >= 0.0f)) fail("clip_grad_norm", "max_norm must be >= 0, found {} (0 disables clipping)", max_norm);
    // 1. The global norm. A plain loop in double: the same sum in the same order on every run and thread
    //    count, so a resumed run clips exactly as the original did.
    double sum_sq = 0.0;
    for (const NamedTensor& p : params) {
        if (!p.tensor.has_grad()) continue;
        const Tensor g = p.tensor.grad();
        const float* d = g.data();
        for (int64_t i = 0; i < g.numel(); ++i) sum_sq += static_cast<double>(d[i]) * d[i];
    }
    const double norm = std::sqrt(sum_sq);

    // 2. Scale every gradient by max_norm / norm when the norm is too large.
    if (max_norm > 0.0f && std::isfinite(norm) && norm > max_norm) {
        const float scale = static_cast<float>(static_cast<double>(max_norm) / norm);
        for (const NamedTensor& p : params) {
            if (!p.tensor.has_grad()) continue;
            Tensor g = p.tensor.grad();
            float* d = g.data();
            const int64_t n = g.numel();
            parallel_for(n, go_parallel(n), [&](int64_t i) { d[i] *= scale; });
        }
    }
    return static_cast<float>(norm);
}

}  // namespace bayun
