// BatchLoader (see batches.h): random windows or shuffled epochs of windows, with exact resume.
#include "data/batches.h"

#include "autograd/error.h"

#include <fmt/format.h>

#include <algorithm>

namespace bayun {

namespace {
uint64_t fnv1a(const std::vector<int32_t>& tokens) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const int32_t t : tokens) {
        const auto u = static_cast<uint32_t>(t);
        for (int k = 0; k < 4; ++k) {
            h ^= (u >> (8 * k)) & 0xFF;
            h *= 0x100000001b3ULL;
        }
    }
    return h;
}
}  // namespace

BatchLoader::BatchLoader(std::vector<int32_t> tokens, int64_t B, int64_t T, uint64_t seed, bool epoch_mode)
    : tokens_(std::move(tokens)), B_(B), T_(T), epoch_mode_(epoch_mode), rng_(seed) {
    if (B_ <= 0 || T_ <= 0) fail("batches", "batch size and context must be positive, got B={} T={}", B_, T_);
    if (static_cast<int64_t>(tokens_.size()) < T_ + 1)
        fail("batches", "corpus shorter than the context: {} tokens, but one window needs T + 1 = {} "
             "(use a smaller --context or a larger corpus)", tokens_.size(), T_ + 1);
    tokens_hash_ = fnv1a(tokens_);
    if (epoch_mode_) start_epoch();
}

int64_t BatchLoader::windows_per_epoch() const {
    const auto n = static_cast<int64_t>(tokens_.size());
    return epoch_mode_ ? (n - 1) / T_ : n - T_;
}

void BatchLoader::start_epoch() {
    epoch_rng_ = rng_.state();
    const int64_t windows = windows_per_epoch();
    order_.resize(windows);
    for (int64_t w = 0; w < windows; ++w) order_[w] = w * T_;
    for (int64_t i = windows - 1; i > 0; --i) std::swap(order_[i], order_[rng_.below(i + 1)]);
    cursor_ = 0;
}

void BatchLoader::copy_window(int64_t row, int64_t start, Batch& batch) const {
    const int32_t* window = tokens_.data() + start;                       // (T + 1,)
    std::copy(window, window + T_, batch.inputs.begin() + row * T_);      // tokens[start .. start+T)
    std::copy(window + 1, window + T_ + 1, batch.targets.begin() + row * T_);  // shifted by one
}

Batch BatchLoader::next() {
    Batch batch{std::vector<int32_t>(B_ * T_), std::vector<int32_t>(B_ * T_), B_, T_};
    for (int64_t b = 0; b < B_; ++b) {
        int64_t start;
        if (epoch_mode_) {
            if (cursor_ == static_cast<int64_t>(order_.size())) {
                ++epoch_;
                start_epoch();
            }
            start = order_[cursor_++];
        } else {
            start = static_cast<int64_t>(rng_.below(static_cast<uint64_t>(windows_per_epoch())));
        }
        copy_window(b, start, batch);
    }
    return batch;
}

nlohmann::json BatchLoader::state() const {
    nlohmann::json j = {{"kind", "batch_loader"},
                        {"version", 1},
                        {"mode", epoch_mode_ ? "epoch" : "random"},
                        {"B", B_},
                        {"T", T_},
                        {"num_tokens", tokens_.size()},
                        {"tokens_hash", fmt::format("{:016x}", tokens_hash_)},
                        {"rng", rng_.state()}};
    if (epoch_mode_) {
        j["epoch"] = epoch_;
        j["cursor"] = cursor_;
        j["epoch_rng"] = epoch_rng_;
    }
    return j;
}

void BatchLoader::restore(const nlohmann::json& j) {
    try {
        if (j.value("kind", "") != "batch_loader" || j.value("version", 0) != 1)
            fail("batches", "not a batch loader state (expected kind \"batch_loader\", version 1)");
        const std::string mode = j.at("mode");
        const auto B = j.at("B").get<int64_t>(), T = j.at("T").get<int64_t>();
        const auto n = j.at("num_tokens").get<size_t>();
        const std::string hash = j.at("tokens_hash");
        if (mode != (epoch_mode_ ? "epoch" : "random") || B != B_ || T != T_ || n != tokens_.size())
            fail("batches", "the saved loader state is for mode={} B={} T={} over {} tokens, but this loader has "
                 "mode={} B={} T={} over {} tokens (resume with the same --batch, --context, mode and corpus)",
                 mode, B, T, n, epoch_mode_ ? "epoch" : "random", B_, T_, tokens_.size());
        if (hash != fmt::format("{:016x}", tokens_hash_))
            fail("batches", "the saved loader state is for different tokens (same count, hash {} vs {}): "
                 "the corpus or tokenizer changed since the checkpoint", hash, fmt::format("{:016x}", tokens_hash_));
        const auto rng = j.at("rng").get<std::array<uint64_t, 4>>();
        if (epoch_mode_) {
            const auto cursor = j.at("cursor").get<int64_t>();
            if (cursor < 0 || cursor > windows_per_epoch())
                fail("batches", "loader state cursor {} is outside [0, {}] (corrupt state?)", cursor, windows_per_epoch());
            // Rebuild this epoch's order from the RNG state it was shuffled with, then continue.
            rng_.set_state(j.at("epoch_rng").get<std::array<uint64_t, 4>>());
            start_epoch();
            epoch_ = j.at("epoch").get<int64_t>();
            cursor_ = cursor;
        }
        rng_.set_state(rng);
    } catch (const nlohmann::json::exception& e) {
        fail("batches", "corrupt loader state: {}", e.what());
    }
}

}  // namespace bayun
