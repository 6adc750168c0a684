// DecodeStep: one new token through the GPT, the fast way. It is GPT::forward with a KV cache for one
// sequence and one position (what Session runs for every generated token), the same maths in the same
// order: embeddings; per block ln_1, attention, residual add, ln_2, FFN, residual add; ln_f; lm_head.
// The modules stay the reference that tests compare it with, and the path to step through in a debugger
// (BAYUN_REFERENCE_KERNELS=1 sends generation through them). What it saves is the work around the maths,
// which for one position is most of the time; see decode_step.cpp.
#pragma once

#include "nn/gpt.h"

#include <span>
#include <vector>

namespace bayun {

class DecodeStep {
public:
    explicit DecodeStep(const nn::GPT& model);

    // Runs `token` at position cache.length() of a one-sequence cache, writes its keys and values into
    // every layer of the cache, and returns the logits for the token after it: (V,), valid until the next run.
    std::span<const float> run(int32_t token, nn::KvCache& cache);

    // Whether Session should use it: not when the reference kernels are on (then everything, generation
    // included, runs through the modules and their plain loops).
    static bool enabled();

private:
    // The share of one step that thread `thread` of `threads` computes; see decode_step.cpp.
    void run_thread(int thread, int threads, int32_t token, int64_t pos, nn::KvCache& cache);

    struct ThreadState {  // each thread's own vectors
        std::vector<float> x;  // (C) the residual stream: every thread keeps a full, identical copy
        std::vector<float> a;  // (C) the layer norm of x that attention, the FFN or lm_head reads
        std::vector<float> q;  // (C) queries, of this thread's heads only
    };

    const nn::GPT& model_;
    std::vector<ThreadState> threads_;
    // Shared between the threads; each writes only its own slice, and reads whole vectors after a barrier.
    std::vector<float> heads_;   // (C) attention's output, the heads side by side
    std::vector<float> branch_;  // (C) what a sublayer adds to the residual stream (c_proj's output)
    std::vector<float> hidden_;  // (4C) the FFN's expanded, activated hidden layer
    std::vector<float> logits_;  // (V)
};

}  // namespace bayun
