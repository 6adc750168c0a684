// Matrix multiply, the transformer's workhorse: every linear layer (Q, K, V, output projection, FFN,
// lm_head) and attention's scores (Q K^T) and weighted sum (P V). All of it runs through gemm().
//   matmul: out = a b           da += dout b^T        db += a^T dout
//   linear: y = x W^T + bias    dx += dy W            dW += dy^T x          dbias += sum over rows of dy
// Shapes: (M, K) x (K, N); (..., M, K) x (K, N) treats the leading dims as more rows; batched x batched
// multiplies matching (M, K) and (K, N) slices.
#include "autograd/kernels.h"
#include "autograd/node.h"
#include "autograd/ops.h"

namespace bayun {

namespace {

struct MatmulPlan {
    int64_t batch, M, K, N;
    bool batched_b;  // b has the same leading dims as a (attention), else b is one (K, N) matrix
};

MatmulPlan plan_matmul(const Tensor& a, const Tensor& b) {
    const auto mismatch = [&](const char* why) {
        fail("matmul", "{}: a {} vs b {} (expected (..., M, K) x (K, N) or (..., M, K) x (..., K, N))", why,
             shape_str(a.shape()), shape_str(b.shape()));
    };
    if (a.dim() < 2 || b.dim() < 2) mismatch("both operands need at least 2 dimensions");
    const int64_t M = a.size(-2), K = a.size(-1);
    const int64_t Kb = b.size(-2), N = b.size(-1);
    if (K != Kb) mismatch("inner dims differ");
    const int64_t batch = shape_numel(Shape(a.shape().begin(), a.shape().end() - 2));
    if (b.dim() == 2) return {batch, M, K, N, false};
    if (a.dim() != b.dim() || !std::equal(a.shape().begin(), a.shape().end() - 2, b.shape().begin()))
        mismatch("batch dims differ");
    return {batch, M, K, N, true};
}

// Batched products run one per thread (each gemm then stays on its thread) when there are several of
// them and enough work to share.
bool batch_in_parallel(const MatmulPlan& p) {
    return !reference_kernels() && p.batch > 1 && p.batch * p.M * p.N * p.K >= (int64_t{1} << 16);
}

Shape matmul_shape(const Tensor& a, const MatmulPlan& p) {
    Shape shape = a.shape();
    shape.back() = p.N;
    return shape;
}

struct MatmulNode : Node {
    MatmulPlan p;
    MatmulNode(const Tensor& a, const Tensor& b, MatmulPlan plan) : Node("matmul", {a, b}), p(plan) {}
    void backward(const Tensor& dout) override {
        const float* a = inputs[0].data();
        const float* b = inputs[1].data();
        const float* d = dout.data();
        float* da = dinput(0);
        float* db = dinput(1);
        if (!p.batched_b) {
            // All batches are rows of one big (batch*M, K) x (K, N) product.
            const int64_t rows = p.batch * p.M;
            if (da) gemm(rows, p.K, p.N, d, false, b, true, da, true);  // da += dout b^T
            if (db) gemm(p.K, p.N, rows, a, true, d, false, db, true);  // db += a^T dout
            return;
        }
        // Attention: many small products, one per (batch, head); threads take whole products.
        parallel_for(p.batch, batch_in_parallel(p), [&](int64_t i) {
            const float* ai = a + i * p.M * p.K;
            const float* bi = b + i * p.K * p.N;
            const float* di = d + i * p.M * p.N;
            if (da) gemm(p.M, p.K, p.N, di, false, bi, true, da + i * p.M * p.K, true);
            if (db) gemm(p.K, p.N, p.M, ai, true, di, false, db + i * p.K * p.N, true);
        });
    }
};

struct LinearNode : Node {
    int64_t rows, in, out;
    LinearNode(const Tensor& x, const Tensor& w, const Tensor& bias, int64_t r, int64_t i, int64_t o)
        : Node("linear", bias.defined() ? std::vector<Tensor>{x, w, bias} : std::vector<Tensor>{x, w}),
          rows(r), in(i), out(o) {}
    void backward(const Tensor& dout) override {
        const float* x = inputs[0].data();
        const float* w = inputs[1].data();
        const float* dy = dout.data();
        bool fresh = false;  // the gradient is new: = instead of +=
        if (float* dx = dinput(0, &fresh)) gemm(rows, in, out, dy, false, w, false, dx, !fresh);  // dx += dy W
        if (float* dw = dinput(1, &fresh)) gemm(out, in, rows, dy, true, x, false, dw, !fresh);   // dW += dy^T x
        if (inputs.size() == 3) {
            if (float* dbias = dinput(2))  // dbias += sum over rows of dy (threads own columns)
                parallel_columns(out, !reference_kernels() && rows * out > 16384, [&](int64_t o0, int64_t o1) {
                    for (int64_t r = 0; r < rows; ++r)
                        for (int64_t o = o0; o < o1; ++o) dbias[o] += dy[r * out + o];
                });
        }
    }
};

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b) {
    const MatmulPlan p = plan_matmul(a, b);
    Tensor out = Tensor::empty(matmul_shape(a, p));
    if (!p.batched_b) {
        gemm(p.batch * p.M, p.N, p.K, a.data(), false, b.data(), false, out.data(), false);
    } else {
        parallel_for(p.batch, batch_in_parallel(p), [&](int64_t i) {
            gemm(p.M, p.N, p.K, a.data() + i * p.M * p.K, false, b.data() + i * p.K * p.N, false,
                 out.data() + i * p.M * p.N, false);
        });
    }
    if (needs_graph({a, b})) attach(out, std::make_shared<MatmulNode>(a, b, p));
    return out;
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    if (weight.dim() != 2)
        fail("linear", "weight must be (out, in), found {}", shape_str(weight.shape()));
    const int64_t out_features = weight.size(0), in_features = weight.size(1);
    if (x.dim() < 1 || x.size(-1) != in_features)
        fail("linear", "input's last dim must equal the weight's in_features: x {} vs weight {} (out, in)",
             shape_str(x.shape()), shape_str(weight.shape()));
    if (bias.defined() && (bias.dim() != 1 || bias.size(0) != out_features))
        fail("linear", "bias must be ({},) to match weight {}, found {}", out_features, shape_str(weight.shape()),
             shape_str(bias.shape()));
    const int64_t rows = shape_numel(Shape(x.shape().begin(), x.shape().end() - 1));  // also when in_features is 0
    Shape shape = x.shape();
    shape.back() = out_features;
    Tensor y = Tensor::empty(shape);
    float* yv = y.data();
    if (bias.defined())  // y = x W^T + bias
        gemm_bias(rows, out_features, in_features, x.data(), false, weight.data(), true, bias.data(), yv);
    else
        gemm(rows, out_features, in_features, x.data(), false, weight.data(), true, yv, false);
    std::vector<Tensor> inputs{x, weight};
    if (bias.defined()) inputs.push_back(bias);
    if (needs_graph(inputs))
        attach(y, std::make_shared<LinearNode>(x, weight, bias, rows, in_features, out_features));
    return y;
}

}  // namespace bayun
