// Linear: y = x W^T + b, the learned projection used for Q/K/V (c_attn), the attention output (c_proj),
// the FFN (c_fc, c_proj) and the language-model head. The weight is stored (out, in) like torch.nn.Linear.
#pragma once

#include "nn/module.h"

namespace bayun::nn {

class Linear : public Module {
public:
    Linear(int64_t in_features, int64_t out_features, bool bias = true);
    Tensor forward(const Tensor& x) const;  // (..., in) -> (..., out)
    void tie_weight(const Tensor& shared);  // use another module's tensor as this weight (same shape)

    Tensor weight;  // (out, in)
    Tensor bias;    // (out,), undefined when bias = false
};

}  // namespace bayun::nn
