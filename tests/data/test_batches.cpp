// Batches: inputs and targets shifted by one, determinism for a seed, epochs that visit every window
// once, and exact resume from a saved loader state.
#include "autograd/error.h"
#include "data/batches.h"
#include "support.h"

#include <numeric>
#include <set>

using namespace bayun;

namespace {
std::vector<int32_t> iota_tokens(int n) {
    std::vector<int32_t> t(n);
    std::iota(t.begin(), t.end(), 0);
    return t;
}
std::vector<Batch> take(BatchLoader& loader, int n) {
    std::vector<Batch> out;
    for (int i = 0; i < n; ++i) out.push_back(loader.next());
    return out;
}
bool same(const std::vector<Batch>& a, const std::vector<Batch>& b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i)
        if (a[i].inputs != b[i].inputs || a[i].targets != b[i].targets) return false;
    return true;
}
}  // namespace

TEST_CASE("a batch holds B windows of T inputs with targets shifted by one", "[data][batches]") {
    const bool epoch_mode = GENERATE(false, true);
    BatchLoader loader(iota_tokens(100), 4, 8, 7, epoch_mode);
    for (int step = 0; step < 20; ++step) {
        const Batch batch = loader.next();
        REQUIRE(batch.B == 4);
        REQUIRE(batch.T == 8);
        REQUIRE(batch.inputs.size() == 32);
        for (int64_t b = 0; b < 4; ++b) {
            const int32_t start = batch.inputs[b * 8];
            CHECK(start + 8 < 100);  // the target of the last position still exists
            for (int64_t t = 0; t < 8; ++t) {
                CHECK(batch.inputs[b * 8 + t] == start + t);
                CHECK(batch.targets[b * 8 + t] == start + t + 1);
            }
        }
    }
}

TEST_CASE("batches are the same for the same seed and differ for another seed", "[data][batches]") {
    const bool epoch_mode = GENERATE(false, true);
    BatchLoader a(iota_tokens(1000), 3, 16, 42, epoch_mode), b(iota_tokens(1000), 3, 16, 42, epoch_mode);
    BatchLoader c(iota_tokens(1000), 3, 16, 43, epoch_mode);
    const auto batches = take(a, 5);
    CHECK(same(batches, take(b, 5)));
    CHECK_FALSE(same(batches, take(c, 5)));
}

TEST_CASE("an epoch visits every window exactly once in shuffled order", "[data][batches]") {
    // 81 tokens, T = 8: windows start at 0, 8, ..., 72 (10 windows; token 80 is the last target).
    BatchLoader loader(iota_tokens(81), 5, 8, 1, true);
    REQUIRE(loader.windows_per_epoch() == 10);
    std::vector<int32_t> starts;
    for (const Batch& batch : take(loader, 2))
        for (int64_t b = 0; b < 5; ++b) starts.push_back(batch.inputs[b * 8]);
    CHECK(std::set<int32_t>(starts.begin(), starts.end()).size() == 10);
    for (const int32_t s : starts) CHECK(s % 8 == 0);
    CHECK_FALSE(std::is_sorted(starts.begin(), starts.end()));
    CHECK(loader.epoch() == 0);
    (void)loader.next();
    CHECK(loader.epoch() == 1);
}

TEST_CASE("restoring a saved loader state reproduces the next batches exactly", "[data][batches]") {
    const bool epoch_mode = GENERATE(false, true);
    BatchLoader original(iota_tokens(500), 4, 16, 2024, epoch_mode);  // 31 windows per epoch
    take(original, 5);                                                 // mid-epoch
    const nlohmann::json state = nlohmann::json::parse(original.state().dump());  // as a checkpoint would
    const auto expected = take(original, 12);                                    // crosses epoch boundaries

    BatchLoader resumed(iota_tokens(500), 4, 16, 999, epoch_mode);  // another seed: restore must override
    take(resumed, 3);
    resumed.restore(state);
    CHECK(same(take(resumed, 12), expected));
    if (epoch_mode) CHECK(resumed.epoch() == original.epoch());
}

TEST_CASE("a loader state from another configuration or corpus is refused", "[data][batches]") {
    BatchLoader loader(iota_tokens(200), 2, 8, 1);
    const auto state = loader.state();
    BatchLoader other_t(iota_tokens(200), 2, 16, 1);
    CHECK_THROWS_WITH(other_t.restore(state), ContainsSubstring("resume with the same --batch, --context"));
    BatchLoader epoch(iota_tokens(200), 2, 8, 1, true);
    CHECK_THROWS_WITH(epoch.restore(state), ContainsSubstring("mode=random B=2 T=8 over 200 tokens"));
    std::vector<int32_t> changed = iota_tokens(200);
    changed[17] = 3;
    BatchLoader other_tokens(changed, 2, 8, 1);
    CHECK_THROWS_WITH(other_tokens.restore(state), ContainsSubstring("the corpus or tokenizer changed"));
    CHECK_THROWS_WITH(loader.restore(nlohmann::json{{"kind", "adamw"}}), ContainsSubstring("not a batch loader state"));
    auto corrupt = state;
    corrupt.erase("rng");
    CHECK_THROWS_WITH(loader.restore(corrupt), ContainsSubstring("corrupt loader state"));
}

TEST_CASE("a corpus shorter than the context is a clear error", "[data][batches]") {
    CHECK_THROWS_WITH(BatchLoader(iota_tokens(64), 2, 64, 1),
                      "[batches] corpus shorter than the context: 64 tokens, but one window needs T + 1 = 65 "
                      "(use a smaller --context or a larger corpus)");
    CHECK_NOTHROW(BatchLoader(iota_tokens(65), 2, 64, 1, true));
    CHECK_THROWS_WITH(BatchLoader(iota_tokens(65), 0, 8, 1), ContainsSubstring("must be positive"));
}
