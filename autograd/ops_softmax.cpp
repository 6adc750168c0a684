// Softmax and log-softmax over the last axis. In attention, softmax turns each query's scores over the
// keys into weights that sum to 1; the causal mask gives the future weight 0, so position t only looks back.
//   softmax:     y = exp(x - max) / sum exp(x - max)      dx = y * (dy - sum(dy * y))
//   log_softmax: y = x - max - log sum exp(x - max)       dx = dy - softmax(x) * sum(dy)
// Shapes: x (..., R, N); with causal, row r (of R) sees columns j <= r + (N - R).
#include "autograd/kernels.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/vec_math.h"

#include <cmath>
#include <limits>

namespace bayun {

namespace {

// How many leading columns of row `r` are visible: all of them, or up to the causal diagonal.
inline int64_t visible(bool causal, int64_t r, int64_t rows_per_matrix, int64_t cols) {
    if (!causal) return cols;
    const int64_t row_in_matrix = r % rows_per_matrix;
    return std::min(cols, row_in_matrix + (cols - rows_per_matrix) + 1);
}

void softmax_rows(const float* x, float* y, int64_t rows, int64_t cols, int64_t rows_per_matrix, bool causal,
                  bool log_form) {
    parallel_for(rows, !reference_kernels() && rows * cols > 16384, [&](int64_t r) {
        const float* xr = x + r * cols;
        float* yr = y + r * cols;
        const int64_t n = visible(causal, r, rows_per_matrix, cols);
        const float max = max_of(xr, n);
        const float total = exp_shifted(xr, yr, n, max);  // yr = exp(x - max), unnormalised
        if (log_form) {
            const float log_total = std::log(total);
            for (int64_t j = 0; j < n; ++j) yr[j] = xr[j] - max - log_total;
        } else {
            const float inv = 1.0f / total;
            for (int64_t j = 0; j < n; ++j) yr[j] *= inv;
        }
        for (int64_t j = n; j < cols; ++j) yr[j] = 0.0f;  // masked: the future gets no weight
    });
}

struct SoftmaxNode : Node {
    Tensor y;  // the output probabilities (or log-probabilities), detached
    int64_t rows, cols, rows_per_matrix;
    bool causal, log_form;
    SoftmaxNode(const Tensor& x, const Tensor& out, int64_t r, int64_t c, int64_t rpm, bool cz, bool lf)
        : Node(lf ? "log_softmax" : "softmax", {x}), y(out.detach()), rows(r), cols(c), rows_per_matrix(rpm),
          causal(cz), log_form(lf) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx) return;
        const float* yv = y.data();
        const float* d = dout.data();
        parallel_for(rows, !reference_kernels() && rows * cols > 16384, [&](int64_t r) {
            const float* yr = yv + r * cols;
            const float* dr = d + r * cols;
            float* dxr = dx + r * cols;
            const int64_t n = visible(causal, r, rows_per_matrix, cols);
            if (log_form) {  // dx = dy - softmax * sum(dy), softmax = exp(y)
                float total = 0.0f;
                for (int64_t j = 0; j < n; ++j) total += dr[j];
                for (int64_t j = 0; j < n; ++j) dxr[j] += dr[j] - std::exp(yr[j]) * total;
            } else {  // dx = y * (dy - sum(dy * y))
                float dot = 0.0f;
                for (int64_t j = 0; j < n; ++j) dot += dr[j] * yr[j];
                for (int64_t j = 0; j < n; ++j) dxr[j] += yr[j] * (dr[j] - dot);
            }
        });
    }
};

Tensor softmax_impl(const Tensor& x, bool causal, bool log_form) {
    const char* name = log_form ? "log_softmax" : "softmax";
    if (x.dim() == 0) fail(name, "needs at least one dimension, found a scalar");
    if (causal && x.dim() < 2) fail(name, "a causal mask needs (..., Tq, Tk) scores, found {}", shape_str(x.shape()));
    const int64_t cols = x.size(-1);
    const int64_t rows_per_matrix = causal ? x.size(-2) : 1;
    if (causal && rows_per_matrix > cols)
        fail(name, "causal scores need Tq <= Tk, found {} (more queries than keys)", shape_str(x.shape()));
    const int64_t rows = cols ? x.numel() / cols : 0;
    Tensor out = Tensor::empty(x.shape());
    softmax_rows(x.data(), out.data(), rows, cols, rows_per_matrix, causal, log_form);
    if (needs_graph({x}))
        attach(out, std::make_shared<SoftmaxNode>(x, out, rows, cols, rows_per_matrix, causal, log_form));
    return out;
}

}  // namespace

Tensor softmax(const Tensor& x, bool causal) { return softmax_impl(x, causal, false); }
Tensor log_softmax(const Tensor& x) { return softmax_impl(x, false, true); }

}  // namespace bayun
