// `bayun train` and `bayun generate` from the command line: help, errors with non-zero exits, and a
// tiny end-to-end run.
#include "support.h"

#include <filesystem>
#include <fstream>

using namespace bayun;
namespace fs = std::filesystem;

namespace {
fs::path write_text(const fs::path& dir, const std::string& name, const std::string& text) {
    const fs::path file = dir / name;
    std::ofstream(file) << text;
    return file;
}

std::string tale(int repeats) {
    std::string text;
    for (int i = 0; i < repeats; ++i) text += "The learned cat said that he has seen much and knows much.\n";
    return text;
}
}  // namespace

TEST_CASE("bayun --help lists the subcommands and --version prints the version", "[cli]") {
    const auto help = test::run_bayun("--help");
    CHECK(help.exit_code == 0);
    for (const char* command : {"train", "generate", "tokenize", "corpus", "gradcheck", "bench"})
        CHECK_THAT(help.output, ContainsSubstring(command));
    const auto version = test::run_bayun("--version");
    CHECK(version.exit_code == 0);
    CHECK_THAT(version.output, ContainsSubstring("bayun 0."));
    const auto none = test::run_bayun("");
    CHECK(none.exit_code != 0);
    CHECK_THAT(none.output, ContainsSubstring("usage: bayun <command>"));
}

TEST_CASE("an unknown command or flag is a one-line error with a hint", "[cli][errors]") {
    const auto unknown = test::run_bayun("trian");
    CHECK(unknown.exit_code == 2);
    CHECK(unknown.output == "bayun: error: unknown command 'trian' (run 'bayun --help' for the list)\n");
    const auto flag = test::run_bayun("train --itres 5");
    CHECK(flag.exit_code == 1);
    CHECK_THAT(flag.output, ContainsSubstring("bayun: error: [train] unrecognised option '--itres'"));
    CHECK_THAT(flag.output, ContainsSubstring("see 'bayun train --help'"));
    const auto value = test::run_bayun("train --iters many");
    CHECK(value.exit_code == 1);
    CHECK_THAT(value.output, ContainsSubstring("many"));
}

TEST_CASE("bayun train --help lists every flag with its default", "[cli]") {
    const auto help = test::run_bayun("train --help");
    CHECK(help.exit_code == 0);
    for (const char* flag : {"--corpus", "--out", "--preset", "--iters", "--batch", "--lr", "--tokenizer", "--vocab-size",
                             "--seed", "--threads", "--resume", "--eval-interval", "--layers", "--heads", "--embd",
                             "--context", "--dropout", "--config"})
        CHECK_THAT(help.output, ContainsSubstring(flag));
    // The small preset's value: the help shows the defaults a plain `bayun train` runs with.
    CHECK_THAT(help.output, ContainsSubstring("(default: 2000)"));
}

TEST_CASE("bad training input exits non-zero with a clear message and writes nothing", "[cli][errors]") {
    const fs::path dir = test::fresh_dir("bad-train");
    const fs::path out = dir / "run";
    const std::string out_flag = " --out " + out.string() + " --sample-tokens 0";

    SECTION("a missing corpus") {
        const auto r = test::run_bayun("train --preset micro --corpus " + (dir / "nope.txt").string() + out_flag);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, ContainsSubstring("nope.txt"));
    }
    SECTION("a corpus shorter than the context") {
        const fs::path text = write_text(dir, "short.txt", "Once upon a time.\n");
        const auto r = test::run_bayun("train --preset micro --corpus " + text.string() + out_flag);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, ContainsSubstring("the corpus is too short"));
    }
    SECTION("heads that do not divide the embedding size") {
        const fs::path text = write_text(dir, "tale.txt", tale(50));
        const auto r = test::run_bayun("train --preset micro --heads 3 --corpus " + text.string() + out_flag);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, ContainsSubstring("n_embd 16 is not divisible by n_head 3"));
    }
    SECTION("invalid UTF-8 in the corpus") {
        const fs::path text = write_text(dir, "bad.txt", tale(50) + "caf\xC3(\n");
        const auto r = test::run_bayun("train --preset micro --corpus " + text.string() + out_flag);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, ContainsSubstring("bad.txt"));
        CHECK_THAT(r.output, ContainsSubstring("UTF-8"));
    }
    SECTION("an unknown preset") {
        const auto r = test::run_bayun("train --preset giant" + out_flag);
        CHECK(r.exit_code == 1);
        CHECK_THAT(r.output, ContainsSubstring("unknown preset 'giant'"));
    }
    CHECK_FALSE(fs::exists(out));
}

TEST_CASE("an unwritable output directory is a clear error", "[cli][errors]") {
    const fs::path dir = test::fresh_dir("unwritable");
    const fs::path text = write_text(dir, "tale.txt", tale(50));
    const fs::path blocker = write_text(dir, "file", "not a directory");
    const auto r = test::run_bayun("train --preset micro --iters 2 --corpus " + text.string() + " --out " +
                                   (blocker / "run").string());
    CHECK(r.exit_code == 1);
    CHECK_THAT(r.output, ContainsSubstring("cannot create the output directory"));
}

TEST_CASE("train then generate from the command line, and corrupt checkpoints are refused", "[cli][slow]") {
    const fs::path dir = test::fresh_dir("train-generate");
    const fs::path text = write_text(dir, "tale.txt", tale(60));
    const std::string run = (dir / "run").string();
    const auto trained = test::run_bayun("train --preset micro --iters 30 --eval-interval 10 --corpus " + text.string() +
                                         " --out " + run + " --sample-tokens 10 --threads 1");
    REQUIRE(trained.exit_code == 0);
    CHECK_THAT(trained.output, ContainsSubstring("done: 30 steps"));
    CHECK_THAT(trained.output, ContainsSubstring("eval step 30"));

    const auto told = test::run_bayun("generate --checkpoint " + run + " --prompt 'The cat' --max-new-tokens 20 --seed 3");
    REQUIRE(told.exit_code == 0);
    CHECK(told.output.starts_with("The cat"));
    CHECK_THAT(told.output, ContainsSubstring("new tokens, decode"));
    const auto again = test::run_bayun("generate --checkpoint " + run + " --prompt 'The cat' --max-new-tokens 20 --seed 3");
    CHECK(again.output.substr(0, 27) == told.output.substr(0, 27));

    const auto unknown = test::run_bayun("generate --checkpoint " + run + " --prompt 'Кот'");
    CHECK(unknown.exit_code == 1);
    CHECK_THAT(unknown.output, ContainsSubstring("'К' (U+041A)"));

    // Truncate the weights of last/: loading it names the file and the problem.
    const fs::path weights = dir / "run" / "last" / "model.safetensors";
    fs::resize_file(weights, 100);
    const auto corrupt = test::run_bayun("generate --checkpoint " + (dir / "run" / "last").string());
    CHECK(corrupt.exit_code == 1);
    CHECK_THAT(corrupt.output, ContainsSubstring("model.safetensors"));
    CHECK_THAT(corrupt.output, ContainsSubstring("bayun: error: [checkpoint]"));

    const auto missing = test::run_bayun("generate --checkpoint " + (dir / "nothing").string());
    CHECK(missing.exit_code == 1);
    CHECK_THAT(missing.output, ContainsSubstring("does not exist"));
}
