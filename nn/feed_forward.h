// FeedForward (the MLP): applied to each position on its own. It expands C -> 4C, applies the
// non-linearity (GELU, or ReLU as in the original transformer), and narrows back 4C -> C.
#pragma once

#include "nn/config.h"
#include "nn/linear.h"

namespace bayun {
class Rng;
}

namespace bayun::nn {

class FeedForward : public Module {
public:
    FeedForward(const GPTConfig& config, Rng& dropout_rng);
    Tensor forward(const Tensor& x) const;  // (B, T, C) -> (B, T, C)

    Linear c_fc;    // (4C, C): expand
    Linear c_proj;  // (C, 4C): narrow back

private:
    Activation activation_;
    float dropout_;
    Rng& rng_;
};

}  // namespace bayun::nn
