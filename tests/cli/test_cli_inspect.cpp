// `bayun inspect` and `bayun gradcheck` as learners run them: the built executable on a tiny checkpoint,
// checking tables, JSON, SVG files, exit codes and error lines.
#include "cli/inspect_testing.h"
#include "support.h"

#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;
using bayun::test::read_text;
using bayun::test::tiny_run;
using bayun::test::xml_problem;

namespace {

struct Run {
    int code = -1;
    std::string out;  // stdout (and stderr, when the command asked for 2>&1)
};

// Single quotes for the shell: 'it'\''s'.
std::string quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return q + "'";
}

// Runs `bayun <args>` (already quoted) and captures its stdout; `merge` adds stderr.
Run bayun_cli(const std::string& args, bool merge = false) {
    const std::string command = std::string(BAYUN_BINARY_DIR "/bayun ") + args + (merge ? " 2>&1" : " 2>/dev/null");
    Run r;
    FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    char buffer[4096];
    size_t n;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) r.out.append(buffer, n);
    const int status = ::pclose(pipe);
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return r;
}

std::string checkpoint() { return "--checkpoint " + quote(tiny_run().string()) + " --threads 1"; }

std::string temp_file(const std::string& name) {
    const fs::path dir = tiny_run().parent_path() / "cli";
    fs::create_directories(dir);
    return (dir / name).string();
}

}  // namespace

TEST_CASE("bayun inspect attention prints each token's weights and draws well-formed heat maps", "[cli][inspect]") {
    const std::string svg = temp_file("attention.svg");
    const Run r = bayun_cli("inspect attention " + checkpoint() + " --prompt 'The cat' --svg " + quote(svg));
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, ContainsSubstring("1 layer x 2 heads, 7 tokens"));
    CHECK_THAT(r.out, ContainsSubstring("layer 0, head 1"));
    CHECK_THAT(r.out, ContainsSubstring("  0 'T' -> 'T' 100.0%"));
    CHECK_THAT(r.out, ContainsSubstring("wrote attention heat maps: " + svg));
    REQUIRE(fs::exists(svg));
    CHECK(xml_problem(read_text(svg)) == "");
}

TEST_CASE("bayun inspect attention --json gives rows that sum to 1 with a zero future", "[cli][inspect]") {
    const Run r = bayun_cli("inspect attention " + checkpoint() + " --prompt 'Ivan the fool' --json");
    REQUIRE(r.code == 0);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    REQUIRE(j.at("tokens").size() == 13);
    REQUIRE(j.at("heads").size() == 2);
    for (const auto& head : j.at("heads")) {
        const auto& w = head.at("weights");
        for (size_t i = 0; i < w.size(); ++i) {
            double total = 0;
            for (size_t k = 0; k < w[i].size(); ++k) {
                if (k > i) CHECK(w[i][k].get<double>() == 0.0);
                total += w[i][k].get<double>();
            }
            CHECK_THAT(total, WithinAbs(1.0, 1e-5));
        }
    }
}

TEST_CASE("bayun inspect embeddings lists nearest tokens and maps chosen ones", "[cli][inspect]") {
    const std::string svg = temp_file("map.svg");
    const Run r = bayun_cli("inspect embeddings " + checkpoint() + " --token a --top-k 3 --map " + quote(svg) +
                            " --tokens 'a,e,o,T,<'");
    INFO(r.out);
    // '<' is not in the tale: the tokenizer names it.
    CHECK(r.code == 1);
    const Run ok = bayun_cli("inspect embeddings " + checkpoint() + " --token a --top-k 3 --map " + quote(svg) +
                             " --tokens 'a,e,o,T, '");
    INFO(ok.out);
    REQUIRE(ok.code == 0);
    CHECK_THAT(ok.out, ContainsSubstring("tokenizer is 'char': its"));
    CHECK_THAT(ok.out, ContainsSubstring("tokens nearest to 'a'"));
    CHECK_THAT(ok.out, ContainsSubstring("principal components"));
    CHECK(xml_problem(read_text(svg)) == "");

    const Run j1 = bayun_cli("inspect embeddings " + checkpoint() + " --tokens 'a,e,o' --token e --json");
    const Run j2 = bayun_cli("inspect embeddings " + checkpoint() + " --tokens 'a,e,o' --token e --json");
    REQUIRE(j1.code == 0);
    CHECK(j1.out == j2.out);  // deterministic, digit for digit
    const nlohmann::json j = nlohmann::json::parse(j1.out);
    CHECK(j.at("tokenizer") == "char");
    CHECK(j.at("map").at("points").size() == 3);
    CHECK(j.at("map").at("points")[1].at("text") == "e");
    CHECK(j.at("nearest").at("neighbours").size() == 10);
}

TEST_CASE("bayun inspect next prints a distribution whose entropy matches its probabilities", "[cli][inspect]") {
    const Run text = bayun_cli("inspect next " + checkpoint() + " --prompt 'The fox ran' --top-k 4");
    INFO(text.out);
    REQUIRE(text.code == 0);
    CHECK_THAT(text.out, ContainsSubstring("entropy: "));
    CHECK_THAT(text.out, ContainsSubstring("rank"));

    const Run r = bayun_cli("inspect next " + checkpoint() + " --prompt 'The fox ran' --top-k 4 --json");
    REQUIRE(r.code == 0);
    const nlohmann::json j = nlohmann::json::parse(r.out);
    double total = 0, entropy = 0;
    for (const auto& p : j.at("probabilities")) {
        const double v = p.get<double>();
        total += v;
        if (v > 0) entropy -= v * std::log(v);
    }
    CHECK_THAT(total, WithinAbs(1.0, 1e-9));
    CHECK_THAT(j.at("entropy_nats").get<double>(), WithinAbs(entropy, 1e-9));
    REQUIRE(j.at("top").size() == 4);
    CHECK(j.at("top")[0].at("probability").get<double>() >= j.at("top")[1].at("probability").get<double>());
}

