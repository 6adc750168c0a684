// End-to-end training: falling loss, checkpoints, exact resume, and clear errors for bad settings.
#include "train/checkpoint.h"
#include "train/trainer.h"
#include "support.h"

#include <filesystem>
#include <fstream>

using namespace bayun;
namespace fs = std::filesystem;

namespace {

// A small text with enough structure to learn: a few sentences repeated with variations.
fs::path write_tale(const fs::path& dir) {
    fs::create_directories(dir);
    std::string text;
    const char* lines[] = {"The learned cat walks round the oak and tells a tale.\n",
                           "The fox ran to the forest and the wolf ran after him.\n",
                           "Ivan the fool said that he has seen much and knows much.\n",
                           "Baba Yaga sat in her hut on hen's legs.\n"};
    for (int i = 0; i < 120; ++i) text += lines[(i * 7 + i / 3) % 4];
    const fs::path file = dir / "tale.txt";
    std::ofstream(file) << text;
    return file;
}

TrainConfig tiny_run(const fs::path& root) {
    TrainConfig c = preset_config("micro");
    c.corpus = {write_tale(root / "corpus").string()};
    c.out_dir = (root / "run").string();
    c.iters = 100;
    c.eval_interval = 25;
    c.eval_iters = 2;
    c.batch = 4;
    c.model.dropout = 0.1f;  // so that the dropout RNG's state must be restored too
    c.sample_tokens = 20;
    c.threads = 1;
    return c;
}

}  // namespace

TEST_CASE("the micro preset trains with falling loss and writes last and best checkpoints", "[train][slow]") {
    const fs::path root = test::fresh_dir("falling");
    const TrainResult r = train(tiny_run(root));
    REQUIRE(r.step_losses.size() == 100);
    double first = 0, last = 0;
    for (int i = 0; i < 10; ++i) first += r.step_losses[i] / 10.0;
    for (int i = 90; i < 100; ++i) last += r.step_losses[i] / 10.0;
    CHECK(last < first - 0.5);
    CHECK(r.best_val_loss <= r.final_val_loss + 1e-9);
    for (const char* which : {"last", "best"})
        for (const char* file : {"model.safetensors", "tokenizer.json", "optimizer.safetensors", "state.json"})
            CHECK(fs::exists(root / "run" / which / file));
    CHECK(fs::exists(root / "run" / "log.jsonl"));
    CHECK(r.sample.starts_with("The learned cat said that he"));

    // The checkpoint loads back into a model with the same weights, through the run directory (-> best/).
    Checkpoint ck = load_checkpoint((root / "run").string());
    CHECK(ck.dir == (root / "run" / "best").string());
    CHECK(ck.state.at("step") == r.best_step);
}

TEST_CASE("a run stopped and resumed has the same per-step losses as an uninterrupted run", "[train][slow]") {
    const fs::path a = test::fresh_dir("uninterrupted"), b = test::fresh_dir("interrupted");
    const TrainResult whole = train(tiny_run(a));

    TrainConfig first_half = tiny_run(b);
    first_half.halt_after_step = 37;  // as if Ctrl-C arrived during step 37
    const TrainResult part1 = train(first_half);
    REQUIRE(part1.interrupted);
    REQUIRE(part1.step_losses.size() == 37);

    TrainConfig resume;
    resume.iters = 0;
    const TrainResult part2 = train(resume, (b / "run").string());
    REQUIRE(part2.step_losses.size() == 63);

    std::vector<float> joined = part1.step_losses;
    joined.insert(joined.end(), part2.step_losses.begin(), part2.step_losses.end());
    REQUIRE(joined.size() == whole.step_losses.size());
    for (size_t i = 0; i < joined.size(); ++i) {
        INFO("step " << i);
        REQUIRE(joined[i] == whole.step_losses[i]);  // bit for bit
    }
    CHECK(part2.best_val_loss == whole.best_val_loss);

    // Resuming a finished run, or asking for fewer steps than it has done, says so instead of "training".
    resume.iters = 50;
    REQUIRE_THROWS_WITH(train(resume, (b / "run").string()),
                        ContainsSubstring("is at step 100 and the run ends at step 50: nothing left to train"));
    resume.iters = 0;
    REQUIRE_THROWS_WITH(train(resume, (b / "run").string()), ContainsSubstring("give --iters N with N > 100"));
}

TEST_CASE("bad training settings give clear errors and write nothing", "[train][errors]") {
    const fs::path root = test::fresh_dir("errors");
    TrainConfig c = tiny_run(root);
    c.model.n_head = 3;  // 16 channels do not split into 3 heads
    REQUIRE_THROWS_WITH(train(c), ContainsSubstring("[config] n_embd 16 is not divisible by n_head 3"));
    CHECK_FALSE(fs::exists(root / "run"));

    c = tiny_run(root);
    c.model.block_size = 4000;  // longer than the whole text
    REQUIRE_THROWS_WITH(train(c), ContainsSubstring("the corpus is too short"));
    CHECK_FALSE(fs::exists(root / "run"));

    c = tiny_run(root);
    c.corpus = {(root / "missing.txt").string()};
    REQUIRE_THROWS_WITH(train(c), ContainsSubstring("missing.txt"));

    c = tiny_run(root);
    c.tokenizer = "words";
    REQUIRE_THROWS_WITH(train(c), "[train] --tokenizer must be 'char' or 'bpe', found 'words'");
}

TEST_CASE("presets are the documented shapes and unknown names are listed", "[train]") {
    CHECK(preset_config("micro").model.n_layer == 1);
    CHECK(preset_config("micro").model.n_embd == 16);
    CHECK(preset_config("micro").model.block_size == 16);
    const TrainConfig s = preset_config("shakespeare-char");
    CHECK((s.model.n_layer == 6 && s.model.n_head == 6 && s.model.n_embd == 384 && s.model.block_size == 256));
    REQUIRE_THROWS_WITH(preset_config("huge"), "[train] unknown preset 'huge' (choose one of: micro, small, "
                                               "shakespeare-char)");
}

TEST_CASE("train settings survive the round trip through state.json", "[train]") {
    TrainConfig c = preset_config("small");
    c.corpus = {"a.txt", "b"};
    c.lr = 3e-4f;
    c.tokenizer = "bpe";
    const TrainConfig back = TrainConfig::from_json(c.to_json());
    CHECK(back.to_json() == c.to_json());
}
