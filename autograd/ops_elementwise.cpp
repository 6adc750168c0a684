// Elementwise ops: add, sub, mul, div (with broadcasting over leading dimensions), scalar add and mul,
// neg, exp, log, tanh, relu, gelu. In the transformer: residual connections (add), biases (add with
// broadcast), the FFN's non-linearity (gelu or relu), attention's scale (scalar mul).
// The kernels are one loop each; the fast path only spreads the loop over threads (each owns its outputs).
#include "autograd/kernels.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/vec_math.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace bayun {

namespace {

// ---- binary ops with broadcasting -------------------------------------------------------------------------
// The smaller operand (s elements) repeats every s elements of the output (n elements): element i of the
// output reads a[i % na] and b[i % nb]. We loop as `outer` repeats of an `inner` block to avoid the modulo.
enum class BinaryOp { add, sub, mul, div };
const char* binary_name(BinaryOp op) {
    switch (op) {
        case BinaryOp::add: return "add";
        case BinaryOp::sub: return "sub";
        case BinaryOp::mul: return "mul";
        case BinaryOp::div: return "div";
    }
    return "?";
}

bool is_suffix(const Shape& small, const Shape& large) {
    if (small.size() > large.size()) return false;
    return std::equal(small.begin(), small.end(), large.end() - static_cast<std::ptrdiff_t>(small.size()));
}

Shape broadcast_shape(BinaryOp op, const Tensor& a, const Tensor& b) {
    if (is_suffix(b.shape(), a.shape())) return a.shape();
    if (is_suffix(a.shape(), b.shape())) return b.shape();
    fail(binary_name(op), "shapes do not broadcast: a {} vs b {} (the smaller shape must equal the trailing "
         "dimensions of the larger, like a bias (C) onto (B, T, C))", shape_str(a.shape()), shape_str(b.shape()));
}

inline float apply(BinaryOp op, float a, float b) {
    switch (op) {
        case BinaryOp::add: return a + b;
        case BinaryOp::sub: return a - b;
        case BinaryOp::mul: return a * b;
        case BinaryOp::div: return a / b;
    }
    return 0.0f;
}

// How the threads cut an elementwise loop over n outputs: a broadcast operand repeats every min(na, nb)
// values, so chunks follow that period; equal shapes (the residual adds) are cut into chunks of 4096.
int64_t chunk_size(int64_t na, int64_t nb, int64_t n) { return na == nb ? std::min<int64_t>(n, 4096) : std::min(na, nb); }

void binary_forward(BinaryOp op, const float* a, int64_t na, const float* b, int64_t nb, float* out, int64_t n) {
    const int64_t inner = chunk_size(na, nb, n);
    const int64_t outer = inner == 0 ? 0 : (n + inner - 1) / inner;
    parallel_for(outer, go_parallel(n), [&](int64_t o) {
        const float* ai = a + (na == n ? o * inner : 0);
        const float* bi = b + (nb == n ? o * inner : 0);
        float* oi = out + o * inner;
        const int64_t count = std::min(inner, n - o * inner);
        for (int64_t i = 0; i < count; ++i) oi[i] = apply(op, ai[i], bi[i]);
    });
}

// Backward, one line per input:
//   add: da += dout          db += dout
//   sub: da += dout          db -= dout
//   mul: da += dout * b      db += dout * a
//   div: da += dout / b      db -= dout * a / b^2
template <BinaryOp op>
float grad_a(float d, [[maybe_unused]] float a, [[maybe_unused]] float b) {
    if constexpr (op == BinaryOp::add || op == BinaryOp::sub) return d;
    else if constexpr (op == BinaryOp::mul) return d * b;
    else return d / b;
}
template <BinaryOp op>
float grad_b(float d, [[maybe_unused]] float a, [[maybe_unused]] float b) {
    if constexpr (op == BinaryOp::add) return d;
    else if constexpr (op == BinaryOp::sub) return -d;
    else if constexpr (op == BinaryOp::mul) return d * a;
    else return -d * a / (b * b);
}

// A full-size operand gets one gradient element per output element: threads split the rows. The broadcast
// operand (a bias, say) sums its gradient over the `outer` repeats: threads own its elements and add the
// repeats in order (the same sums, bit for bit, with any number of threads).
template <BinaryOp op>
void binary_backward(const float* a, int64_t na, const float* b, int64_t nb, const float* dout, int64_t n,
                     float* da, bool da_fresh, float* db, bool db_fresh) {
    const int64_t inner = std::min(na, nb);
    const int64_t outer = inner == 0 ? 0 : n / inner;
    const bool a_full = na == n, b_full = nb == n;
    float* da_full = a_full ? da : nullptr;
    float* db_full = b_full ? db : nullptr;
    float* da_broadcast = a_full ? nullptr : da;
    float* db_broadcast = b_full ? nullptr : db;
    const int64_t chunk = chunk_size(na, nb, n);
    parallel_for(chunk == 0 ? 0 : (n + chunk - 1) / chunk, go_parallel(n), [&](int64_t o) {
        const float* ao = a + (a_full ? o * chunk : 0);
        const float* bo = b + (b_full ? o * chunk : 0);
        const float* d = dout + o * chunk;
        const int64_t count = std::min(chunk, n - o * chunk);
        float* dao = da_full ? da_full + o * chunk : nullptr;
        float* dbo = db_full ? db_full + o * chunk : nullptr;
        if (dao && da_fresh)
            for (int64_t i = 0; i < count; ++i) dao[i] = grad_a<op>(d[i], ao[i], bo[i]);
        else if (dao)
            for (int64_t i = 0; i < count; ++i) dao[i] += grad_a<op>(d[i], ao[i], bo[i]);
        if (dbo && db_fresh)
            for (int64_t i = 0; i < count; ++i) dbo[i] = grad_b<op>(d[i], ao[i], bo[i]);
        else if (dbo)
            for (int64_t i = 0; i < count; ++i) dbo[i] += grad_b<op>(d[i], ao[i], bo[i]);
    });
    if (!da_broadcast && !db_broadcast) return;
    parallel_columns(inner, go_parallel(n), [&](int64_t i0, int64_t i1) {
        for (int64_t o = 0; o < outer; ++o) {
            const float* ao = a + (a_full ? o * inner : 0);
            const float* bo = b + (b_full ? o * inner : 0);
            const float* d = dout + o * inner;
            if (da_broadcast)
                for (int64_t i = i0; i < i1; ++i) da_broadcast[i] += grad_a<op>(d[i], ao[i], bo[i]);
            if (db_broadcast)
                for (int64_t i = i0; i < i1; ++i) db_broadcast[i] += grad_b<op>(d[i], ao[i], bo[i]);
        }
    });
}

void binary_backward(BinaryOp op, const float* a, int64_t na, const float* b, int64_t nb, const float* dout,
                     int64_t n, float* da, bool da_fresh, float* db, bool db_fresh) {
    switch (op) {
        case BinaryOp::add: return binary_backward<BinaryOp::add>(a, na, b, nb, dout, n, da, da_fresh, db, db_fresh);
        case BinaryOp::sub: return binary_backward<BinaryOp::sub>(a, na, b, nb, dout, n, da, da_fresh, db, db_fresh);
        case BinaryOp::mul: return binary_backward<BinaryOp::mul>(a, na, b, nb, dout, n, da, da_fresh, db, db_fresh);
        case BinaryOp::div: return binary_backward<BinaryOp::div>(a, na, b, nb, dout, n, da, da_fresh, db, db_fresh);
    }
}

struct BinaryNode : Node {
    BinaryOp kind;
    BinaryNode(BinaryOp k, const Tensor& a, const Tensor& b) : Node(binary_name(k), {a, b}), kind(k) {}
    void backward(const Tensor& dout) override {
        // A full-size input's gradient is written value by value (= when it is fresh); a broadcast one is a
        // sum over repeats, so it starts from zero.
        const int64_t n = dout.numel();
        bool a_fresh = false, b_fresh = false;
        float* da = inputs[0].numel() == n ? dinput(0, &a_fresh) : dinput(0);
        float* db = inputs[1].numel() == n ? dinput(1, &b_fresh) : dinput(1);
        binary_backward(kind, inputs[0].data(), inputs[0].numel(), inputs[1].data(), inputs[1].numel(), dout.data(), n,
                        da, a_fresh, db, b_fresh);
    }
};

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
    Tensor out = Tensor::empty(broadcast_shape(op, a, b));
    binary_forward(op, a.data(), a.numel(), b.data(), b.numel(), out.data(), out.numel());
    if (needs_graph({a, b})) attach(out, std::make_shared<BinaryNode>(op, a, b));
    return out;
}

