// Checkpoint directories: round trip, run-directory resolution, and clear errors for broken ones.
#include "train/checkpoint.h"
#include "train/safetensors.h"
#include "support.h"

#include <filesystem>
#include <fstream>

using namespace bayun;
namespace fs = std::filesystem;

namespace {
nn::GPTConfig config(int64_t V) {
    nn::GPTConfig c;
    c.vocab_size = V;
    c.block_size = 8;
    c.n_layer = 1;
    c.n_head = 2;
    c.n_embd = 8;
    return c;
}
}  // namespace

TEST_CASE("a saved checkpoint loads back into a model with the same logits", "[train][checkpoint]") {
    const auto tokenizer = Tokenizer::train("char", {"abcdefgh"}, 0);
    nn::GPT model(config(tokenizer->vocab_size()), 4);
    AdamW optimizer(model.named_parameters());
    const fs::path run = test::fresh_dir("roundtrip");
    save_checkpoint((run / "best").string(), model, *tokenizer, &optimizer, {{"step", 3}});

    Checkpoint ck = load_checkpoint(run.string());  // a run directory resolves to best/
    CHECK(ck.dir == (run / "best").string());
    CHECK(ck.state.at("step") == 3);
    CHECK(ck.model->config().to_metadata() == model.config().to_metadata());
    CHECK(ck.model->lm_head.weight.same(ck.model->transformer.wte.weight));  // still tied after loading
    const std::vector<int32_t> tokens{1, 2, 3, 4};
    test::require_close(ck.model->forward(tokens, 1, 4).logits, model.forward(tokens, 1, 4).logits, 0, 0);

    // The tied head is stored under both of nanoGPT's names.
    const SafetensorsFile file = load_safetensors((run / "best" / "model.safetensors").string());
    int heads = 0;
    for (const auto& t : file.tensors) heads += t.name == "lm_head.weight" || t.name == "transformer.wte.weight";
    CHECK(heads == 2);
}

TEST_CASE("broken checkpoints name the file and the problem", "[train][checkpoint][errors]") {
    const auto tokenizer = Tokenizer::train("char", {"abcdefgh"}, 0);
    nn::GPT model(config(tokenizer->vocab_size()), 4);
    const fs::path dir = test::fresh_dir("broken");
    const std::string ck = (dir / "ck").string();
    save_checkpoint(ck, model, *tokenizer, nullptr, {});

    SECTION("a directory without checkpoints") {
        fs::create_directories(dir / "empty");
        REQUIRE_THROWS_WITH(load_checkpoint((dir / "empty").string()), ContainsSubstring("holds no model.safetensors"));
    }
    SECTION("a missing tokenizer.json") {
        fs::remove(dir / "ck" / "tokenizer.json");
        REQUIRE_THROWS_WITH(load_checkpoint(ck), ContainsSubstring("tokenizer.json' is missing"));
    }
    SECTION("weights of another shape") {
        nn::GPTConfig wider = config(tokenizer->vocab_size());
        wider.n_embd = 12;
        nn::GPT other(wider, 1);
        auto weights = other.named_parameters();
        auto metadata = model.config().to_metadata();  // claims the small config, holds wider tensors
        save_safetensors((dir / "ck" / "model.safetensors").string(), weights, metadata);
        REQUIRE_THROWS_WITH(load_checkpoint(ck), ContainsSubstring("does not match the model"));
    }
    SECTION("a tokenizer of another size") {
        Tokenizer::train("char", {"xyz"}, 0)->save((dir / "ck" / "tokenizer.json").string());
        REQUIRE_THROWS_WITH(load_checkpoint(ck), ContainsSubstring("expects vocab_size"));
    }
    SECTION("a checkpoint without optimizer state cannot resume") {
        AdamW optimizer(model.named_parameters());
        REQUIRE_THROWS_WITH(load_optimizer_state(ck, optimizer), ContainsSubstring("cannot resume training"));
    }
}
