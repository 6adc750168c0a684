// Layer norm: each position's vector (one row of C channels) is shifted to mean 0 and scaled to variance 1,
// then multiplied by a learned weight and shifted by a learned bias. It keeps the residual stream's scale
// in check before attention and the FFN (pre-norm) or after each residual add (post-norm).
// Forward, per row x (C):
//   mean = sum(x) / C;  var = sum((x - mean)^2) / C;  rstd = 1 / sqrt(var + eps)
//   norm = (x - mean) * rstd;  y = norm * weight + bias
// Backward (as in llm.c's layernorm_backward), with g = dy * weight:
//   dbias   += dy
//   dweight += dy * norm
//   dx      += rstd * (g - mean(g) - norm * mean(g * norm))
// Fused, with its own backward, because the composed version would save five (B, T, C) temporaries.
#include "autograd/kernels.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/vec_math.h"

#include <cmath>

namespace bayun {

// One row: y = (x - mean) / sqrt(var + eps) * weight + bias. y may be x (in place).
void layer_norm_row(const float* x, const float* weight, const float* bias, int64_t C, float eps, float* y,
                    float* mean_out, float* rstd_out) {
    const float m = lane_sum(C, [&](int64_t c) { return x[c]; }) / static_cast<float>(C);
    const float var = lane_sum(C, [&](int64_t c) { return (x[c] - m) * (x[c] - m); }) / static_cast<float>(C);
    const float s = 1.0f / std::sqrt(var + eps);
    for (int64_t c = 0; c < C; ++c) y[c] = (x[c] - m) * s * weight[c] + bias[c];
    if (mean_out) *mean_out = m;
    if (rstd_out) *rstd_out = s;
}

namespace {

struct LayerNormNode : Node {
    Tensor mean, rstd;  // (rows,) saved statistics
    int64_t rows, C;
    LayerNormNode(const Tensor& x, const Tensor& w, const Tensor& b, Tensor m, Tensor r, int64_t n, int64_t c)
        : Node("layer_norm", {x, w, b}), mean(std::move(m)), rstd(std::move(r)), rows(n), C(c) {}
    void backward(const Tensor& dout) override {
        const float* x = inputs[0].data();
        const float* w = inputs[1].data();
        const float* dy = dout.data();
        bool fresh = false;  // dx is new: = instead of +=
        float* dx = dinput(0, &fresh);
        float* dw = dinput(1);
        float* db = dinput(2);
        // dx rows are independent: threads own rows. dweight and dbias sum over rows: threads own columns.
        if (dx) {
            parallel_for(rows, !reference_kernels() && rows * C > 16384, [&](int64_t r) {
                const float* xr = x + r * C;
                const float* dyr = dy + r * C;
                const float m = mean.data()[r], s = rstd.data()[r];
                // g = dy * weight; the means of g and of g * norm
                const float g_mean = lane_sum(C, [&](int64_t c) { return dyr[c] * w[c]; }) / static_cast<float>(C);
                const float g_norm_mean =
                    lane_sum(C, [&](int64_t c) { return dyr[c] * w[c] * (xr[c] - m) * s; }) / static_cast<float>(C);
                const auto dnorm = [&](int64_t c) {  // dx of one channel
                    const float norm = (xr[c] - m) * s;
                    return s * (dyr[c] * w[c] - g_mean - norm * g_norm_mean);
                };
                float* dxr = dx + r * C;
                if (fresh)
                    for (int64_t c = 0; c < C; ++c) dxr[c] = dnorm(c);
                else
                    for (int64_t c = 0; c < C; ++c) dxr[c] += dnorm(c);
            });
        }
        if (dw || db) {
            parallel_columns(C, !reference_kernels() && rows * C > 16384, [&](int64_t c0, int64_t c1) {
                for (int64_t r = 0; r < rows; ++r) {
                    const float m = mean.data()[r], s = rstd.data()[r];
                    for (int64_t c = c0; c < c1; ++c) {
                        if (dw) dw[c] += dy[r * C + c] * (x[r * C + c] - m) * s;
                        if (db) db[c] += dy[r * C + c];
                    }
                }
            });
        }
    }
};

}  // namespace

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
    if (x.dim() < 1) fail("layer_norm", "input must be (..., C), found a scalar");
    const int64_t C = x.size(-1);
    const auto check_param = [&](const Tensor& p, const char* name) {
        if (p.dim() != 1 || p.size(0) != C)
            fail("layer_norm", "{} must be ({},) to match input {}, found {}", name, C, shape_str(x.shape()),
                 shape_str(p.shape()));
    };
    check_param(weight, "weight");
    check_param(bias, "bias");
    const int64_t rows = C ? x.numel() / C : 0;
    Tensor out = Tensor::empty(x.shape());
    Tensor mean = Tensor::empty({rows});
    Tensor rstd = Tensor::empty({rows});
    const float* xv = x.data();
    const float* w = weight.data();
    const float* b = bias.data();
    float* y = out.data();
    parallel_for(rows, !reference_kernels() && rows * C > 16384, [&](int64_t r) {
        layer_norm_row(xv + r * C, w, b, C, eps, y + r * C, &mean.data()[r], &rstd.data()[r]);
    });
    if (needs_graph({x, weight, bias}))
        attach(out, std::make_shared<LayerNormNode>(x, weight, bias, mean, rstd, rows, C));
    return out;
}

}  // namespace bayun
