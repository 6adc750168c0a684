// The generation loop: prefill the prompt, then sample, append, repeat.
#include "infer/generator.h"

#include <algorithm>
#include <chrono>
#include <numeric>

namespace bayun {

Session::Session(nn::GPT& model, bool use_cache) : model_(model), decode_step_(model) {
    model_.eval();  // no dropout
    if (use_cache) cache_.emplace(model.config(), 1, model.config().block_size);
}

void Session::recompute_window() {
    const std::span<const int32_t> window(tokens_.data() + window_start_, tokens_.size() - window_start_);
    if (cache_) cache_->clear();
    Tensor logits = model_.last_logits(window, 1, static_cast<int64_t>(window.size()), cache_ ? &*cache_ : nullptr);
    logits_.assign(logits.data(), logits.data() + logits.numel());
}

void Session::append(std::span<const int32_t> ids) {
    if (ids.empty()) return;
    const int64_t context = model_.config().block_size;
    tokens_.insert(tokens_.end(), ids.begin(), ids.end());
    const int64_t end = static_cast<int64_t>(tokens_.size());
    if (end - window_start_ > context) {
        // The window would overflow the context: keep the most recent half and rebuild from it.
        window_start_ = end - std::max<int64_t>(context / 2, 1);
        ++slides_;
        recompute_window();
        return;
    }
    if (!cache_) {
        recompute_window();  // no cache: recompute every position of the window, every step
        return;
    }
    // With the cache: only the new positions are computed; they attend over the cached past. One new token
    // (every step after the prompt) goes through DecodeStep, the same maths as the modules on raw vectors.
    if (ids.size() == 1 && DecodeStep::enabled()) {
        const std::span<const float> logits = decode_step_.run(ids[0], *cache_);
        logits_.assign(logits.begin(), logits.end());
        return;
    }
    Tensor logits = model_.last_logits(ids, 1, static_cast<int64_t>(ids.size()), &*cache_);
    logits_.assign(logits.data(), logits.data() + logits.numel());
}

namespace {
using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

Explanation explain(int32_t chosen, const std::vector<float>& before, const std::vector<float>& after) {
    constexpr size_t shown = 5;
    std::vector<int32_t> order(before.size());
    std::iota(order.begin(), order.end(), 0);
    const size_t n = std::min(shown, order.size());
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(n), order.end(),
                      [&](int32_t a, int32_t b) { return before[a] > before[b]; });
    Explanation e{chosen, {}, {}, {}};
    for (size_t i = 0; i < n; ++i) {
        e.ids.push_back(order[i]);
        e.before.push_back(before[order[i]]);
        e.after.push_back(after[order[i]]);
    }
    return e;
}
}  // namespace

GenerateStats generate(Session& session, const Tokenizer& tokenizer, std::span<const int32_t> prompt,
                       const GenerateOptions& options, Rng& rng, const std::function<void(std::string_view)>& on_text,
                       const std::function<void(const Explanation&)>& on_explain) {
    validate(options.sampler);
    GenerateStats stats;
    stats.prompt_tokens = static_cast<int64_t>(prompt.size());
    auto start = Clock::now();
    session.append(prompt);
    stats.prefill_seconds = seconds_since(start);
    if (session.tokens().empty())
        fail("generate", "nothing to continue from: the prompt is empty and the session holds no text "
             "(give --prompt TEXT)");

    StreamDecoder decoder(tokenizer);
    std::string generated;  // the text so far, to check stop strings
    start = Clock::now();
    std::vector<float> before, after;
    const bool explaining = static_cast<bool>(on_explain);
    for (int64_t i = 0; i < options.max_new_tokens; ++i) {
        const int32_t id = choose_token(session.logits(), session.tokens(), options.sampler, rng.uniform(),
                                        explaining ? &before : nullptr, explaining ? &after : nullptr);
        if (explaining) on_explain(explain(id, before, after));
        ++stats.new_tokens;
        const std::string piece = decoder.push(id);
        generated += piece;
        if (!piece.empty()) on_text(piece);
        session.append(std::span<const int32_t>(&id, 1));  // also keeps the session ready to continue
        const bool stop = std::any_of(options.stop.begin(), options.stop.end(), [&](const std::string& s) {
            return !s.empty() && generated.ends_with(s);
        });
        if (stop) {
            stats.stopped_by_string = true;
            break;
        }
    }
    const std::string rest = decoder.flush();
    if (!rest.empty()) on_text(rest);
    stats.decode_seconds = seconds_since(start);
    return stats;
}

}  // namespace bayun
