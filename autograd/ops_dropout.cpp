// Dropout: during training, zero each activation with probability p and scale survivors by 1/(1-p), so
// the expected value is unchanged; in evaluation it is the identity. The mask comes from a seeded Rng, so
// a run is reproducible.
//   out = x * mask / (1 - p)        dx += dout * mask / (1 - p)
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/rng.h"

namespace bayun {

namespace {

struct DropoutNode : Node {
    Tensor scale;  // mask / (1 - p): 0 or 1/(1-p) per element
    DropoutNode(const Tensor& x, Tensor s) : Node("dropout", {x}), scale(std::move(s)) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx) return;
        const int64_t n = dout.numel();
        const float* d = dout.data();
        const float* s = scale.data();
        for (int64_t i = 0; i < n; ++i) dx[i] += d[i] * s[i];
    }
};

}  // namespace

Tensor dropout(const Tensor& x, float p, bool training, Rng& rng) {
    if (!(p >= 0.0f && p < 1.0f)) fail("dropout", "probability must be in [0, 1), found {}", p);
    if (!training || p == 0.0f) return x;
    Tensor scale = Tensor::empty(x.shape());
    const float keep = 1.0f / (1.0f - p);
    for (float& s : scale.values()) s = rng.uniform() < p ? 0.0f : keep;
    Tensor out = Tensor::empty(x.shape());
    const int64_t n = x.numel();
    const float* xv = x.data();
    const float* s = scale.data();
    float* y = out.data();
    for (int64_t i = 0; i < n; ++i) y[i] = xv[i] * s[i];
    if (needs_graph({x})) attach(out, std::make_shared<DropoutNode>(x, scale));
    return out;
}

}  // namespace bayun
