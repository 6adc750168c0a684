// The learning-rate schedule and gradient clipping: the two small pieces of a training step that sit between
// backward() and the optimizer. The schedule is a pure function of the step number, so a resumed run picks
// up exactly where it stopped; clipping bounds the size of one update when a batch produces a huge gradient.
#pragma once

#include "train/params.h"

#include <cstdint>
#include <vector>

namespace bayun {

struct LrSchedule {
    float lr = 6e-4f;             // peak learning rate, reached at the end of warm-up
    float min_lr = 6e-5f;         // the floor cosine decay ends at (nanoGPT: lr / 10)
    int64_t warmup_iters = 100;   // linear warm-up over steps 0 .. warmup_iters - 1
    int64_t decay_iters = 5000;   // the cosine reaches min_lr here and stays there
    bool decay = true;            // false: constant lr at every step
};

// nanoGPT's get_lr(it), in double:
//   step <  warmup_iters:  lr * (step + 1) / (warmup_iters + 1)          linear warm-up
//   step <= decay_iters:   min_lr + (lr - min_lr) * 0.5 * (1 + cos(pi * r)),
//                          r = (step - warmup_iters) / (decay_iters - warmup_iters)   cosine from lr to min_lr
//   step >  decay_iters:   min_lr                                          the floor
// With decay off: lr at every step. Checks the schedule (min_lr <= lr, warmup_iters < decay_iters).
float learning_rate_at(const LrSchedule& schedule, int64_t step);

// Global-norm clipping, as torch.nn.utils.clip_grad_norm_: the norm is over all gradients together,
//   norm = sqrt(sum over every parameter and element of g^2)      (accumulated in double, in a fixed order)
// and when norm > max_norm every gradient is scaled by max_norm / norm, so the new norm is max_norm.
// Returns the norm before clipping (worth logging: spikes show instability). Parameters without a gradient
// are skipped. max_norm = 0 only measures (nanoGPT's grad_clip = 0 disables clipping). A non-finite norm
// (inf or NaN gradients) is returned with the gradients left as they are: the caller decides to skip the step.
float clip_grad_norm(const std::vector<NamedTensor>& params, float max_norm);

}  // namespace bayun
