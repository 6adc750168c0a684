// The sampler: how the next token is chosen from the model's logits. Small pure functions (as in
// llama2.c): each takes the numbers it needs, including the random number, so they can be tested on
// crafted distributions. The order is: repetition penalty -> temperature -> softmax -> top-k -> top-p
// -> min-p -> draw (or greedy: the most likely token).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace bayun {

struct SamplerOptions {
    bool greedy = false;             // always the most likely token
    float temperature = 1.0f;        // < 1 sharpens the distribution, > 1 flattens it
    int top_k = 0;                   // keep the k most likely tokens (0: off)
    float top_p = 1.0f;              // keep the smallest set whose probability reaches p (1: off)
    float min_p = 0.0f;              // drop tokens less likely than min_p x the top probability (0: off)
    float repetition_penalty = 1.0f; // > 1 makes tokens already in the text less likely (CTRL-style)
    int repetition_window = 64;      // how many recent tokens the penalty looks at
};

void validate(const SamplerOptions& options);  // throws bayun::Error naming a bad value

int32_t argmax(std::span<const float> logits);

// CTRL's penalty: for each token seen recently, divide a positive logit by `penalty`, multiply a negative one.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> recent, float penalty);

// softmax(logits / temperature), in place of a fresh vector.
std::vector<float> softmax_with_temperature(std::span<const float> logits, float temperature);

// Filters zero out the tokens they drop and renormalise the rest to sum to 1.
void filter_top_k(std::vector<float>& probs, int k);
void filter_top_p(std::vector<float>& probs, float p);
void filter_min_p(std::vector<float>& probs, float min_p);

// Inverse-CDF draw: the first token whose cumulative probability exceeds u (u in [0, 1)).
int32_t sample_from(std::span<const float> probs, float u);

// The whole pipeline. `before` and `after`, when given, receive the distribution before the filters
// (softmax at temperature 1) and after them, for --explain.
int32_t choose_token(std::span<const float> logits, std::span<const int32_t> history, const SamplerOptions& options,
                     float u, std::vector<float>* before = nullptr, std::vector<float>* after = nullptr);

}  // namespace bayun