// ---- unary ops -------------------------------------------------------------------------------------------
enum class UnaryOp { neg, exp, log, tanh, relu, add_scalar, mul_scalar };
const char* unary_name(UnaryOp op) {
    switch (op) {
        case UnaryOp::neg: return "neg";
        case UnaryOp::exp: return "exp";
        case UnaryOp::log: return "log";
        case UnaryOp::tanh: return "tanh";
        case UnaryOp::relu: return "relu";
        case UnaryOp::add_scalar: return "add_scalar";
        case UnaryOp::mul_scalar: return "mul_scalar";
    }
    return "?";
}

// Forward: y = f(x).
inline float unary_value(UnaryOp op, float x, float s) {
    switch (op) {
        case UnaryOp::neg: return -x;
        case UnaryOp::exp: return std::exp(x);
        case UnaryOp::log: return std::log(x);
        case UnaryOp::tanh: return std::tanh(x);
        case UnaryOp::relu: return x > 0.0f ? x : 0.0f;
        case UnaryOp::add_scalar: return x + s;
        case UnaryOp::mul_scalar: return x * s;
    }
    return 0.0f;
}

// Backward: dx = dout * f'(x), with f' written in terms of x and y = f(x):
//   neg: -1   exp: y   log: 1/x   tanh: 1 - y^2   relu: [x > 0]   add_scalar: 1   mul_scalar: s
inline float unary_derivative(UnaryOp op, float x, float y, float s) {
    switch (op) {
        case UnaryOp::neg: return -1.0f;
        case UnaryOp::exp: return y;
        case UnaryOp::log: return 1.0f / x;
        case UnaryOp::tanh: return 1.0f - y * y;
        case UnaryOp::relu: return x > 0.0f ? 1.0f : 0.0f;
        case UnaryOp::add_scalar: return 1.0f;
        case UnaryOp::mul_scalar: return s;
    }
    return 0.0f;
}

