// LayerNorm module: registers weight and (optionally) bias; forward is the fused layer_norm op.
#include "nn/layer_norm.h"

#include "autograd/ops.h"

namespace bayun::nn {

LayerNorm::LayerNorm(int64_t C, bool has_bias) {
    weight = register_parameter("weight", Tensor::ones({C}, true));
    bias = has_bias ? register_parameter("bias", Tensor::zeros({C}, true)) : Tensor::zeros({C});
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps); }

}  // namespace bayun::nn
