// Causal self-attention, fused: the scores, the causal mask, the softmax and the weighted sum of the values
// in one op that reads Q, K and V straight out of c_attn's output and writes the heads side by side, ready
// for c_proj. The same computation, one small op at a time, is MultiHeadAttention::attend_step_by_step
// (nn/attention.cpp); the tests check that both agree, values and gradients.
//
// For each sequence b and head h, with Q, K, V the (T, D) slices of head h (Tk keys and values when a
// KV cache holds earlier positions):
//   S = Q K^T / sqrt(D)          (T, Tk)   scores: how well each query matches each key
//   P = causal_softmax(S)        (T, Tk)   weights: query t sees keys j <= t + (Tk - T); each row sums to 1
//   O = P V                      (T, D)    each query's output: the weighted sum of the values
// Backward, with dO the gradient of O:
//   dP = dO V^T     dV += P^T dO     dS = P * (dP - rowsum(dP * P)) / sqrt(D)     dQ += dS K     dK += dS^T Q
// With dropout on the weights, P is replaced by P * M in O (M: 0 or 1/(1-p) per weight), and dP by dP * M.
//
// What fusing saves: no split/permute copies of Q, K, V and no transpose of K (gemm_strided reads each head's
// columns in place), no separate scaled-score and softmax tensors (P is the only (T, Tk) tensor kept for
// backward), no permute back, and no products above the causal diagonal.
#include "autograd/kernels.h"
#include "autograd/node.h"
#include "autograd/ops.h"
#include "autograd/rng.h"
#include "autograd/vec_math.h"

#include <cmath>
#include <limits>
#include <vector>

namespace bayun {

namespace {

// Where one (sequence, head) finds its operands: the start of its D columns and the distance between rows.
struct HeadSlices {
    const float* q;  // (T, D), rows ld_q apart
    const float* k;  // (Tk, D), rows ld_kv apart
    const float* v;  // (Tk, D), rows ld_kv apart
    int64_t ld_q, ld_kv;
};

struct AttentionShape {
    int64_t B, T, Tk, H, D;
    int64_t C() const { return H * D; }
    // Query t sees keys [0, visible(t)): itself and everything before it.
    int64_t visible(int64_t t) const { return t + (Tk - T) + 1; }
    // Queries are processed in blocks of this many rows, so that no product is computed for a block of keys
    // that lies entirely in the future of every query in the block: 64 rows, or 32 for a sequence of at most
    // 64 positions, which as one block would compute the whole square (two blocks skip a quarter of it).
    int64_t query_block() const { return T <= 64 ? 32 : 64; }
};

// S = Q K^T / sqrt(D), then the causal softmax of each row, in place: p (T, Tk) ends up holding P, with
// exact zeros in the future.
void scores_and_softmax(const AttentionShape& s, const HeadSlices& head, float* p) {
    const float scale = 1.0f / std::sqrt(static_cast<float>(s.D));
    for (int64_t t0 = 0; t0 < s.T; t0 += s.query_block()) {
        const int64_t rows = std::min(s.query_block(), s.T - t0);
        const int64_t keys = s.visible(t0 + rows - 1);  // the last query of the block sees the most keys
        gemm_strided(rows, keys, s.D, head.q + t0 * head.ld_q, head.ld_q, false, head.k, head.ld_kv, true,
                     p + t0 * s.Tk, s.Tk, false);
    }
    for (int64_t t = 0; t < s.T; ++t) {
        float* row = p + t * s.Tk;
        const int64_t n = s.visible(t);
        for (int64_t j = 0; j < n; ++j) row[j] *= scale;
        const float max = max_of(row, n);
        const float total = exp_shifted(row, row, n, max);
        const float inv = 1.0f / total;
        for (int64_t j = 0; j < n; ++j) row[j] *= inv;
        for (int64_t j = n; j < s.Tk; ++j) row[j] = 0.0f;  // the future gets no weight
    }
}

// O = P V, written into (T, D) with rows ld_out apart. P is read only up to each block's causal limit.
void weighted_values(const AttentionShape& s, const HeadSlices& head, const float* p, float* out, int64_t ld_out) {
    for (int64_t t0 = 0; t0 < s.T; t0 += s.query_block()) {
        const int64_t rows = std::min(s.query_block(), s.T - t0);
        const int64_t keys = s.visible(t0 + rows - 1);
        gemm_strided(rows, s.D, keys, p + t0 * s.Tk, s.Tk, false, head.v, head.ld_kv, false, out + t0 * ld_out,
                     ld_out, false);
    }
}

// Runs body(i) for i in [0, n) over threads when there is enough work, each i owning its outputs.
template <typename Body>
void for_each_head(int64_t n, int64_t work_per_head, Body body) {
    parallel_for(n, !reference_kernels() && n * work_per_head >= (int64_t{1} << 12), body);
}

struct AttentionNode : Node {
    AttentionShape s;
    Tensor p;     // (B, H, T, T): the softmax weights, detached
    Tensor mask;  // (B, H, T, T): dropout's 0 or 1/(1-p), or undefined without dropout
    AttentionNode(const Tensor& qkv, AttentionShape shape, Tensor weights, Tensor dropout_mask)
        : Node("causal_attention", {qkv}), s(shape), p(std::move(weights)), mask(std::move(dropout_mask)) {}