struct UnaryNode : Node {
    UnaryOp kind;
    float scalar;
    Tensor y;  // the output's values (exp and tanh read them); detached, so no reference cycle
    UnaryNode(UnaryOp k, const Tensor& x, float s, const Tensor& out)
        : Node(unary_name(k), {x}), kind(k), scalar(s), y(out.detach()) {}
    void backward(const Tensor& dout) override {
        float* dx = dinput(0);
        if (!dx) return;
        const float* x = inputs[0].data();
        const float* yv = y.data();
        const float* d = dout.data();
        const int64_t n = dout.numel();
        parallel_for(n, go_parallel(n), [&](int64_t i) { dx[i] += d[i] * unary_derivative(kind, x[i], yv[i], scalar); });
    }
};

Tensor unary(UnaryOp op, const Tensor& x, float s = 0.0f) {
    Tensor out = Tensor::empty(x.shape());
    const float* xv = x.data();
    float* y = out.data();
    const int64_t n = x.numel();
    parallel_for(n, go_parallel(n), [&](int64_t i) { y[i] = unary_value(op, xv[i], s); });
    if (needs_graph({x})) attach(out, std::make_shared<UnaryNode>(op, x, s, out));
    return out;
}

// ---- gelu ------------------------------------------------------------------------------------------------
// GPT-2's tanh approximation of x * Phi(x), the FFN's non-linearity:
//   y = 0.5 x (1 + t),   t = tanh(k (x + c x^3)),  k = sqrt(2 / pi), c = 0.044715
//   dx = dout * (0.5 (1 + t) + 0.5 x (1 - t^2) k (1 + 3 c x^2))
// Its own Node because backward reuses t from forward (tanh was a quarter of a training step's time when
// recomputed), and tanh is computed as 1 - 2 / (exp(2u) + 1), which is several times faster than tanhf.
constexpr float gelu_k = 0.7978845608028654f;  // sqrt(2 / pi)
constexpr float gelu_c = 0.044715f;

inline float fast_tanh(float u) { return 1.0f - 2.0f / (std::exp(2.0f * u) + 1.0f); }

}  // namespace

