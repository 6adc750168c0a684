// The public ops of the autograd engine: free functions that check their inputs loudly, compute the
// forward values, and record a Node for backward when grad mode is on and an input requires grad.
// Each family lives in its own file with its kernels and Nodes (ops_elementwise.cpp, ops_matmul.cpp, ...).
#pragma once

#include "autograd/tensor.h"

#include <cstdint>
#include <span>
#include <vector>

namespace bayun {

class Rng;

// ---- ops_elementwise.cpp --------------------------------------------------------------------------------
// Binary ops broadcast over leading dimensions: the smaller shape must equal the trailing dimensions of
// the larger, as a bias (C) added to activations (B, T, C), or a row vector (N) to a matrix (M, N).
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float s);
Tensor mul(const Tensor& a, float s);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // the tanh approximation used by GPT-2

inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator+(const Tensor& a, float s) { return add(a, s); }
inline Tensor operator-(const Tensor& a, float s) { return add(a, -s); }
inline Tensor operator*(const Tensor& a, float s) { return mul(a, s); }
inline Tensor operator*(float s, const Tensor& a) { return mul(a, s); }
inline Tensor operator/(const Tensor& a, float s) { return mul(a, 1.0f / s); }
inline Tensor operator-(const Tensor& x) { return neg(x); }

// ---- ops_reduce.cpp -------------------------------------------------------------------------------------
Tensor sum(const Tensor& x);                                  // all elements -> scalar
Tensor mean(const Tensor& x);                                 // all elements -> scalar
Tensor sum(const Tensor& x, int axis, bool keepdim = false);  // axis must be the last (-1 or rank-1)
Tensor mean(const Tensor& x, int axis, bool keepdim = false);

// ---- ops_matmul.cpp -------------------------------------------------------------------------------------
// (M, K) x (K, N); (..., M, K) x (K, N) for linear layers; (..., M, K) x (..., M, K)-batched for attention.
Tensor matmul(const Tensor& a, const Tensor& b);
// y = x W^T + b with W stored (out, in) like torch.nn.Linear; x (..., in) -> y (..., out). bias may be undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

// ---- ops_shape.cpp --------------------------------------------------------------------------------------
Tensor reshape(const Tensor& x, Shape shape);  // a view (shares values); one dimension may be -1
Tensor transpose(const Tensor& x);             // swaps the last two dimensions (copies)
Tensor permute(const Tensor& x, const std::vector<int>& order);  // out dim i = x dim order[i] (copies)
std::vector<Tensor> split(const Tensor& x, const std::vector<int64_t>& sizes);  // along the last axis
Tensor concat(const std::vector<Tensor>& xs);  // along the last axis

// ---- ops_softmax.cpp ------------------------------------------------------------------------------------
// Softmax over the last axis. With causal, x is (..., Tq, Tk) scores and query row i may only see keys
// j <= i + (Tk - Tq): the future is masked to probability 0 (Tq < Tk when a KV cache holds the past).
Tensor softmax(const Tensor& x, bool causal = false);
Tensor log_softmax(const Tensor& x);

// ---- ops_loss.cpp ---------------------------------------------------------------------------------------
// Mean cross-entropy of logits (..., V) against integer targets (one per row of logits); a target of
// ignore_index contributes nothing. Fused log-softmax + negative log-likelihood (stable, one pass).
constexpr int32_t ignore_index = -1;
Tensor cross_entropy(const Tensor& logits, std::span<const int32_t> targets);

// ---- ops_layernorm.cpp ----------------------------------------------------------------------------------
// Normalises each row of x (..., C) to mean 0 and variance 1, then scales by weight (C) and shifts by bias (C).
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps = 1e-5f);

// ---- ops_embedding.cpp ----------------------------------------------------------------------------------
// Gathers rows of weight (V, C): ids of shape ids_shape -> (ids_shape..., C).
Tensor embedding(const Tensor& weight, std::span<const int32_t> ids, const Shape& ids_shape);

// ---- ops_attention.cpp ----------------------------------------------------------------------------------
// Causal self-attention of every head, fused (scores, mask, softmax, weighted sum in one op):
// qkv (B, T, 3C) = [q | k | v] as c_attn computes it, head h owning channels [hD, (h+1)D) of each part;
// returns (B, T, C), the heads side by side. nn/attention.cpp has the same computation op by op.
struct AttentionOptions {
    float dropout = 0.0f;  // on the attention weights, while training
    bool training = false;
    Rng* rng = nullptr;                 // draws the dropout mask
    const Tensor* cache_k = nullptr;    // inference: the KV cache's keys and values, (B, H, T_max, D) each;
    const Tensor* cache_v = nullptr;    // attention reads their first kv_length rows
    int64_t kv_length = 0;              // rows, the last T of which are this call's positions
    Tensor* weights = nullptr;          // if set, receives the weights P (B, H, T, Tk) (for inspection)
};
Tensor causal_attention(const Tensor& qkv, int64_t n_head, const AttentionOptions& options = {});

// ---- ops_dropout.cpp ------------------------------------------------------------------------------------
// Zeroes each element with probability p and scales the rest by 1/(1-p); identity when !training or p == 0.
Tensor dropout(const Tensor& x, float p, bool training, Rng& rng);

}  // namespace bayun
