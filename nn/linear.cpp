// Linear layer: registers weight (out, in) and bias (out); forward is the fused `linear` op.
#include "nn/linear.h"

#include "autograd/ops.h"

namespace bayun::nn {

Linear::Linear(int64_t in_features, int64_t out_features, bool has_bias) {
    weight = register_parameter("weight", Tensor::zeros({out_features, in_features}, true));
    if (has_bias) bias = register_parameter("bias", Tensor::zeros({out_features}, true));
}

void Linear::tie_weight(const Tensor& shared) {
    replace_parameter("weight", shared);
    weight = shared;
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

}  // namespace bayun::nn