    void backward(const Tensor& dout) override {
        float* dqkv = dinput(0);
        if (!dqkv) return;
        const int64_t C = s.C(), T = s.T;
        const float scale = 1.0f / std::sqrt(static_cast<float>(s.D));
        const float* qkv = inputs[0].data();
        for_each_head(s.B * s.H, T * T * s.D, [&](int64_t bh) {
            const int64_t b = bh / s.H, h = bh % s.H;
            const HeadSlices head{qkv + b * T * 3 * C + h * s.D, qkv + b * T * 3 * C + C + h * s.D,
                                  qkv + b * T * 3 * C + 2 * C + h * s.D, 3 * C, 3 * C};
            float* dq = dqkv + b * T * 3 * C + h * s.D;
            float* dk = dq + C;
            float* dv = dq + 2 * C;
            const float* d_o = dout.data() + b * T * C + h * s.D;  // (T, D), rows C apart
            const float* pw = p.data() + bh * T * T;
            const float* m = mask.defined() ? mask.data() + bh * T * T : nullptr;
            thread_local std::vector<float> dp_buffer, pm_buffer;
            dp_buffer.resize(static_cast<size_t>(s.query_block() * T));
            pm_buffer.resize(static_cast<size_t>(s.query_block() * T));
            // One block of queries at a time; its queries see keys [0, keys) and nothing after.
            for (int64_t t0 = 0; t0 < T; t0 += s.query_block()) {
                const int64_t rows = std::min(s.query_block(), T - t0), keys = t0 + rows;
                const float* pb = pw + t0 * T;  // this block's weights, (rows, keys), rows T apart
                float* dp = dp_buffer.data();   // (rows, keys), rows T apart
                // dP = dO V^T.
                gemm_strided(rows, keys, s.D, d_o + t0 * C, C, false, head.v, head.ld_kv, true, dp, T, false);
                // dV += (P M)^T dO: what each value received, times the gradient of the outputs it went to.
                const float* used = pb;
                if (m) {
                    const float* mb = m + t0 * T;
                    for (int64_t t = 0; t < rows; ++t)
                        for (int64_t j = 0; j < keys; ++j) {
                            pm_buffer[t * T + j] = pb[t * T + j] * mb[t * T + j];
                            dp[t * T + j] *= mb[t * T + j];
                        }
                    used = pm_buffer.data();
                }
                gemm_strided(keys, s.D, rows, used, T, true, d_o + t0 * C, C, false, dv, head.ld_kv, true);
                // dS = P * (dP - rowsum(dP * P)) / sqrt(D): the softmax's backward, then the scale's.
                for (int64_t t = 0; t < rows; ++t) {
                    const float* pr = pb + t * T;
                    float* row = dp + t * T;
                    const int64_t n = t0 + t + 1;  // the keys query t0 + t sees
                    const float dot = lane_sum(n, [&](int64_t j) { return row[j] * pr[j]; });
                    for (int64_t j = 0; j < n; ++j) row[j] = pr[j] * (row[j] - dot) * scale;
                    for (int64_t j = n; j < keys; ++j) row[j] = 0.0f;
                }
                // dQ += dS K and dK += dS^T Q.
                gemm_strided(rows, s.D, keys, dp, T, false, head.k, head.ld_kv, false, dq + t0 * 3 * C, 3 * C, true);
                gemm_strided(keys, s.D, rows, dp, T, true, head.q + t0 * head.ld_q, head.ld_q, false, dk, 3 * C, true);
            }
        });
    }
};

}  // namespace

void attend_last_position(const float* q, const float* keys, const float* values, int64_t T_max, int64_t kv_length,
                          int64_t C, int64_t n_head, int64_t head_begin, int64_t head_end, float* out) {
    const AttentionShape s{1, 1, kv_length, n_head, C / n_head};
    thread_local std::vector<float> p;  // (Tk,): one head's weights over the keys
    p.resize(static_cast<size_t>(kv_length));
    for (int64_t h = head_begin; h < head_end; ++h) {
        const HeadSlices head{q + h * s.D, keys + h * T_max * s.D, values + h * T_max * s.D, C, s.D};
        scores_and_softmax(s, head, p.data());
        weighted_values(s, head, p.data(), out + h * s.D, C);
    }
}

Tensor causal_attention(const Tensor& qkv, int64_t n_head, const AttentionOptions& options) {
    if (qkv.dim() != 3 || n_head <= 0 || qkv.size(2) % (3 * n_head) != 0)
        fail("causal_attention", "expected qkv (B, T, 3C) with C divisible by the {} heads, found {}", n_head,
             shape_str(qkv.shape()));
    const int64_t B = qkv.size(0), T = qkv.size(1), C = qkv.size(2) / 3;
    const bool cached = options.cache_k != nullptr;
    AttentionShape s{B, T, T, n_head, C / n_head};
    // Where head h of sequence b finds its keys and values: in qkv (columns C and 2C of each row, rows 3C apart),
    // or in the cache (B, H, T_max, D): one (T_max, D) block per head, rows D apart.
    const auto slices = [&](int64_t b, int64_t h) {
        const float* q = qkv.data() + b * T * 3 * C + h * s.D;
        if (!cached) return HeadSlices{q, q + C, q + 2 * C, 3 * C, 3 * C};
        const int64_t at = (b * n_head + h) * options.cache_k->size(2) * s.D;
        return HeadSlices{q, options.cache_k->data() + at, options.cache_v->data() + at, 3 * C, s.D};
    };
    if (cached) {
        const Tensor& k = *options.cache_k;
        const Shape expected{B, n_head, k.dim() == 4 ? k.size(2) : 0, s.D};
        if (k.shape() != expected || !options.cache_v || options.cache_v->shape() != expected ||
            options.kv_length < T || options.kv_length > expected[2])
            fail("causal_attention", "the KV cache {} holding {} positions does not fit qkv {} with {} heads",
                 shape_str(k.shape()), options.kv_length, shape_str(qkv.shape()), n_head);
        s.Tk = options.kv_length;
    }
    const bool dropping = options.training && options.dropout > 0.0f;
    if (dropping && (!options.rng || !(options.dropout < 1.0f)))
        fail("causal_attention", "dropout {} needs a probability in [0, 1) and an Rng", options.dropout);
    const bool graph = needs_graph({qkv});
    if (graph && cached)
        fail("causal_attention", "the KV cache is for inference: call it without gradients (NoGradGuard)");

    Tensor out = Tensor::empty({B, T, C});
    Tensor p = Tensor::empty({B, n_head, T, s.Tk});  // the weights, one (T, Tk) matrix per sequence and head
    Tensor mask;
    if (dropping) {  // drawn in a fixed order, on one thread, so a run is reproducible
        mask = Tensor::empty(p.shape());
        const float keep = 1.0f / (1.0f - options.dropout);
        for (float& m : mask.values()) m = options.rng->uniform() < options.dropout ? 0.0f : keep;
    }
    for_each_head(B * n_head, T * s.Tk * s.D, [&](int64_t bh) {
        const int64_t b = bh / n_head, h = bh % n_head;
        const HeadSlices head = slices(b, h);
        float* pw = p.data() + bh * T * s.Tk;
        scores_and_softmax(s, head, pw);
        const float* used = pw;
        thread_local std::vector<float> pm_buffer;
        if (dropping) {
            pm_buffer.resize(static_cast<size_t>(T * s.Tk));
            const float* m = mask.data() + bh * T * s.Tk;
            for (int64_t i = 0; i < T * s.Tk; ++i) pm_buffer[i] = pw[i] * m[i];
            used = pm_buffer.data();
        }
        weighted_values(s, head, used, out.data() + b * T * C + h * s.D, C);
    });
    if (options.weights) *options.weights = p;
    if (graph) attach(out, std::make_shared<AttentionNode>(qkv, s, p, mask));
    return out;
}

}  // namespace bayun
