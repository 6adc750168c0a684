// Shape ops: reshape (a view), transpose of the last two dims, permute, split and concat along the last
// axis. In the transformer: splitting the fused QKV projection into Q, K, V (split), cutting C into H
// heads of size D and back (reshape + permute), and K^T for the scores (transpose).
// Their backward passes move gradients back to where the values came from.
#include "autograd/node.h"
#include "autograd/ops.h"

#include <algorithm>
#include <numeric>

namespace bayun {

namespace {

// reshape: out is x's values under a new shape.   dx += dout (same order of elements)
struct ReshapeNode : Node {
    explicit ReshapeNode(const Tensor& x) : Node("reshape", {x}) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx) return;
        const float* d = dout.data();
        const int64_t n = dout.numel();
        for (int64_t i = 0; i < n; ++i) dx[i] += d[i];
    }
};

// permute: out[index permuted] = x[index].   dx[index] += dout[index permuted]
// Shapes are padded to rank 4 so one 4-deep loop serves every rank.
struct Strides4 {
    int64_t size[4];
    int64_t stride[4];  // of x, in the order of out's dimensions
};

Strides4 permute_plan(const Shape& x_shape, const std::vector<int>& order) {
    const int rank = static_cast<int>(x_shape.size());
    std::vector<int64_t> x_strides(rank, 1);
    for (int d = rank - 2; d >= 0; --d) x_strides[d] = x_strides[d + 1] * x_shape[d + 1];
    Strides4 plan{{1, 1, 1, 1}, {0, 0, 0, 0}};
    const int pad = 4 - rank;
    for (int d = 0; d < rank; ++d) {
        plan.size[pad + d] = x_shape[order[d]];
        plan.stride[pad + d] = x_strides[order[d]];
    }
    return plan;
}

// Walks out's elements in order; `visit(out_index, x_index)`.
template <typename Visit>
void for_each_permuted(const Strides4& p, Visit visit) {
    int64_t o = 0;
    for (int64_t i0 = 0; i0 < p.size[0]; ++i0)
        for (int64_t i1 = 0; i1 < p.size[1]; ++i1)
            for (int64_t i2 = 0; i2 < p.size[2]; ++i2) {
                const int64_t base = i0 * p.stride[0] + i1 * p.stride[1] + i2 * p.stride[2];
                for (int64_t i3 = 0; i3 < p.size[3]; ++i3) visit(o++, base + i3 * p.stride[3]);
            }
}

struct PermuteNode : Node {
    Strides4 plan;
    PermuteNode(const char* name, const Tensor& x, Strides4 p) : Node(name, {x}), plan(p) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx) return;
        const float* d = dout.data();
        for_each_permuted(plan, [&](int64_t o, int64_t i) { dx[i] += d[o]; });
    }
};

Tensor permute_impl(const char* name, const Tensor& x, const std::vector<int>& order) {
    Shape shape(order.size());
    for (size_t d = 0; d < order.size(); ++d) shape[d] = x.shape()[order[d]];
    Tensor out = Tensor::empty(shape);
    const Strides4 plan = permute_plan(x.shape(), order);
    const float* xv = x.data();
    float* y = out.data();
    for_each_permuted(plan, [&](int64_t o, int64_t i) { y[o] = xv[i]; });
    if (needs_graph({x})) attach(out, std::make_shared<PermuteNode>(name, x, plan));
    return out;
}

// slice of the last axis: out[r, c] = x[r, offset + c].   dx[r, offset + c] += dout[r, c]
struct SliceLastNode : Node {
    int64_t rows, cols, offset, width;
    SliceLastNode(const Tensor& x, int64_t r, int64_t c, int64_t o, int64_t w)
        : Node("split", {x}), rows(r), cols(c), offset(o), width(w) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx) return;
        const float* d = dout.data();
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < width; ++c) dx[r * cols + offset + c] += d[r * width + c];
    }
};

// concat along the last axis: out[r, offset_i + c] = x_i[r, c].   dx_i[r, c] += dout[r, offset_i + c]
struct ConcatNode : Node {
    int64_t rows, cols;
    ConcatNode(const std::vector<Tensor>& xs, int64_t r, int64_t c) : Node("concat", xs), rows(r), cols(c) {}
    void backward(const Tensor& dout) override {
        const float* d = dout.data();
        int64_t offset = 0;
        for (size_t i = 0; i < inputs.size(); ++i) {
            const int64_t width = inputs[i].size(-1);
            if (float* dx = dinput(i))
                for (int64_t r = 0; r < rows; ++r)
                    for (int64_t c = 0; c < width; ++c) dx[r * width + c] += d[r * cols + offset + c];
            offset += width;
        }
    }
};

}  // namespace

