// Generator: tells a tale from a prompt with the same GPT modules that training uses. A Session holds
// the text so far and, with the KV cache on, the keys and values of every position in the window:
// prefill runs the whole prompt in one batched pass through the modules; each decode step computes only
// the new token, with DecodeStep (infer/decode_step.h) unless the reference kernels are on.
//
// Context policy: the model sees at most block_size positions. When the window would grow past that,
// it keeps the most recent block_size / 2 tokens, rebuilds the cache from them (one prefill), and goes on.
// Without the cache (--no-cache) every step recomputes the same window from scratch, as the seed article's
// "without optimization" does; both paths see the same window, so their logits agree.
#pragma once

#include "autograd/rng.h"
#include "data/tokenizer.h"
#include "infer/decode_step.h"
#include "infer/sampler.h"
#include "nn/gpt.h"

#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace bayun {

class Session {
public:
    Session(nn::GPT& model, bool use_cache);

    // Appends tokens to the text and runs them through the model (prefill, or a one-token decode step).
    // Afterwards logits() are the scores for the token that comes next.
    void append(std::span<const int32_t> ids);
    std::span<const float> logits() const { return logits_; }  // (V,)

    const std::vector<int32_t>& tokens() const { return tokens_; }
    int64_t window_start() const { return window_start_; }  // the model sees tokens [window_start, end)
    int64_t slides() const { return slides_; }              // how often the window has slid
    int64_t cache_bytes() const { return cache_ ? cache_->bytes() : 0; }
    bool uses_cache() const { return cache_.has_value(); }

private:
    void recompute_window();  // prefill the whole window (after a slide, or every step without a cache)

    nn::GPT& model_;
    std::optional<nn::KvCache> cache_;
    DecodeStep decode_step_;  // the one-token step with the cache, without the modules' per-op overhead
    std::vector<int32_t> tokens_;
    int64_t window_start_ = 0;
    int64_t slides_ = 0;
    std::vector<float> logits_;
};

struct GenerateOptions {
    int64_t max_new_tokens = 200;
    SamplerOptions sampler;
    std::vector<std::string> stop;  // stop when the generated text ends with one of these
};

struct GenerateStats {
    int64_t prompt_tokens = 0;
    int64_t new_tokens = 0;
    double prefill_seconds = 0.0;
    double decode_seconds = 0.0;
    bool stopped_by_string = false;
};

// What --explain shows for one step: the top candidates before and after the sampler's filters.
struct Explanation {
    int32_t chosen;
    std::vector<int32_t> ids;        // the top candidates, most likely first (before the filters)
    std::vector<float> before;       // their probabilities at temperature 1, no filters
    std::vector<float> after;        // their probabilities after penalty, temperature and filters
};

// Appends the prompt to the session, then samples up to max_new_tokens tokens. `on_text` receives the
// generated text as it is produced, never a broken UTF-8 character; `on_explain` (optional) each choice.
GenerateStats generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                       const GenerateOptions& options, Rng& rng, const std::function<void(std::string_view)>& on_text,
                       const std::function<void(const Explanation&)>& on_explain = {});

}  // namespace bayun
