// Inspection of a trained model: one recorded forward pass per question, read off as plain structs.
// Shapes: B = 1 (one prompt), T prompt tokens, C channels, H heads, D = C / H, V vocabulary size.
#include "infer/inspect.h"

#include "autograd/error.h"
#include "data/utf8.h"
#include "infer/svg.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <numeric>

namespace bayun::inspect {

namespace fs = std::filesystem;

// ---- recording a forward pass ---------------------------------------------------------------------------

void Recorder::see(int layer, std::string_view what, const Tensor& value) {
    values_[{layer, std::string(what)}] = value.clone();  // a copy: later ops may reuse nothing of ours
}

bool Recorder::has(int layer, const std::string& what) const { return values_.count({layer, what}) > 0; }

const Tensor& Recorder::get(int layer, const std::string& what) const {
    const auto it = values_.find({layer, what});
    BAYUN_ASSERT(it != values_.end(), fmt::format("the model did not report '{}' for layer {}", what, layer));
    return it->second;
}

namespace {

// Runs the model on one prompt (B = 1) in eval mode, without a graph, with `recorder` attached; restores
// the train/eval switch and detaches the observer afterwards, also when forward throws.
void record_forward(nn::GPT& model, std::span<const int32_t> ids, Recorder& recorder) {
    struct Scope {
        nn::GPT& model;
        bool was_training;
        ~Scope() {
            model.set_observer(nullptr);
            model.train(was_training);
        }
    } scope{model, model.is_training()};
    model.eval();
    model.set_observer(&recorder);
    NoGradGuard no_grad;
    model.forward(ids, 1, static_cast<int64_t>(ids.size()));
}

std::vector<TokenInfo> token_infos(const Tokenizer& tokenizer, std::span<const int32_t> ids) {
    std::vector<TokenInfo> out;
    for (int32_t id : ids) out.push_back(token_info(tokenizer, id));
    return out;
}

// Row t of a (1, T, N) tensor: position t's N values.
std::vector<float> position_row(const Tensor& x, int64_t t) {
    const int64_t N = x.size(-1);
    const float* p = x.data() + t * N;
    return {p, p + N};
}

// Head h, row t of a (1, H, T, N) tensor.
std::vector<float> head_row(const Tensor& x, int64_t h, int64_t t) {
    const int64_t T = x.size(2), N = x.size(3);
    const float* p = x.data() + (h * T + t) * N;
    return {p, p + N};
}

double norm(std::span<const float> v) {
    double s = 0;
    for (float x : v) s += static_cast<double>(x) * x;
    return std::sqrt(s);
}

const Tensor& embedding_matrix(const nn::GPT& model) { return model.transformer.wte.weight; }  // (V, C)

}  // namespace

TokenInfo token_info(const Tokenizer& tokenizer, int32_t id) { return {id, printable_bytes(tokenizer.token_bytes(id))}; }

std::vector<int32_t> encode_prompt(const nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt) {
    if (prompt.empty()) fail("inspect", "the prompt is empty: give some text with --prompt, e.g. --prompt 'The cat'");
    std::vector<int32_t> ids = tokenizer.encode(prompt);  // names characters outside the vocabulary
    const int64_t block = model.config().block_size;
    if (static_cast<int64_t>(ids.size()) > block)
        fail("inspect", "the prompt is {} tokens, but this model sees at most {} (its context, block_size): use a "
             "shorter prompt", ids.size(), block);
    return ids;
}

// ---- attention ------------------------------------------------------------------------------------------

AttentionReport attention(nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt) {
    const std::vector<int32_t> ids = encode_prompt(model, tokenizer, prompt);
    Recorder recorder;
    record_forward(model, ids, recorder);

    AttentionReport report;
    report.tokens = token_infos(tokenizer, ids);
    report.n_layer = static_cast<int>(model.config().n_layer);
    report.n_head = static_cast<int>(model.config().n_head);
    const int64_t T = static_cast<int64_t>(ids.size());
    for (int l = 0; l < report.n_layer; ++l) {
        const Tensor& w = recorder.get(l, "attn_weights");  // (1, H, T, T)
        for (int h = 0; h < report.n_head; ++h) {
            HeadAttention head{l, h, {}};
            for (int64_t i = 0; i < T; ++i) head.weights.push_back(head_row(w, h, i));  // query i over keys 0..T-1
            report.heads.push_back(std::move(head));
        }
    }
    return report;
}

std::string attention_svg(const AttentionReport& r, const std::string& title) {
    std::vector<std::string> labels;
    for (const TokenInfo& t : r.tokens) labels.push_back(t.text);
    std::vector<svg::HeatMap> maps;
    for (const HeadAttention& h : r.heads) {
        svg::HeatMap m{fmt::format("layer {}, head {}", h.layer, h.head), labels, labels, {}, {}};
        for (size_t i = 0; i < h.weights.size(); ++i) {
            m.values.emplace_back(h.weights[i].begin(), h.weights[i].end());
            std::vector<bool> future(h.weights[i].size());
            for (size_t j = i + 1; j < future.size(); ++j) future[j] = true;
            m.blank.push_back(std::move(future));
        }
        maps.push_back(std::move(m));
    }
    return svg::heat_map_grid(maps, r.n_head, title);
}

// ---- embeddings -----------------------------------------------------------------------------------------

TokenInfo find_token(const Tokenizer& tokenizer, const std::string& word) {
    if (word.empty()) fail("inspect", "the token is empty: give a word or character, e.g. --token a");
    const std::vector<int32_t> ids = tokenizer.encode(word);  // names characters outside the vocabulary
    if (ids.size() == 1) return token_info(tokenizer, ids[0]);
    if (tokenizer.kind() == "bpe") {
        const std::vector<int32_t> spaced = tokenizer.encode(" " + word);
        if (spaced.size() == 1) return token_info(tokenizer, spaced[0]);
    }
    std::string pieces;
    for (int32_t id : ids) pieces += fmt::format("{}'{}'", pieces.empty() ? "" : " ", token_info(tokenizer, id).text);
    if (tokenizer.kind() == "char")
        fail("inspect", "'{}' is {} tokens ({}), not one: this model has a character tokenizer, so every token is one "
             "character; give a single character such as 'a' (the vocabulary holds {} characters)", word, ids.size(),
             pieces, tokenizer.vocab_size());
    fail("inspect", "'{}' is {} tokens ({}), not one: give a word that is a single token of this {} tokenizer (see "
         "'bayun tokenize encode --show')", word, ids.size(), pieces, tokenizer.kind());
}

NearestTokens nearest_tokens(const nn::GPT& model, const Tokenizer& tokenizer, const std::string& word, int k) {
    if (k < 1) fail("inspect", "--top-k must be at least 1, found {}", k);
    NearestTokens out;
    out.query = find_token(tokenizer, word);
    const Tensor& wte = embedding_matrix(model);
    const int64_t V = wte.size(0), C = wte.size(1);
    const auto row = [&](int64_t id) { return std::span<const float>(wte.data() + id * C, static_cast<size_t>(C)); };
    const std::span<const float> q = row(out.query.id);
    const double q_norm = norm(q);
    std::vector<Neighbour> all;
    for (int64_t id = 0; id < V; ++id) {
        if (id == out.query.id) continue;
        const std::span<const float> r = row(id);
        double dot = 0;
        for (int64_t c = 0; c < C; ++c) dot += static_cast<double>(q[c]) * r[c];
        const double denominator = q_norm * norm(r);
        all.push_back({token_info(tokenizer, static_cast<int32_t>(id)), denominator > 0 ? dot / denominator : 0.0});
    }
    // Most similar first; equal similarities in id order, so the list is the same on every run.
    std::stable_sort(all.begin(), all.end(), [](const Neighbour& a, const Neighbour& b) { return a.similarity > b.similarity; });
    all.resize(std::min<size_t>(all.size(), static_cast<size_t>(k)));
    out.neighbours = std::move(all);
    return out;
}

std::array<double, 2> Pca::project(std::span<const float> row) const {
    std::array<double, 2> xy{};
    for (int c = 0; c < 2; ++c)
        for (size_t i = 0; i < mean.size(); ++i) xy[c] += (row[i] - mean[i]) * components[c][i];
    return xy;
}

Pca pca_2d(std::span<const float> matrix, int64_t rows, int64_t cols) {
    if (rows < 1 || cols < 1 || static_cast<int64_t>(matrix.size()) != rows * cols)
        fail("pca", "expected a (rows, cols) matrix with rows, cols >= 1 and rows x cols values, found ({}, {}) and {} "
             "values", rows, cols, matrix.size());
    Pca pca;
    const size_t n = static_cast<size_t>(cols);
    pca.mean.assign(n, 0.0);
    for (int64_t r = 0; r < rows; ++r)
        for (size_t i = 0; i < n; ++i) pca.mean[i] += matrix[r * cols + i];
    for (double& m : pca.mean) m /= static_cast<double>(rows);

    // Covariance of the centered rows: S = X^T X / rows, (cols, cols).
    std::vector<double> S(n * n, 0.0), x(n);
    for (int64_t r = 0; r < rows; ++r) {
        for (size_t i = 0; i < n; ++i) x[i] = matrix[r * cols + i] - pca.mean[i];
        for (size_t i = 0; i < n; ++i)
            for (size_t j = 0; j < n; ++j) S[i * n + j] += x[i] * x[j];
    }
    for (double& s : S) s /= static_cast<double>(rows);
    for (size_t i = 0; i < n; ++i) pca.total_variance += S[i * n + i];

    for (int c = 0; c < 2; ++c) {
        // Power iteration: v <- S v / |S v| converges to the eigenvector of the largest eigenvalue. The start
        // vector is fixed (not random), so the result is the same on every run.
        std::vector<double> v(n), next(n);
        for (size_t i = 0; i < n; ++i) v[i] = 1.0 / (static_cast<double>(i) + 1.5);
        for (int iter = 0; iter < 10000; ++iter) {
            for (size_t i = 0; i < n; ++i) {
                next[i] = 0;
                for (size_t j = 0; j < n; ++j) next[i] += S[i * n + j] * v[j];
            }
            if (c == 1) {  // stay orthogonal to the first component (deflation leaves rounding residue)
                double d = 0;
                for (size_t i = 0; i < n; ++i) d += next[i] * pca.components[0][i];
                for (size_t i = 0; i < n; ++i) next[i] -= d * pca.components[0][i];
            }
            double len = 0;
            for (double e : next) len += e * e;
            len = std::sqrt(len);
            if (len < 1e-30) break;  // no variance left in this direction: keep v
            double change = 0;
            for (size_t i = 0; i < n; ++i) {
                next[i] /= len;
                change += std::abs(next[i] - v[i]);
            }
            v.swap(next);
            if (change < 1e-13) break;
        }
        // Fix the sign: the entry with the largest magnitude is positive.
        size_t big = 0;
        for (size_t i = 1; i < n; ++i)
            if (std::abs(v[i]) > std::abs(v[big])) big = i;
        if (v[big] < 0)
            for (double& e : v) e = -e;
        // Rayleigh quotient: the variance along v.
        double var = 0;
        for (size_t i = 0; i < n; ++i)
            for (size_t j = 0; j < n; ++j) var += v[i] * S[i * n + j] * v[j];
        pca.components[c] = v;
        pca.variance[c] = std::max(var, 0.0);
        // Deflation: remove this component's variance, so the next power iteration finds the second one.
        for (size_t i = 0; i < n; ++i)
            for (size_t j = 0; j < n; ++j) S[i * n + j] -= var * v[i] * v[j];
    }
    return pca;
}

Projection project_tokens(const nn::GPT& model, const Tokenizer& tokenizer, const std::vector<std::string>& words) {
    const Tensor& wte = embedding_matrix(model);
    const int64_t V = wte.size(0), C = wte.size(1);
    Projection out;
    if (words.empty()) {
        if (V > 256)
            fail("inspect", "the vocabulary has {} tokens, too many to place on one picture: choose some with --tokens "
                 "a,b,c", V);
        for (int64_t id = 0; id < V; ++id) out.tokens.push_back(token_info(tokenizer, static_cast<int32_t>(id)));
    } else {
        for (const std::string& w : words) out.tokens.push_back(find_token(tokenizer, w));
    }
    const Pca pca = pca_2d(wte.values(), V, C);
    for (int c = 0; c < 2; ++c) out.explained[c] = pca.total_variance > 0 ? pca.variance[c] / pca.total_variance : 0.0;
    for (const TokenInfo& t : out.tokens)
        out.coords.push_back(pca.project(std::span<const float>(wte.data() + t.id * C, static_cast<size_t>(C))));
    return out;
}

std::string projection_svg(const Projection& p, const std::string& title) {
    std::vector<svg::ScatterPoint> points;
    for (size_t i = 0; i < p.tokens.size(); ++i) points.push_back({p.coords[i][0], p.coords[i][1], p.tokens[i].text});
    return svg::scatter(points, title, fmt::format("principal component 1 ({:.1f}% of the variance)", 100 * p.explained[0]),
                        fmt::format("principal component 2 ({:.1f}%)", 100 * p.explained[1]));
}

// ---- next token -----------------------------------------------------------------------------------------

NextTokens next_tokens(nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt, int top_k) {
    if (top_k < 1) fail("inspect", "--top-k must be at least 1, found {}", top_k);
    const std::vector<int32_t> ids = encode_prompt(model, tokenizer, prompt);
    Recorder recorder;
    record_forward(model, ids, recorder);
    const int64_t t = static_cast<int64_t>(ids.size()) - 1;

    NextTokens out;
    out.prompt = token_infos(tokenizer, ids);
    out.hidden = position_row(recorder.get(-1, "ln_f"), t);                   // (C,)
    const std::vector<float> logits = position_row(recorder.get(-1, "logits"), t);  // (V,) = lm_head(hidden)

    // Softmax in double, shifted by the largest logit for stability; entropy = -sum p ln p.
    const double top = *std::max_element(logits.begin(), logits.end());
    double z = 0;
    for (float l : logits) z += std::exp(l - top);
    for (float l : logits) out.probabilities.push_back(std::exp(l - top) / z);
    for (double p : out.probabilities)
        if (p > 0) out.entropy -= p * std::log(p);

    std::vector<int32_t> order(logits.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
    order.resize(std::min(order.size(), static_cast<size_t>(top_k)));
    for (int32_t id : order) out.top.push_back({token_info(tokenizer, id), out.probabilities[id], logits[id]});
    return out;
}

// ---- trace ----------------------------------------------------------------------------------------------

Trace trace(nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt, int layer) {
    const int64_t L = model.config().n_layer;
    if (layer < 0 || layer >= L)
        fail("inspect", "layer {} is out of range: this model has {} layer{} (--layer 0{})", layer, L, L == 1 ? "" : "s",
             L > 1 ? fmt::format(" .. {}", L - 1) : "");
    const std::vector<int32_t> ids = encode_prompt(model, tokenizer, prompt);
    Recorder recorder;
    record_forward(model, ids, recorder);

    const int64_t T = static_cast<int64_t>(ids.size()), t = T - 1;
    const int64_t H = model.config().n_head, D = model.config().head_size();
    const bool pre = model.config().norm == nn::NormPlacement::pre;
    Trace tr;
    tr.layer = layer;
    tr.tokens = token_infos(tokenizer, ids);
    tr.token = tr.tokens.back();
    tr.position = t;
    tr.norm = pre ? "pre" : "post";

    const auto add = [&](std::string name, std::string what, std::string code, const Tensor& whole,
                         std::vector<float> values, int head = -1) {
        TraceStep s;
        s.name = std::move(name);
        s.what = std::move(what);
        s.code = std::move(code);
        s.tensor_shape = whole.shape();
        s.shape = {static_cast<int64_t>(values.size())};
        s.head = head;
        s.norm = norm(values);
        s.values = std::move(values);
        tr.steps.push_back(std::move(s));
    };
    const std::string block = "nn/block.cpp Block::forward";
    const std::string attn = "nn/attention.cpp MultiHeadAttention::forward";
    const std::string steps = "nn/attention.cpp MultiHeadAttention::attend_step_by_step";
    const std::string ffn = "nn/feed_forward.cpp FeedForward::forward";

    // The input: the residual stream as block `layer` receives it.
    const Tensor& x = layer == 0 ? recorder.get(-1, "embeddings") : recorder.get(layer - 1, "residual_mlp");
    add("input", layer == 0 ? "x: the token's embedding plus its position's embedding (wte + wpe), entering block 0"
                            : fmt::format("x: the hidden state (residual stream) leaving block {}", layer - 1),
        layer == 0 ? "nn/gpt.cpp GPT::hidden_states" : block, x, position_row(x, t));
    if (pre) {
        const Tensor& a = recorder.get(layer, "attn_input");
        add("ln_1", "ln_1(x): each position normalised to mean 0, variance 1, then scaled and shifted; attention reads "
                    "this", block + " -> nn/layer_norm.cpp LayerNorm::forward", a, position_row(a, t));
    }

    // Attention, head by head: Q asks, K answers, V carries.
    const Tensor& q = recorder.get(layer, "q");               // (1, H, T, D)
    const Tensor& k = recorder.get(layer, "k");               // (1, H, T, D)
    const Tensor& v = recorder.get(layer, "v");               // (1, H, T, D)
    const Tensor& w = recorder.get(layer, "attn_weights");    // (1, H, T, T)
    const Tensor& concat = recorder.get(layer, "attn_concat");  // (1, T, C)
    const std::vector<float> concat_row = position_row(concat, t);
    const float scale = 1.0f / std::sqrt(static_cast<float>(D));
    for (int64_t h = 0; h < H; ++h) {
        const int hh = static_cast<int>(h);
        const std::string slice = fmt::format("channels {}..{} of C", h * D, (h + 1) * D - 1);
        add("q", fmt::format("Q, head {}: what this token is looking for ({}, from c_attn)", h, slice),
            steps + ", step 3", q, head_row(q, h, t), hh);
        add("k", fmt::format("K, head {}: what this token offers to be found by; every earlier token has one too", h),
            steps + ", step 3", k, head_row(k, h, t), hh);
        add("v", fmt::format("V, head {}: the content this token passes on to whoever attends to it", h),
            steps + ", step 3", v, head_row(v, h, t), hh);
        std::vector<float> scores(static_cast<size_t>(T));
        const std::vector<float> qt = head_row(q, h, t);
        for (int64_t j = 0; j < T; ++j) {
            const std::vector<float> kj = head_row(k, h, j);
            double dot = 0;
            for (int64_t d = 0; d < D; ++d) dot += static_cast<double>(qt[d]) * kj[d];
            scores[j] = static_cast<float>(dot) * scale;
        }
        add("scores", fmt::format("head {}: q . k_j / sqrt(D) for every token j <= t (one score per key)", h),
            steps + ", step 4", w, std::move(scores), hh);
        add("attn_weights", fmt::format("head {}: softmax of the scores: attention weights over the tokens, summing to 1",
                                        h), steps + ", step 5", w, head_row(w, h, t), hh);
        add("head_output", fmt::format("head {}: sum_j weight_j v_j, the values mixed by the weights", h),
            steps + ", step 6", concat,
            std::vector<float>(concat_row.begin() + h * D, concat_row.begin() + (h + 1) * D), hh);
    }
    add("concat", fmt::format("the {} head outputs side by side: H x D = {} x {} = C", H, H, D), steps,
        concat, concat_row);
    const Tensor& proj = recorder.get(layer, "attn_proj");
    add("attn_proj", "the output projection c_proj mixes the heads back into the residual stream", attn + ", step 7",
        proj, position_row(proj, t));
    const Tensor& r1 = recorder.get(layer, "residual_attn");
    add("residual_attn", pre ? "x + attention: the residual connection adds what attention found to x"
                             : "ln_1(x + attention): residual connection, then layer norm",
        block, r1, position_row(r1, t));
    if (pre) {
        const Tensor& m = recorder.get(layer, "mlp_input");
        add("ln_2", "ln_2(h): normalised again; the FFN reads this", block + " -> nn/layer_norm.cpp LayerNorm::forward",
            m, position_row(m, t));
    }

    // The FFN: expand C -> 4C, the non-linearity, narrow back.
    const Tensor& e = recorder.get(layer, "mlp_expand");
    add("mlp_expand", "c_fc expands C -> 4C", ffn, e, position_row(e, t));
    const Tensor& act = recorder.get(layer, "mlp_activation");
    add("mlp_activation", fmt::format("{} activation: the non-linearity (negative inputs go to about 0)",
                                      nn::to_string(model.config().activation)), ffn, act, position_row(act, t));
    const Tensor& o = recorder.get(layer, "mlp_output");
    add("mlp_output", "c_proj narrows 4C -> C", ffn, o, position_row(o, t));
    const Tensor& r2 = recorder.get(layer, "residual_mlp");
    const std::string next = layer + 1 < L ? fmt::format("block {} reads", layer + 1) : "ln_f and lm_head read";
    add("output", pre ? fmt::format("h + FFN(ln_2(h)): the residual connection again; the block's output, which {}", next)
                      : fmt::format("ln_2(h + FFN(h)): residual connection, then layer norm; the block's output, which {}",
                                    next),
        block, r2, position_row(r2, t));
    return tr;
}

// ---- the training log -----------------------------------------------------------------------------------

namespace {
std::string find_log(const std::string& path) {
    const fs::path p(path);
    if (fs::is_regular_file(p)) return path;
    if (fs::is_directory(p)) {
        if (fs::is_regular_file(p / "log.jsonl")) return (p / "log.jsonl").string();
        if (fs::is_regular_file(p.parent_path() / "log.jsonl")) return (p.parent_path() / "log.jsonl").string();
        fail("inspect", "no log.jsonl in '{}' (give a run directory: the --out of 'bayun train')", path);
    }
    fail("inspect", "'{}' does not exist (give a run directory or its log.jsonl)", path);
}

// A resumed run repeats steps from its checkpoint on: keep only records before `step`.
void drop_from(std::vector<std::pair<int64_t, double>>& points, int64_t step) {
    std::erase_if(points, [step](const auto& p) { return p.first >= step; });
}
}  // namespace

LossLog read_loss_log(const std::string& path) {
    LossLog log;
    log.path = find_log(path);
    std::ifstream in(log.path);
    if (!in) fail("inspect", "cannot read '{}' (check the permissions)", log.path);
    std::string line;
    int64_t line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        if (line.empty()) continue;
        const nlohmann::json r = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
        if (r.is_discarded() || !r.is_object()) {
            if (in.peek() == EOF) break;  // a line cut short by a crash at the very end: ignore it
            fail("inspect", "'{}' line {}: not a JSON record (is this a bayun training log?)", log.path, line_number);
        }
        const std::string kind = r.value("kind", "");
        if (kind == "step" && r.contains("step") && r.contains("loss")) {
            const int64_t step = r["step"].get<int64_t>();
            if (!log.steps.empty() && step <= log.steps.back().first) {
                drop_from(log.steps, step);
                drop_from(log.train, step + 1);
                drop_from(log.val, step + 1);
            }
            log.steps.emplace_back(step, r["loss"].get<double>());
        } else if (kind == "eval" && r.contains("step")) {
            const int64_t step = r["step"].get<int64_t>();
            if (r.contains("train_loss")) log.train.emplace_back(step, r["train_loss"].get<double>());
            if (r.contains("val_loss")) log.val.emplace_back(step, r["val_loss"].get<double>());
        }
    }
    if (log.steps.empty() && log.train.empty() && log.val.empty())
        fail("inspect", "'{}' holds no training records yet (has the run taken its first step?)", log.path);
    return log;
}

std::string loss_curve_svg(const LossLog& log) {
    std::vector<svg::Series> series;
    const auto as_double = [](const std::vector<std::pair<int64_t, double>>& points) {
        std::vector<std::pair<double, double>> out;
        for (const auto& [s, v] : points) out.emplace_back(static_cast<double>(s), v);
        return out;
    };
    if (!log.steps.empty()) series.push_back({"loss at each step", as_double(log.steps), "#b0b8c4", 1.0});
    // Step s's loss is measured before its update; an evaluation at s is after s updates, so both use x = s.
    if (!log.train.empty()) series.push_back({"train loss (eval)", as_double(log.train), "#1f77b4", 2.0});
    if (!log.val.empty()) series.push_back({"validation loss (eval)", as_double(log.val), "#ff7f0e", 2.0});
    return svg::line_chart(series, fmt::format("training loss: {}", log.path), "step", "cross-entropy loss (nats)");
}

void write_loss_curve(const std::string& svg_path, const std::string& log_path) {
    svg::write_svg(svg_path, loss_curve_svg(read_loss_log(log_path)));
}

// ---- JSON -----------------------------------------------------------------------------------------------

nlohmann::json to_json(const TokenInfo& t) { return {{"id", t.id}, {"text", t.text}}; }

namespace {
nlohmann::json tokens_json(const std::vector<TokenInfo>& tokens) {
    nlohmann::json out = nlohmann::json::array();
    for (const TokenInfo& t : tokens) out.push_back(to_json(t));
    return out;
}
nlohmann::json points_json(const std::vector<std::pair<int64_t, double>>& points) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& [s, v] : points) out.push_back({{"step", s}, {"loss", v}});
    return out;
}
}  // namespace

