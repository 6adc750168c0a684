// Reductions: sum and mean over all elements (a loss) or over the last axis (per-row statistics).
//   sum_all:  out = sum_i x[i]                 dx[i] += dout
//   sum_last: out[r] = sum_c x[r, c]           dx[r, c] += dout[r]
//   mean divides by the count, and so does its gradient.
#include "autograd/node.h"
#include "autograd/ops.h"

namespace bayun {

namespace {

struct SumNode : Node {
    int64_t rows, cols;  // all: rows = 1, cols = numel; last axis: rows x cols
    float scale;         // 1 for sum, 1/cols for mean
    SumNode(const char* name, const Tensor& x, int64_t r, int64_t c, float s)
        : Node(name, {x}), rows(r), cols(c), scale(s) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx) return;
        const float* d = dout.data();
        for (int64_t r = 0; r < rows; ++r)
            for (int64_t c = 0; c < cols; ++c) dx[r * cols + c] += d[r] * scale;
    }
};

Tensor reduce(const char* name, const Tensor& x, int64_t rows, int64_t cols, float scale, Shape out_shape) {
    Tensor out = Tensor::empty(out_shape);
    const float* xv = x.data();
    for (int64_t r = 0; r < rows; ++r) {
        double total = 0.0;  // double accumulator: a loss over a million elements keeps its digits
        for (int64_t c = 0; c < cols; ++c) total += xv[r * cols + c];
        out.data()[r] = static_cast<float>(total * scale);
    }
    if (needs_graph({x})) attach(out, std::make_shared<SumNode>(name, x, rows, cols, scale));
    return out;
}

Shape last_axis_shape(const char* name, const Tensor& x, int axis, bool keepdim) {
    if (x.dim() == 0) fail(name, "cannot reduce over an axis of a scalar");
    if (axis != -1 && axis != x.dim() - 1)
        fail(name, "only the last axis can be reduced: axis {} of shape {} (permute first)", axis, shape_str(x.shape()));
    Shape shape = x.shape();
    if (keepdim) shape.back() = 1;
    else shape.pop_back();
    return shape;
}

}  // namespace

Tensor sum(const Tensor& x) { return reduce("sum", x, 1, x.numel(), 1.0f, {}); }

Tensor mean(const Tensor& x) {
    if (x.numel() == 0) fail("mean", "mean of an empty tensor of shape {}", shape_str(x.shape()));
    return reduce("mean", x, 1, x.numel(), 1.0f / static_cast<float>(x.numel()), {});
}

Tensor sum(const Tensor& x, int axis, bool keepdim) {
    Shape shape = last_axis_shape("sum", x, axis, keepdim);
    const int64_t cols = x.size(-1);
    const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));  // 0 cols still has rows
    return reduce("sum", x, rows, cols, 1.0f, shape);
}

Tensor mean(const Tensor& x, int axis, bool keepdim) {
    Shape shape = last_axis_shape("mean", x, axis, keepdim);
    const int64_t cols = x.size(-1);
    if (cols == 0) fail("mean", "mean over an empty last axis in shape {}", shape_str(x.shape()));
    return reduce("mean", x, x.numel() / cols, cols, 1.0f / static_cast<float>(cols), shape);
}

}  // namespace bayun
