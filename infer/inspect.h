// Inspection: the ideas of the transformer, read off a trained model as plain numbers. Each function runs
// the model once (no graph, eval mode) with an nn::Observer attached, and returns a plain struct that
// `bayun inspect` prints as a table, as JSON (to_json) or as an SVG picture (infer/svg.h):
//   attention()       each head's attention weights: which earlier tokens each token looks at;
//   nearest_tokens()  the tokens whose embeddings point the same way (cosine similarity);
//   project_tokens()  tokens placed on the first two principal components of the embedding matrix;
//   next_tokens()     the distribution over the next token, from the last position's hidden state;
//   trace()           the last token's path through one block, step by step;
//   read_loss_log()   the training log (log.jsonl) as loss curves; write_loss_curve() draws them.
// Shapes follow autograd/tensor.h's legend: B = 1 here, T prompt tokens, C channels, H heads, D = C / H.
#pragma once

#include "autograd/tensor.h"
#include "data/tokenizer.h"
#include "nn/gpt.h"

#include <nlohmann/json.hpp>

#include <array>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace bayun::inspect {

// Records every value the model reports during forward, as copies: (layer, name) -> tensor.
// layer is the block index, -1 for the values outside the blocks ("embeddings", "ln_f", "logits").
class Recorder : public nn::Observer {
public:
    void see(int layer, std::string_view what, const Tensor& value) override;
    bool has(int layer, const std::string& what) const;
    const Tensor& get(int layer, const std::string& what) const;  // throws (a bug) when it was not reported
    void clear() { values_.clear(); }

private:
    std::map<std::pair<int, std::string>, Tensor> values_;
};

// One token as learners see it: its id and its text made printable (printable_bytes: "\n" for a newline,
// <E2> for a byte that is only part of a UTF-8 character).
struct TokenInfo {
    int32_t id = 0;
    std::string text;
};
TokenInfo token_info(const Tokenizer& tokenizer, int32_t id);

// The prompt's ids; throws bayun::Error for an empty prompt or one longer than the context (block_size).
std::vector<int32_t> encode_prompt(const nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt);

// ---- attention -------------------------------------------------------------------------------------------
struct HeadAttention {
    int layer = 0, head = 0;
    std::vector<std::vector<float>> weights;  // (T, T): weights[i][j] = how much token i attends to token j;
                                              // row i sums to 1 and is 0 for j > i (the future is masked)
};
struct AttentionReport {
    std::vector<TokenInfo> tokens;     // T
    int n_layer = 0, n_head = 0;
    std::vector<HeadAttention> heads;  // L x H, layer-major: heads[l * H + h]
};
AttentionReport attention(nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt);
// A grid of heat maps, one per head: rows are layers, columns heads.
std::string attention_svg(const AttentionReport& report, const std::string& title);

// ---- embeddings -----------------------------------------------------------------------------------------
// The token a word names. A word that is one token is that token; for BPE, " word" (with the leading
// space GPT-2-style vocabularies fold into a token) is tried next. Otherwise a bayun::Error that lists the
// tokens the word splits into (with a character tokenizer every token is one character: it says so).
TokenInfo find_token(const Tokenizer& tokenizer, const std::string& word);

struct Neighbour {
    TokenInfo token;
    double similarity = 0;  // cosine similarity of the two rows of wte, in [-1, 1]
};
struct NearestTokens {
    TokenInfo query;
    std::vector<Neighbour> neighbours;  // most similar first, without the query itself
};
NearestTokens nearest_tokens(const nn::GPT& model, const Tokenizer& tokenizer, const std::string& word, int k);

// The first two principal components of a (rows, cols) matrix, by power iteration with deflation on the
// covariance of the centered rows. Deterministic: a fixed start vector, and each component's sign is fixed
// so that its largest-magnitude entry is positive.
struct Pca {
    std::vector<double> mean;                      // (cols,)
    std::array<std::vector<double>, 2> components; // 2 x (cols,), unit length, orthogonal
    std::array<double, 2> variance{};              // the eigenvalues: variance along each component
    double total_variance = 0;                     // the trace of the covariance
    std::array<double, 2> project(std::span<const float> row) const;  // centered row . component
};
Pca pca_2d(std::span<const float> matrix, int64_t rows, int64_t cols);

