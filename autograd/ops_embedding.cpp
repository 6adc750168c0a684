// Embedding lookup: a token id picks its row of the table. Token embeddings (wte) turn ids into vectors
// of C channels; position embeddings (wpe) do the same for positions 0..T-1.
//   out[i, :] = weight[ids[i], :]          dweight[ids[i], :] += dout[i, :]   (scatter-add: repeats add up)
#include "autograd/node.h"
#include "autograd/ops.h"

namespace bayun {

namespace {

struct EmbeddingNode : Node {
    std::vector<int32_t> ids;
    EmbeddingNode(const Tensor& weight, std::vector<int32_t> i) : Node("embedding", {weight}), ids(std::move(i)) {}
    void backward(const Tensor& dout) override {
        float* dw = dinput(0);
        if (!dw) return;
        const int64_t C = inputs[0].size(1);
        const float* d = dout.data();
        for (size_t i = 0; i < ids.size(); ++i)
            for (int64_t c = 0; c < C; ++c) dw[ids[i] * C + c] += d[i * C + c];
    }
};

}  // namespace

Tensor embedding(const Tensor& weight, std::span<const int32_t> ids, const Shape& ids_shape) {
    if (weight.dim() != 2) fail("embedding", "weight must be (V, C), found {}", shape_str(weight.shape()));
    if (shape_numel(ids_shape) != static_cast<int64_t>(ids.size()))
        fail("embedding", "{} ids do not fill shape {}", ids.size(), shape_str(ids_shape));
    const int64_t V = weight.size(0), C = weight.size(1);
    for (int32_t id : ids)
        if (id < 0 || id >= V)
            fail("embedding", "id {} is outside the table of {} rows (token ids must be in [0, {}))", id, V, V);
    Shape shape = ids_shape;
    shape.push_back(C);
    Tensor out = Tensor::empty(shape);
    for (size_t i = 0; i < ids.size(); ++i)
        std::copy(weight.data() + ids[i] * C, weight.data() + (ids[i] + 1) * C, out.data() + i * C);
    if (needs_graph({weight}))
        attach(out, std::make_shared<EmbeddingNode>(weight, std::vector<int32_t>(ids.begin(), ids.end())));
    return out;
}

}  // namespace bayun
