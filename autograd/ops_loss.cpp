// Cross-entropy: how surprised the model is by the true next token, averaged over positions. Fused
// log-softmax + negative log-likelihood: stable (subtract the row max) and one pass over the logits.
//   loss = (1/N) sum_r [ log sum_j exp(x[r, j]) - x[r, target_r] ]     (N rows whose target is not ignored)
//   dx[r, j] += dloss / N * (softmax(x[r])[j] - [j == target_r])
// Shapes: logits (..., V), targets one per row (B*T of them for (B, T, V) logits).
#include "autograd/kernels.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/vec_math.h"

#include <cmath>

namespace bayun {

namespace {

struct CrossEntropyNode : Node {
    Tensor probs;                  // (rows, V) softmax of the logits, computed in forward
    std::vector<int32_t> targets;  // (rows,)
    int64_t counted;               // rows whose target is not ignore_index
    CrossEntropyNode(const Tensor& logits, Tensor p, std::vector<int32_t> t, int64_t n)
        : Node("cross_entropy", {logits}), probs(std::move(p)), targets(std::move(t)), counted(n) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx || counted == 0) return;
        const int64_t rows = static_cast<int64_t>(targets.size());
        const int64_t V = probs.numel() / std::max<int64_t>(rows, 1);
        const float scale = dout.item() / static_cast<float>(counted);
        const float* p = probs.data();
        parallel_for(rows, !reference_kernels() && rows * V > 16384, [&](int64_t r) {
            if (targets[r] == ignore_index) return;
            for (int64_t j = 0; j < V; ++j) dx[r * V + j] += scale * (p[r * V + j] - (j == targets[r] ? 1.0f : 0.0f));
        });
    }
};

}  // namespace

Tensor cross_entropy(const Tensor& logits, std::span<const int32_t> targets) {
    if (logits.dim() < 1) fail("cross_entropy", "logits must be (..., V), found a scalar");
    const int64_t V = logits.size(-1);
    const int64_t rows = V ? logits.numel() / V : 0;
    if (static_cast<int64_t>(targets.size()) != rows)
        fail("cross_entropy", "{} targets for logits {} (expected one per row: {})", targets.size(),
             shape_str(logits.shape()), rows);
    int64_t counted = 0;
    for (int32_t t : targets) {
        if (t == ignore_index) continue;
        if (t < 0 || t >= V) fail("cross_entropy", "target {} is outside the vocabulary [0, {})", t, V);
        ++counted;
    }
    Tensor probs = Tensor::empty({rows, V});
    const float* x = logits.data();
    float* p = probs.data();
    std::vector<double> row_loss(rows, 0.0);
    parallel_for(rows, !reference_kernels() && rows * V > 16384, [&](int64_t r) {
        const float* xr = x + r * V;
        const float max = max_of(xr, V);
        const float total = exp_shifted(xr, p + r * V, V, max);  // p = exp(x - max), unnormalised
        const float inv = 1.0f / total;
        for (int64_t j = 0; j < V; ++j) p[r * V + j] *= inv;
        if (targets[r] != ignore_index) row_loss[r] = std::log(total) + max - xr[targets[r]];
    });
    double total_loss = 0.0;
    for (double l : row_loss) total_loss += l;
    Tensor loss = Tensor::scalar(counted ? static_cast<float>(total_loss / counted) : 0.0f);
    if (needs_graph({logits}))
        attach(loss, std::make_shared<CrossEntropyNode>(logits, probs, std::vector<int32_t>(targets.begin(), targets.end()),
                                                        counted));
    return loss;
}

}  // namespace bayun