nlohmann::json to_json(const AttentionReport& r) {
    nlohmann::json heads = nlohmann::json::array();
    for (const HeadAttention& h : r.heads) heads.push_back({{"layer", h.layer}, {"head", h.head}, {"weights", h.weights}});
    return {{"tokens", tokens_json(r.tokens)}, {"n_layer", r.n_layer}, {"n_head", r.n_head}, {"heads", heads}};
}

nlohmann::json to_json(const NearestTokens& r) {
    nlohmann::json n = nlohmann::json::array();
    for (const Neighbour& x : r.neighbours) n.push_back({{"id", x.token.id}, {"text", x.token.text}, {"similarity", x.similarity}});
    return {{"query", to_json(r.query)}, {"neighbours", n}};
}

nlohmann::json to_json(const Projection& r) {
    nlohmann::json points = nlohmann::json::array();
    for (size_t i = 0; i < r.tokens.size(); ++i)
        points.push_back({{"id", r.tokens[i].id}, {"text", r.tokens[i].text}, {"pc1", r.coords[i][0]}, {"pc2", r.coords[i][1]}});
    return {{"points", points}, {"explained_variance", {r.explained[0], r.explained[1]}}};
}

nlohmann::json to_json(const NextTokens& r) {
    nlohmann::json top = nlohmann::json::array();
    for (const NextToken& t : r.top)
        top.push_back({{"id", t.token.id}, {"text", t.token.text}, {"probability", t.probability}, {"logit", t.logit}});
    return {{"prompt", tokens_json(r.prompt)}, {"top", top}, {"entropy_nats", r.entropy},
            {"entropy_bits", r.entropy / std::log(2.0)}, {"hidden", r.hidden}, {"probabilities", r.probabilities}};
}

nlohmann::json to_json(const Trace& r) {
    nlohmann::json steps = nlohmann::json::array();
    for (const TraceStep& s : r.steps) {
        nlohmann::json j = {{"name", s.name}, {"what", s.what}, {"code", s.code}, {"tensor_shape", s.tensor_shape},
                            {"shape", s.shape}, {"norm", s.norm}, {"values", s.values}};
        if (s.head >= 0) j["head"] = s.head;
        steps.push_back(std::move(j));
    }
    return {{"layer", r.layer}, {"token", to_json(r.token)}, {"position", r.position}, {"tokens", tokens_json(r.tokens)},
            {"norm", r.norm}, {"steps", steps}};
}

nlohmann::json to_json(const LossLog& r) {
    return {{"log", r.path}, {"steps", points_json(r.steps)}, {"train", points_json(r.train)}, {"val", points_json(r.val)}};
}

}  // namespace bayun::inspect