// y = gelu(x) for n values, 8 at a time with AVX2, then the rest; t (optional) receives the tanh backward
// needs. y may be x (in place).
void gelu_values(const float* x, float* y, float* t, int64_t n) {
    int64_t i = 0;
#ifdef BAYUN_VEC_MATH_AVX2
    for (; !reference_kernels() && i + 8 <= n; i += 8) {
        const __m256 xi = _mm256_loadu_ps(x + i);
        const __m256 x3 = _mm256_mul_ps(_mm256_mul_ps(xi, xi), xi);
        const __m256 u = _mm256_mul_ps(_mm256_set1_ps(gelu_k), _mm256_fmadd_ps(_mm256_set1_ps(gelu_c), x3, xi));
        const __m256 e = exp8(_mm256_add_ps(u, u));  // tanh(u) = 1 - 2 / (exp(2u) + 1)
        const __m256 one = _mm256_set1_ps(1.0f);
        const __m256 ti = _mm256_sub_ps(one, _mm256_div_ps(_mm256_set1_ps(2.0f), _mm256_add_ps(e, one)));
        if (t) _mm256_storeu_ps(t + i, ti);
        _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_set1_ps(0.5f), xi), _mm256_add_ps(one, ti)));
    }
#endif
    for (; i < n; ++i) {
        const float xi = x[i];
        const float ti = fast_tanh(gelu_k * (xi + gelu_c * xi * xi * xi));
        if (t) t[i] = ti;
        y[i] = 0.5f * xi * (1.0f + ti);
    }
}

namespace {

struct GeluNode : Node {
    Tensor t;  // tanh(k (x + c x^3)) per element, from forward
    GeluNode(const Tensor& x, Tensor saved_t) : Node("gelu", {x}), t(std::move(saved_t)) {}
    void backward(const Tensor& dout) override {
        bool fresh = false;
        float* dx = dinput(0, &fresh);
        if (!dx) return;
        const float* x = inputs[0].data();
        const float* tv = t.data();
        const float* d = dout.data();
        const int64_t n = dout.numel();
        const auto dgelu = [&](int64_t i) {  // dout * d gelu / dx
            const float xi = x[i], ti = tv[i];
            return d[i] * (0.5f * (1.0f + ti) + 0.5f * xi * (1.0f - ti * ti) * gelu_k * (1.0f + 3.0f * gelu_c * xi * xi));
        };
        if (fresh)
            parallel_for(n, go_parallel(n), [&](int64_t i) { dx[i] = dgelu(i); });
        else
            parallel_for(n, go_parallel(n), [&](int64_t i) { dx[i] += dgelu(i); });
    }
};

}  // namespace

Tensor gelu(const Tensor& x) {
    Tensor out = Tensor::empty(x.shape());
    Tensor t = Tensor::empty(x.shape());
    const float* xv = x.data();
    float* y = out.data();
    float* tv = t.data();
    const int64_t n = x.numel();
    const int64_t chunk = 1024;  // threads take chunks
    parallel_for((n + chunk - 1) / chunk, go_parallel(n), [&](int64_t chunk_index) {
        const int64_t i0 = chunk_index * chunk, i1 = std::min(n, i0 + chunk);
        gelu_values(xv + i0, y + i0, tv + i0, i1 - i0);
    });
    if (needs_graph({x})) attach(out, std::make_shared<GeluNode>(x, t));
    return out;
}

Tensor add(const Tensor& a, const Tensor& b) { return binary(BinaryOp::add, a, b); }
Tensor sub(const Tensor& a, const Tensor& b) { return binary(BinaryOp::sub, a, b); }
Tensor mul(const Tensor& a, const Tensor& b) { return binary(BinaryOp::mul, a, b); }
Tensor div(const Tensor& a, const Tensor& b) { return binary(BinaryOp::div, a, b); }
Tensor add(const Tensor& a, float s) { return unary(UnaryOp::add_scalar, a, s); }
Tensor mul(const Tensor& a, float s) { return unary(UnaryOp::mul_scalar, a, s); }
Tensor neg(const Tensor& x) { return unary(UnaryOp::neg, x); }
Tensor exp(const Tensor& x) { return unary(UnaryOp::exp, x); }
Tensor log(const Tensor& x) { return unary(UnaryOp::log, x); }
Tensor tanh(const Tensor& x) { return unary(UnaryOp::tanh, x); }
Tensor relu(const Tensor& x) { return unary(UnaryOp::relu, x); }

}  // namespace bayun
