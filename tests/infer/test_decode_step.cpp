// DecodeStep, the one-token fast path, against the modules (GPT::last_logits with a KV cache): the same
// logits and the same keys and values in the cache, for every model variant, on one thread and on two.
#include "autograd/kernels.h"
#include "infer/decode_step.h"
#include "support.h"

#include <cmath>

using namespace bayun;

namespace {
// Big enough (about 150K multiply-adds per token) that the step runs on a team of threads when it may.
nn::GPTConfig decode_config() {
    nn::GPTConfig c;
    c.vocab_size = 37;
    c.block_size = 24;
    c.n_layer = 3;
    c.n_head = 4;
    c.n_embd = 64;
    return c;
}

void randomise(nn::GPT& model, uint64_t seed) {
    Rng rng(seed);
    for (NamedTensor& p : model.named_parameters()) p.tensor.copy_from(Tensor::randn(p.tensor.shape(), rng, 0.3f));
}

// Restores the thread count when a test ends, whatever happens inside it.
struct ThreadsGuard {
    explicit ThreadsGuard(int n) { set_num_threads(n); }
    ~ThreadsGuard() { set_num_threads(0); }
};

// Feeds `tokens` one at a time through DecodeStep and through the modules, each with its own cache,
// requires the same logits and cache contents at every step, and returns the fast path's logits.
std::vector<std::vector<float>> decode_and_compare(nn::GPT& model, const std::vector<int32_t>& tokens) {
    const nn::GPTConfig& c = model.config();
    nn::KvCache fast_cache(c, 1, c.block_size), module_cache(c, 1, c.block_size);
    DecodeStep step(model);
    std::vector<std::vector<float>> all;
    for (size_t i = 0; i < tokens.size(); ++i) {
        INFO("position " << i);
        const std::span<const float> fast = step.run(tokens[i], fast_cache);
        all.emplace_back(fast.begin(), fast.end());
        const Tensor expected = model.last_logits(std::span<const int32_t>(&tokens[i], 1), 1, 1, &module_cache);
        test::require_close(Tensor::from(all.back(), {1, c.vocab_size}), expected, 1e-4, 1e-5, "logits");
        REQUIRE(fast_cache.length() == module_cache.length());
    }
    for (size_t l = 0; l < fast_cache.layers.size(); ++l) {
        test::require_close(fast_cache.layers[l].k, module_cache.layers[l].k, 1e-4, 1e-5, "keys");
        test::require_close(fast_cache.layers[l].v, module_cache.layers[l].v, 1e-4, 1e-5, "values");
    }
    return all;
}

const std::vector<int32_t> tale{3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4};

// A model of `config` with random weights (biases and layer norms included), compared on `threads` threads.
void check_model(const nn::GPTConfig& config, uint64_t seed, int threads) {
    INFO(threads << " threads");
    nn::GPT model(config, seed);
    randomise(model, seed + 1);
    model.eval();
    ThreadsGuard guard(threads);
    decode_and_compare(model, tale);
}
}  // namespace

TEST_CASE("the decode step gives the modules' logits and keys and values at every position", "[infer][decode]") {
    check_model(decode_config(), 11, GENERATE(1, 2));
}

TEST_CASE("the decode step follows post-norm, relu, no biases and an untied head like the modules",
          "[infer][decode]") {
    nn::GPTConfig c = decode_config();
    c.norm = nn::NormPlacement::post;
    c.activation = nn::Activation::relu;
    c.bias = false;
    c.tie_weights = false;
    c.n_head = 2;
    check_model(c, 13, GENERATE(1, 2));
}

TEST_CASE("the decode step gives the same logits, bit for bit, on one thread and on two", "[infer][decode]") {
    // Threads split the rows of each output, never a sum, so each value is added up in the same order.
    nn::GPT model(decode_config(), 15);
    randomise(model, 16);
    model.eval();
    std::vector<std::vector<float>> one, two;
    {
        ThreadsGuard guard(1);
        one = decode_and_compare(model, tale);
    }
    {
        ThreadsGuard guard(2);
        two = decode_and_compare(model, tale);
    }
    CHECK(one == two);
}

TEST_CASE("the decode step rejects a token outside the vocabulary and a full cache, changing nothing",
          "[infer][decode][errors]") {
    nn::GPTConfig c = decode_config();
    c.block_size = 3;
    nn::GPT model(c, 17);
    nn::KvCache cache(c, 1, c.block_size);
    DecodeStep step(model);
    REQUIRE_THROWS_WITH(step.run(37, cache), ContainsSubstring("token id 37 is outside the vocabulary [0, 37)"));
    REQUIRE_THROWS_WITH(step.run(-1, cache), ContainsSubstring("token id -1"));
    CHECK(cache.length() == 0);
    for (int32_t token : {1, 2, 3}) step.run(token, cache);
    REQUIRE_THROWS_WITH(step.run(4, cache), ContainsSubstring("position 3 is past the context (3 positions)"));
    CHECK(cache.length() == 3);
    nn::KvCache two_sequences(c, 2, c.block_size);
    REQUIRE_THROWS_WITH(step.run(1, two_sequences), ContainsSubstring("expected (1, 4, T_max, 16) for one sequence"));
}
