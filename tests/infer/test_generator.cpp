// The KV-cached generator against full recomputation, and reproducibility.
#include "data/tokenizer.h"
#include "infer/generator.h"
#include "support.h"

#include <cmath>

using namespace bayun;

namespace {
nn::GPTConfig small_config(int64_t V) {
    nn::GPTConfig c;
    c.vocab_size = V;
    c.block_size = 16;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 16;
    return c;
}

void randomise(nn::GPT& model, uint64_t seed) {
    Rng rng(seed);
    for (NamedTensor& p : model.named_parameters())
        if (p.tensor.dim() == 2) p.tensor.copy_from(Tensor::randn(p.tensor.shape(), rng, 0.3f));
}
}  // namespace

TEST_CASE("cached and uncached logits agree at every step, also after the context slides", "[infer][kv_cache]") {
    nn::GPT model(small_config(11), 5);
    randomise(model, 9);
    Session cached(model, true), uncached(model, false);
    const std::vector<int32_t> prompt{1, 2, 3, 4, 5};
    cached.append(prompt);
    uncached.append(prompt);
    for (int step = 0; step < 40; ++step) {  // 45 tokens through a 16-token context: several slides
        INFO("step " << step);
        REQUIRE(cached.window_start() == uncached.window_start());
        const auto a = cached.logits();
        const auto b = uncached.logits();
        for (size_t i = 0; i < a.size(); ++i) REQUIRE_THAT(a[i], WithinAbs(b[i], 1e-5 * std::max(1.0f, std::abs(b[i]))));
        const int32_t next = argmax(b);
        cached.append(std::span<const int32_t>(&next, 1));
        uncached.append(std::span<const int32_t>(&next, 1));
    }
    CHECK(cached.slides() >= 3);
    CHECK(cached.cache_bytes() == 2 * 2 * (2 * 16 * 8) * 4);  // L x (K and V) x (H x T_max x D) floats
}

TEST_CASE("greedy generation is the same with and without the cache", "[infer][generate]") {
    const auto tokenizer = Tokenizer::train("char", {"the learned cat said that he has seen much"}, 0);
    nn::GPT model(small_config(tokenizer->vocab_size()), 3);
    randomise(model, 4);
    GenerateOptions options;
    options.max_new_tokens = 50;
    options.sampler.greedy = true;
    const auto prompt = tokenizer->encode("the cat");
    std::string with_cache, without_cache;
    Rng rng1(1), rng2(1);
    Session a(model, true), b(model, false);
    generate(a, *tokenizer, prompt, options, rng1, [&](std::string_view s) { with_cache += s; });
    generate(b, *tokenizer, prompt, options, rng2, [&](std::string_view s) { without_cache += s; });
    CHECK(with_cache.size() == 50);
    CHECK(with_cache == without_cache);
}

TEST_CASE("seeded sampling is reproducible and the seed matters", "[infer][generate]") {
    const auto tokenizer = Tokenizer::train("char", {"abcdefghij klmnop"}, 0);
    nn::GPT model(small_config(tokenizer->vocab_size()), 3);
    randomise(model, 6);
    GenerateOptions options;
    options.max_new_tokens = 40;
    options.sampler.temperature = 1.5f;
    const auto prompt = tokenizer->encode("abc");
    const auto run = [&](uint64_t seed) {
        Session s(model, true);
        Rng rng(seed);
        std::string text;
        generate(s, *tokenizer, prompt, options, rng, [&](std::string_view piece) { text += piece; });
        return text;
    };
    CHECK(run(7) == run(7));
    CHECK(run(7) != run(8));
}

TEST_CASE("a stop string ends generation right after it appears", "[infer][generate]") {
    const auto tokenizer = Tokenizer::train("char", {"ab"}, 0);
    nn::GPT model(small_config(tokenizer->vocab_size()), 3);
    randomise(model, 2);
    GenerateOptions options;
    options.max_new_tokens = 100;
    options.stop = {"b"};
    Session s(model, true);
    Rng rng(3);
    std::string text;
    const auto prompt = tokenizer->encode("a");
    GenerateStats stats = generate(s, *tokenizer, prompt, options, rng, [&](std::string_view p) { text += p; });
    REQUIRE(stats.stopped_by_string);
    CHECK(text.ends_with("b"));
    CHECK(text.find('b') == text.size() - 1);
}