TEST_CASE("bayun inspect trace walks the last token through the layer", "[cli][inspect]") {
    const Run r = bayun_cli("inspect trace " + checkpoint() + " --prompt 'The cat' --layer 0");
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, ContainsSubstring("the path of the last token 't' (position 6"));
    for (const char* step : {"input", "ln_1", "q [head 0]", "k [head 1]", "v [head 1]", "attn_weights [head 0]",
                             "concat", "attn_proj", "residual_attn", "ln_2", "mlp_expand", "mlp_activation",
                             "mlp_output", "output"})
        CHECK_THAT(r.out, ContainsSubstring(step));
    CHECK_THAT(r.out, ContainsSubstring("(8,) of the whole (1, 2, 7, 8)"));  // a head's query: D = 8
    CHECK_THAT(r.out, ContainsSubstring("(64,) of the whole (1, 7, 64)"));   // the FFN's expansion: 4C
    const Run j = bayun_cli("inspect trace " + checkpoint() + " --prompt 'The cat' --json");
    REQUIRE(j.code == 0);
    CHECK(nlohmann::json::parse(j.out).at("steps").size() == 2 + 2 * 6 + 8);
}

TEST_CASE("bayun inspect log draws the loss curve of a run", "[cli][inspect]") {
    const std::string svg = temp_file("loss.svg");
    const Run r = bayun_cli("inspect log " + quote(tiny_run().string()) + " --svg " + quote(svg));
    INFO(r.out);
    REQUIRE(r.code == 0);
    CHECK_THAT(r.out, ContainsSubstring("30 steps"));
    CHECK_THAT(r.out, ContainsSubstring("train loss"));
    CHECK(xml_problem(read_text(svg)) == "");
    const Run j = bayun_cli("inspect log --checkpoint " + quote(tiny_run().string()) + " --svg " + quote(svg) + " --json");
    REQUIRE(j.code == 0);
    const nlohmann::json log = nlohmann::json::parse(j.out);
    CHECK(log.at("steps").size() == 30);
    CHECK(log.at("val").size() == 3);
}

TEST_CASE("bayun inspect explains mistakes in one line and exits 1", "[cli][inspect][errors]") {
    const auto error_of = [](const std::string& args) {
        const Run r = bayun_cli(args, true);
        CHECK(r.code == 1);
        return r.out;
    };
    CHECK(error_of("inspect trace " + checkpoint() + " --prompt 'The cat' --layer 3") ==
          "bayun: error: [inspect] layer 3 is out of range: this model has 1 layer (--layer 0)\n");
    CHECK(error_of("inspect next " + checkpoint() + " --prompt ''") ==
          "bayun: error: [inspect] the prompt is empty: give some text with --prompt, e.g. --prompt 'The cat'\n");
    CHECK_THAT(error_of("inspect next " + checkpoint() + " --prompt 'Жар'"), ContainsSubstring("'Ж' (U+0416)"));
    CHECK_THAT(error_of("inspect embeddings " + checkpoint() + " --token cat"),
               ContainsSubstring("character tokenizer, so every token is one character"));
    CHECK_THAT(error_of("inspect attention " + checkpoint()), ContainsSubstring("attention needs --prompt TEXT"));
    CHECK_THAT(error_of("inspect wiring " + checkpoint()),
               ContainsSubstring("unknown subcommand 'wiring': expected attention, embeddings, next, trace or log"));
    CHECK_THAT(error_of("inspect next --checkpoint /nonexistent/run --prompt a"), ContainsSubstring("/nonexistent/run"));
}

TEST_CASE("bayun gradcheck passes on the tiny model and fails when a gradient is perturbed", "[cli][gradcheck]") {
    const Run ok = bayun_cli("gradcheck");
    INFO(ok.out);
    REQUIRE(ok.code == 0);
    CHECK_THAT(ok.out, ContainsSubstring("transformer.h.1.attn.c_attn.weight"));
    CHECK_THAT(ok.out, ContainsSubstring("backpropagation is right"));
    CHECK(ok.out.find("FAIL") == std::string::npos);
    size_t rows = 0;
    for (size_t p = ok.out.find("  ok\n"); p != std::string::npos; p = ok.out.find("  ok\n", p + 1)) ++rows;
    CHECK(rows == 28);  // wte, wpe, 2 blocks x 12, ln_f x 2 (lm_head is tied to wte)

    const Run bad = bayun_cli("gradcheck --perturb transformer.h.0.mlp.c_fc.weight");
    INFO(bad.out);
    CHECK(bad.code == 1);
    size_t fails = 0;
    for (size_t p = bad.out.find("FAIL"); p != std::string::npos; p = bad.out.find("FAIL", p + 1)) ++fails;
    CHECK(fails == 2);  // the row, and the FAIL in the verdict line
    CHECK_THAT(bad.out, ContainsSubstring("FAIL rows above"));
    const size_t row = bad.out.find("transformer.h.0.mlp.c_fc.weight ");
    REQUIRE(row != std::string::npos);
    CHECK(bad.out.substr(row, bad.out.find('\n', row) - row).ends_with("FAIL"));

    const Run ops = bayun_cli("gradcheck --ops");
    CHECK(ops.code == 0);
    CHECK_THAT(ops.out, ContainsSubstring("layer_norm"));
    const Run help = bayun_cli("gradcheck --help");
    CHECK(help.out.find("perturb") == std::string::npos);  // a testing flag, not shown to learners
    CHECK_THAT(bayun_cli("gradcheck --perturb nothing", true).out, ContainsSubstring("no parameter named 'nothing'"));
}