Tensor reshape(const Tensor& x, Shape shape) {
    int64_t known = 1;
    int inferred = -1;
    for (size_t d = 0; d < shape.size(); ++d) {
        if (shape[d] == -1) {
            if (inferred >= 0) fail("reshape", "only one dimension may be -1, found shape {}", shape_str(shape));
            inferred = static_cast<int>(d);
        } else if (shape[d] < 0) {  // NOTE: two negatives multiply to a positive count, so catch them here
            fail("reshape", "cannot view {} ({} elements) as {} (sizes must be >= 0, or -1 once to infer)",
                 shape_str(x.shape()), x.numel(), shape_str(shape));
        } else {
            known *= shape[d];
        }
    }
    if (inferred >= 0 && known > 0 && x.numel() % known == 0) shape[inferred] = x.numel() / known;
    if (shape_numel(shape) != x.numel() || (inferred >= 0 && known == 0))
        fail("reshape", "cannot view {} ({} elements) as {}", shape_str(x.shape()), x.numel(), shape_str(shape));
    Tensor out = Tensor::make(shape, x.impl()->storage);
    if (needs_graph({x})) attach(out, std::make_shared<ReshapeNode>(x));
    return out;
}

Tensor transpose(const Tensor& x) {
    if (x.dim() < 2) fail("transpose", "needs at least 2 dimensions, found {}", shape_str(x.shape()));
    std::vector<int> order(x.dim());
    std::iota(order.begin(), order.end(), 0);
    std::swap(order[x.dim() - 1], order[x.dim() - 2]);
    return permute_impl("transpose", x, order);
}

Tensor permute(const Tensor& x, const std::vector<int>& order) {
    std::vector<int> sorted(order);
    std::sort(sorted.begin(), sorted.end());
    std::vector<int> expected(x.dim());
    std::iota(expected.begin(), expected.end(), 0);
    if (sorted != expected)
        fail("permute", "order ({}) is not a permutation of the {} dimensions of {}", fmt::join(order, ", "), x.dim(),
             shape_str(x.shape()));
    return permute_impl("permute", x, order);
}

std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes) {
    if (x.dim() == 0) fail("split", "cannot split a scalar");
    const int64_t cols = x.size(-1);
    const int64_t total = std::accumulate(sizes.begin(), sizes.end(), int64_t{0});
    if (std::any_of(sizes.begin(), sizes.end(), [](int64_t s) { return s < 0; }))
        fail("split", "sizes ({}) must not be negative (splitting the last dim of {})", fmt::join(sizes, ", "),
             shape_str(x.shape()));
    if (total != cols)
        fail("split", "sizes ({}) add up to {} but the last dim of {} is {}", fmt::join(sizes, ", "), total,
             shape_str(x.shape()), cols);
    const int64_t rows = cols ? x.numel() / cols : 0;
    std::vector<Tensor> parts;
    int64_t offset = 0;
    for (int64_t width : sizes) {
        Shape shape = x.shape();
        shape.back() = width;
        Tensor part = Tensor::empty(shape);
        for (int64_t r = 0; r < rows; ++r)
            std::copy(x.data() + r * cols + offset, x.data() + r * cols + offset + width, part.data() + r * width);
        if (needs_graph({x})) attach(part, std::make_shared<SliceLastNode>(x, rows, cols, offset, width));
        parts.push_back(part);
        offset += width;
    }
    return parts;
}

Tensor concat(const std::vector<Tensor>& xs) {
    if (xs.empty()) fail("concat", "needs at least one tensor");
    Shape lead(xs[0].shape().begin(), xs[0].shape().end() - (xs[0].dim() ? 1 : 0));
    int64_t cols = 0;
    for (const Tensor& x : xs) {
        if (x.dim() == 0 || Shape(x.shape().begin(), x.shape().end() - 1) != lead)
            fail("concat", "all tensors must share every dimension but the last: {} vs {}", shape_str(xs[0].shape()),
                 shape_str(x.shape()));
        cols += x.size(-1);
    }
    Shape shape = lead;
    shape.push_back(cols);
    Tensor out = Tensor::empty(shape);
    const int64_t rows = shape_numel(lead);
    int64_t offset = 0;
    for (const Tensor& x : xs) {
        const int64_t width = x.size(-1);
        for (int64_t r = 0; r < rows; ++r)
            std::copy(x.data() + r * width, x.data() + (r + 1) * width, out.data() + r * cols + offset);
        offset += width;
    }
    if (needs_graph(xs)) attach(out, std::make_shared<ConcatNode>(xs, rows, cols));
    return out;
}

}  // namespace bayun