struct Projection {
    std::vector<TokenInfo> tokens;
    std::vector<std::array<double, 2>> coords;  // one (pc1, pc2) per token
    std::array<double, 2> explained{};          // fraction of the total variance along pc1 and pc2
};
// Places `words` (each one token, see find_token) on the PCA plane of the whole embedding matrix wte (V, C).
// With no words, every token of the vocabulary (allowed up to 256 tokens, else give the words).
Projection project_tokens(const nn::GPT& model, const Tokenizer& tokenizer, const std::vector<std::string>& words);
std::string projection_svg(const Projection& projection, const std::string& title);  // the "semantic map"

// ---- next token -----------------------------------------------------------------------------------------
struct NextToken {
    TokenInfo token;
    double probability = 0;
    double logit = 0;
};
struct NextTokens {
    std::vector<TokenInfo> prompt;
    std::vector<float> hidden;         // (C,): the last position's hidden state after ln_f
    std::vector<double> probabilities; // (V,): softmax of the last position's logits
    std::vector<NextToken> top;        // the k most likely, most likely first
    double entropy = 0;                // -sum p ln p, in nats (bits = nats / ln 2)
};
NextTokens next_tokens(nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt, int top_k);

// ---- trace ----------------------------------------------------------------------------------------------
// One step of the last token's path through a block: the vector(s) at that point, and where in the code.
struct TraceStep {
    std::string name;                // "input", "ln_1", "q", "k", "v", "attn_weights", "concat", ...
    std::string what;                // what happens at this step, in the article's words
    std::string code;                // where to read it: "nn/attention.cpp MultiHeadAttention::forward, step 1"
    Shape tensor_shape;              // the whole tensor at this point, e.g. (1, H, T, D)
    Shape shape;                     // what is shown: the last token's row, e.g. (D,) or (T,)
    int head = -1;                   // for per-head steps, the head; -1 otherwise
    double norm = 0;                 // Euclidean norm of the shown values
    std::vector<float> values;       // the shown values (all of them; printing cuts to the first few)
};
struct Trace {
    int layer = 0;
    TokenInfo token;                 // the last token of the prompt
    int64_t position = 0;            // its position t = T - 1
    std::vector<TokenInfo> tokens;   // the prompt
    std::string norm;                // "pre" or "post": where the layer norms sit
    std::vector<TraceStep> steps;
};
Trace trace(nn::GPT& model, const Tokenizer& tokenizer, std::string_view prompt, int layer);

// ---- the training log -----------------------------------------------------------------------------------
struct LossLog {
    std::string path;                                // the log.jsonl that was read
    std::vector<std::pair<int64_t, double>> steps;   // (step, loss) of every optimisation step
    std::vector<std::pair<int64_t, double>> train;   // (step, train_loss) at each evaluation
    std::vector<std::pair<int64_t, double>> val;     // (step, val_loss) at each evaluation
};
// `path` is a log.jsonl file, a run directory, or a checkpoint directory inside a run. A resumed run appends
// to the log, and records of steps that were run again replace the older ones.
LossLog read_loss_log(const std::string& path);
std::string loss_curve_svg(const LossLog& log);
void write_loss_curve(const std::string& svg_path, const std::string& log_path);

// ---- JSON, for notebooks --------------------------------------------------------------------------------
nlohmann::json to_json(const TokenInfo& t);
nlohmann::json to_json(const AttentionReport& r);
nlohmann::json to_json(const NearestTokens& r);
nlohmann::json to_json(const Projection& r);
nlohmann::json to_json(const NextTokens& r);
nlohmann::json to_json(const Trace& r);
nlohmann::json to_json(const LossLog& r);

}  // namespace bayun::inspect
