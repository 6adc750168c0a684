// Sampling functions: repetition penalty, temperature, top-k, top-p (nucleus), min-p, and the draw.
#include "infer/sampler.h"

#include "autograd/error.h"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace bayun {

void validate(const SamplerOptions& o) {
    if (!(o.temperature > 0.0f)) fail("sampler", "temperature must be > 0, found {} (use --greedy for 0)", o.temperature);
    if (o.top_k < 0) fail("sampler", "top-k must be >= 0 (0 turns it off), found {}", o.top_k);
    if (!(o.top_p > 0.0f && o.top_p <= 1.0f)) fail("sampler", "top-p must be in (0, 1], found {}", o.top_p);
    if (!(o.min_p >= 0.0f && o.min_p < 1.0f)) fail("sampler", "min-p must be in [0, 1), found {}", o.min_p);
    if (!(o.repetition_penalty > 0.0f))
        fail("sampler", "repetition penalty must be > 0 (1 turns it off), found {}", o.repetition_penalty);
}

int32_t argmax(std::span<const float> logits) {
    return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
}

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> recent, float penalty) {
    if (penalty == 1.0f) return;
    std::vector<bool> seen(logits.size(), false);
    for (int32_t id : recent)
        if (id >= 0 && static_cast<size_t>(id) < logits.size()) seen[id] = true;
    for (size_t i = 0; i < logits.size(); ++i)
        if (seen[i]) logits[i] = logits[i] > 0.0f ? logits[i] / penalty : logits[i] * penalty;
}

std::vector<float> softmax_with_temperature(std::span<const float> logits, float temperature) {
    std::vector<float> probs(logits.size());
    const float max = *std::max_element(logits.begin(), logits.end());
    double total = 0.0;
    for (size_t i = 0; i < logits.size(); ++i) total += probs[i] = std::exp((logits[i] - max) / temperature);
    for (float& p : probs) p = static_cast<float>(p / total);
    return probs;
}

namespace {
void renormalise(std::vector<float>& probs) {
    double total = 0.0;
    for (float p : probs) total += p;
    if (total > 0.0)
        for (float& p : probs) p = static_cast<float>(p / total);
}

// Token ids sorted by probability, most likely first (ties: lower id first, so results are deterministic).
std::vector<int32_t> by_probability(const std::vector<float>& probs) {
    std::vector<int32_t> order(probs.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return probs[a] > probs[b]; });
    return order;
}
}  // namespace

void filter_top_k(std::vector<float>& probs, int k) {
    if (k <= 0 || static_cast<size_t>(k) >= probs.size()) return;
    const std::vector<int32_t> order = by_probability(probs);
    for (size_t i = static_cast<size_t>(k); i < order.size(); ++i) probs[order[i]] = 0.0f;
    renormalise(probs);
}

void filter_top_p(std::vector<float>& probs, float p) {
    if (p >= 1.0f) return;
    const std::vector<int32_t> order = by_probability(probs);
    double cumulative = 0.0;
    size_t keep = 0;
    while (keep < order.size() && cumulative < p) cumulative += probs[order[keep++]];  // the nucleus
    for (size_t i = keep; i < order.size(); ++i) probs[order[i]] = 0.0f;
    renormalise(probs);
}

void filter_min_p(std::vector<float>& probs, float min_p) {
    if (min_p <= 0.0f) return;
    const float threshold = min_p * *std::max_element(probs.begin(), probs.end());
    for (float& p : probs)
        if (p < threshold) p = 0.0f;
    renormalise(probs);
}

int32_t sample_from(std::span<const float> probs, float u) {
    double cumulative = 0.0;
    int32_t last_nonzero = 0;
    for (size_t i = 0; i < probs.size(); ++i) {
        if (probs[i] <= 0.0f) continue;
        cumulative += probs[i];
        last_nonzero = static_cast<int32_t>(i);
        if (u < cumulative) return last_nonzero;
    }
    return last_nonzero;  // u within rounding of 1
}

int32_t choose_token(std::span<const float> logits, std::span<const int32_t> history, const SamplerOptions& o,
                     float u, std::vector<float>* before, std::vector<float>* after) {
    std::vector<float> adjusted(logits.begin(), logits.end());
    const size_t window = std::min(history.size(), static_cast<size_t>(std::max(o.repetition_window, 0)));
    apply_repetition_penalty(adjusted, history.subspan(history.size() - window), o.repetition_penalty);
    if (before) *before = softmax_with_temperature(logits, 1.0f);
    if (o.greedy) {
        const int32_t id = argmax(adjusted);
        if (after) {
            after->assign(logits.size(), 0.0f);
            (*after)[id] = 1.0f;
        }
        return id;
    }
    std::vector<float> probs = softmax_with_temperature(adjusted, o.temperature);
    filter_top_k(probs, o.top_k);
    filter_top_p(probs, o.top_p);
    filter_min_p(probs, o.min_p);
    if (after) *after = probs;
    return sample_from(probs, u);
}

}  // namespace bayun
