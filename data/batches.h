// BatchLoader: cuts the token stream into training examples. Each example is a window of T + 1 tokens;
// the first T are the inputs and the last T (the same window shifted by one) are the targets, so position
// t learns to predict token t + 1. B windows make a batch: inputs and targets are (B, T), row-major.
// Two modes:
//   - random (default): each window starts at a uniformly random position (nanoGPT's get_batch);
//   - epoch: the tokens are tiled into windows with stride T (each token is a target once per epoch),
//     and the windows are visited in a shuffled order without replacement, reshuffled every epoch.
// All randomness comes from one seeded bayun::Rng, and state()/restore() capture the position and the RNG,
// so a resumed training run sees exactly the batches an uninterrupted one would have.
#pragma once

#include "autograd/rng.h"

#include <nlohmann/json.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace bayun {

struct Batch {
    std::vector<int32_t> inputs;   // (B, T) tokens[start + t]
    std::vector<int32_t> targets;  // (B, T) tokens[start + t + 1]
    int64_t B = 0, T = 0;
};

class BatchLoader {
public:
    // Throws bayun::Error when B or T is not positive, or when tokens.size() < T + 1 (the corpus is
    // shorter than the context).
    BatchLoader(std::vector<int32_t> tokens, int64_t B, int64_t T, uint64_t seed, bool epoch_mode = false);

    Batch next();

    // {"kind": "batch_loader", "version": 1, "mode", "B", "T", "num_tokens", "tokens_hash", "rng",
    //  and in epoch mode "epoch", "cursor", "epoch_rng"}. restore() checks that the state belongs to a
    // loader with the same mode, B, T and tokens, and throws a clear bayun::Error otherwise.
    nlohmann::json state() const;
    void restore(const nlohmann::json& state);

    size_t num_tokens() const { return tokens_.size(); }
    int64_t windows_per_epoch() const;  // epoch mode: (num_tokens - 1) / T; random mode: num_tokens - T
    int64_t epoch() const { return epoch_; }  // epoch mode: completed epochs so far

private:
    void start_epoch();                        // shuffle the window order with rng_ (Fisher-Yates)
    void copy_window(int64_t row, int64_t start, Batch& batch) const;

    std::vector<int32_t> tokens_;              // (N,)
    int64_t B_, T_;
    bool epoch_mode_;
    uint64_t tokens_hash_;                     // FNV-1a of the tokens: restore() refuses a different corpus
    Rng rng_;
    // Epoch mode only.
    std::array<uint64_t, 4> epoch_rng_{};      // rng_ state before this epoch's shuffle (to rebuild order_)
    std::vector<int64_t> order_;               // window starts in this epoch's order
    int64_t cursor_ = 0;                       // next index into order_
    int64_t epoch_ = 0;
};

}  // namespace bayun
