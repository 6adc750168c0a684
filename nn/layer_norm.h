// LayerNorm: normalises each position's C channels to mean 0 and variance 1, then applies a learned
// scale (weight) and shift (bias). Keeps the residual stream well scaled for attention and the FFN.
#pragma once

#include "nn/module.h"

namespace bayun::nn {

class LayerNorm : public Module {
public:
    explicit LayerNorm(int64_t C, bool bias = true);
    Tensor forward(const Tensor& x) const;  // (..., C) -> (..., C)

    Tensor weight;  // (C,), starts at 1
    Tensor bias;    // (C,), starts at 0; without bias it is a constant zero, not a parameter
    static constexpr float eps = 1e-5f;  // added to the variance, so a constant row does not divide by 0
};

}  // namespace bayun::nn
