// The one-token decode step on raw vectors. At one position the maths is small (S: about a million
// multiply-adds per token) and the modules' path spends more time around it than in it: a Tensor, a
// graph check and a buffer per op, and an OpenMP region for every matrix-vector product, about 20 per
// token, each waking and joining the other core. This step instead:
//  - works on the modules' own weights and a few vectors allocated once;
//  - runs the whole token in one OpenMP region. Each thread owns the same rows of every weight matrix on
//    every token (and the same attention heads), so on a laptop's cores each keeps its share of the
//    weights in its own cache from token to token; the threads meet at 4 barriers per block;
//  - keeps a copy of the residual stream per thread: the elementwise work on it (residual adds, layer
//    norms, C values each) is repeated by every thread, which costs less than another barrier would.
// Shapes: C channels, H heads, D = C / H, V vocabulary, Tk = positions in the cache.
#include "infer/decode_step.h"

#include "autograd/error.h"
#include "autograd/kernels.h"

#include <algorithm>

#ifdef _OPENMP
#include <omp.h>
#endif

namespace bayun {

namespace {

// [begin, end) of the rows that thread `thread` of `threads` computes out of n. The boundaries are
// multiples of 8 (the matrix-vector kernel's row group) wherever n allows.
std::pair<int64_t, int64_t> row_share(int64_t n, int thread, int threads) {
    const auto boundary = [&](int t) { return t == threads ? n : n * t / threads / 8 * 8; };
    return {boundary(thread), boundary(thread + 1)};
}

// out[0, end - begin) = rows [begin, end) of layer(in): W[begin:end] in + b[begin:end]. One thread's slice
// of a Linear's output; the rows of W (out, in) are contiguous, so the slice reads one block of memory.
void linear_rows(const nn::Linear& layer, const float* in, int64_t begin, int64_t end, float* out) {
    const int64_t K = layer.weight.size(1);
    if (end <= begin) return;
    gemm_strided(1, end - begin, K, in, K, false, layer.weight.data() + begin * K, K, /*trans_b=*/true, out,
                 end - begin, /*accumulate=*/false);
    if (layer.bias.defined()) {
        const float* bias = layer.bias.data();
        for (int64_t r = begin; r < end; ++r) out[r - begin] += bias[r];
    }
}

void layer_norm(const nn::LayerNorm& norm, const float* x, float* y) {
    layer_norm_row(x, norm.weight.data(), norm.bias.data(), norm.weight.size(0), nn::LayerNorm::eps, y);
}

// Threads are worth waking only for a model of some size: below this many multiply-adds per token the
// barriers cost more than the second core saves.
constexpr int64_t parallel_macs = int64_t{1} << 17;

}  // namespace

DecodeStep::DecodeStep(const nn::GPT& model) : model_(model) {
    const nn::GPTConfig& c = model.config();
    heads_.resize(static_cast<size_t>(c.n_embd));
    branch_.resize(static_cast<size_t>(c.n_embd));
    hidden_.resize(static_cast<size_t>(4 * c.n_embd));
    logits_.resize(static_cast<size_t>(c.vocab_size));
}

bool DecodeStep::enabled() { return !reference_kernels(); }

std::span<const float> DecodeStep::run(int32_t token, nn::KvCache& cache) {
    const nn::GPTConfig& c = model_.config();
    const int64_t pos = cache.length();  // the new token's position
    if (token < 0 || token >= c.vocab_size)
        fail("decode", "token id {} is outside the vocabulary [0, {})", token, c.vocab_size);
    if (static_cast<int64_t>(cache.layers.size()) != c.n_layer)
        fail("decode", "the KV cache has {} layers, the model {}", cache.layers.size(), c.n_layer);
    const Tensor& keys = cache.layers[0].k;
    if (keys.size(0) != 1 || keys.size(1) != c.n_head || keys.size(3) != c.head_size())
        fail("decode", "the KV cache {} does not fit this model: expected (1, {}, T_max, {}) for one sequence",
             shape_str(keys.shape()), c.n_head, c.head_size());
    if (pos >= cache.capacity() || pos >= c.block_size)
        fail("decode", "position {} is past the context ({} positions): the generator slides the window first", pos,
             std::min(cache.capacity(), c.block_size));

    const int64_t macs_per_token = c.n_layer * 12 * c.n_embd * c.n_embd + c.vocab_size * c.n_embd;
    const int threads = macs_per_token >= parallel_macs && can_fork() ? num_threads() : 1;
    if (threads_.size() < static_cast<size_t>(threads)) {
        const std::vector<float> vector(static_cast<size_t>(c.n_embd));
        threads_.resize(static_cast<size_t>(threads), ThreadState{vector, vector, vector});
    }
    if (threads == 1) {
        run_thread(0, 1, token, pos, cache);
    } else {  // only with OpenMP: without it can_fork() is false
#ifdef _OPENMP
#pragma omp parallel num_threads(threads)
        run_thread(omp_get_thread_num(), omp_get_num_threads(), token, pos, cache);
#endif
    }
    for (nn::LayerCache& layer : cache.layers) ++layer.length;
    return logits_;
}

void DecodeStep::run_thread(int thread, int threads, int32_t token, int64_t pos, nn::KvCache& cache) {
    const nn::GPTConfig& c = model_.config();
    const int64_t C = c.n_embd, H = c.n_head, D = C / H;
    const bool pre_norm = c.norm == nn::NormPlacement::pre;
    float* x = threads_[thread].x.data();  // (C) the residual stream, this thread's copy
    float* a = threads_[thread].a.data();  // (C)
    float* q = threads_[thread].q.data();  // (C), only this thread's heads are filled
    const auto barrier = [&] {
        if (threads > 1) {
#pragma omp barrier
        }
    };
    // This thread's heads, and its rows of the C-wide and 4C-wide outputs.
    const int64_t head_begin = H * thread / threads, head_end = H * (thread + 1) / threads;
    const int64_t h0 = head_begin * D, h1 = head_end * D;  // their channels
    const auto [c0, c1] = row_share(C, thread, threads);
    const auto [f0, f1] = row_share(4 * C, thread, threads);

    // Embeddings: what the token is, plus where it is.
    const float* token_vector = model_.transformer.wte.weight.data() + token * C;
    const float* position_vector = model_.transformer.wpe.weight.data() + pos * C;
    for (int64_t i = 0; i < C; ++i) x[i] = token_vector[i] + position_vector[i];

    for (int64_t l = 0; l < c.n_layer; ++l) {
        const nn::Block& block = *model_.transformer.h.blocks[l];
        float* keys = cache.layers[l].k.data();    // (H, T_max, D): row t of head h is position t's key
        float* values = cache.layers[l].v.data();  // (H, T_max, D)
        const int64_t T_max = cache.capacity();

        // Attention reads ln_1(x) (pre-norm) or x itself (post-norm).
        if (pre_norm) layer_norm(block.ln_1, x, a);
        const float* in = pre_norm ? a : x;
        // Q, K and V of this thread's heads: slices of c_attn's rows (q: [0, C), k: [C, 2C), v: [2C, 3C)).
        // Each head's key and value go straight into row pos of its block of the cache.
        const nn::Linear& c_attn = block.attn.c_attn;
        linear_rows(c_attn, in, h0, h1, q + h0);
        for (int64_t h = head_begin; h < head_end; ++h) {
            linear_rows(c_attn, in, C + h * D, C + (h + 1) * D, keys + (h * T_max + pos) * D);
            linear_rows(c_attn, in, 2 * C + h * D, 2 * C + (h + 1) * D, values + (h * T_max + pos) * D);
        }
        attend_last_position(q, keys, values, T_max, pos + 1, C, H, head_begin, head_end, heads_.data());
        barrier();  // every head is in heads_
        linear_rows(block.attn.c_proj, heads_.data(), c0, c1, branch_.data() + c0);  // mix the heads
        barrier();  // all of branch_ is in
        for (int64_t i = 0; i < C; ++i) x[i] += branch_[i];  // the residual add
        if (!pre_norm) layer_norm(block.ln_1, x, x);

        // The FFN: expand to 4C (this thread's rows), the non-linearity, narrow back to C.
        if (pre_norm) layer_norm(block.ln_2, x, a);
        in = pre_norm ? a : x;
        float* hidden = hidden_.data() + f0;
        linear_rows(block.mlp.c_fc, in, f0, f1, hidden);
        if (c.activation == nn::Activation::gelu) {
            gelu_values(hidden, hidden, nullptr, f1 - f0);
        } else {
            for (int64_t i = 0; i < f1 - f0; ++i) hidden[i] = std::max(hidden[i], 0.0f);
        }
        barrier();  // all of hidden_ is in
        linear_rows(block.mlp.c_proj, hidden_.data(), c0, c1, branch_.data() + c0);
        barrier();  // all of branch_ is in
        for (int64_t i = 0; i < C; ++i) x[i] += branch_[i];  // the residual add
        if (!pre_norm) layer_norm(block.ln_2, x, x);
    }

    // ln_f, then lm_head's rows: this thread's share of the vocabulary's scores.
    layer_norm(model_.transformer.ln_f, x, a);
    const auto [v0, v1] = row_share(c.vocab_size, thread, threads);
    linear_rows(model_.lm_head, a, v0, v1, logits_.data() + v0);
}

}  // namespace bayun
