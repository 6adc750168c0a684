// Inspection on a tiny trained checkpoint and on hand-made models: attention rows are distributions with a
// zero future, PCA is right and deterministic, next-token probabilities and entropy agree, the trace's
// steps add up, the SVG pictures are well-formed XML, and mistakes get clear errors.
#include "cli/inspect_testing.h"
#include "data/utf8.h"
#include "infer/inspect.h"
#include "infer/svg.h"
#include "train/checkpoint.h"
#include "support.h"

#include <cmath>
#include <filesystem>
#include <fstream>

using namespace bayun;
using namespace bayun::inspect;
namespace fs = std::filesystem;

namespace {

const std::string kPrompt = "The cat ran";  // 11 characters, all in the tale; the micro context is 16

// A 2-layer model with larger random weights (so attention is not uniform) and a char tokenizer.
struct HandMade {
    std::unique_ptr<Tokenizer> tokenizer = Tokenizer::train("char", {"The cat ran to the oak. A fox!"}, 0);
    std::unique_ptr<nn::GPT> model;
    explicit HandMade(nn::NormPlacement norm) {
        nn::GPTConfig c;
        c.vocab_size = tokenizer->vocab_size();
        c.block_size = 16;
        c.n_layer = 2;
        c.n_head = 2;
        c.n_embd = 8;
        c.norm = norm;
        model = std::make_unique<nn::GPT>(c, 3);
        Rng rng(11);
        for (NamedTensor& p : model->named_parameters())
            if (p.tensor.dim() == 2) p.tensor.copy_from(Tensor::randn(p.tensor.shape(), rng, 0.5f));
    }
};

std::vector<float> values_of(const Trace& t, const std::string& name, int head = -1) {
    for (const TraceStep& s : t.steps)
        if (s.name == name && s.head == head) return s.values;
    FAIL("no trace step " << name << " for head " << head);
    return {};
}

}  // namespace

TEST_CASE("attention rows sum to 1 and the future gets no weight", "[infer][inspect]") {
    Checkpoint ck = load_checkpoint(test::tiny_run().string());
    const AttentionReport r = attention(*ck.model, *ck.tokenizer, kPrompt);
    REQUIRE(r.tokens.size() == kPrompt.size());
    CHECK(r.tokens[0].text == "T");
    CHECK(r.tokens[3].text == " ");
    REQUIRE(r.n_layer == 1);
    REQUIRE(r.n_head == 2);
    REQUIRE(r.heads.size() == 2);
    for (const HeadAttention& h : r.heads) {
        REQUIRE(h.weights.size() == kPrompt.size());
        for (size_t i = 0; i < h.weights.size(); ++i) {
            INFO("head " << h.head << ", query " << i);
            REQUIRE(h.weights[i].size() == kPrompt.size());
            double total = 0;
            for (size_t j = 0; j < h.weights[i].size(); ++j) {
                if (j > i) CHECK(h.weights[i][j] == 0.0f);  // causal: exactly zero
                else CHECK(h.weights[i][j] > 0.0f);
                total += h.weights[i][j];
            }
            CHECK_THAT(total, WithinAbs(1.0, 1e-5));
        }
        CHECK(h.weights[0][0] == 1.0f);  // the first token can only look at itself
    }
}

TEST_CASE("attention leaves the model as it found it: eval switch restored, observer detached", "[infer][inspect]") {
    HandMade m(nn::NormPlacement::pre);
    m.model->train();
    const std::vector<int32_t> ids = m.tokenizer->encode("The cat");
    const Tensor before = m.model->last_logits(ids, 1, 7);
    attention(*m.model, *m.tokenizer, "The cat");
    CHECK(m.model->is_training());
    test::require_close(m.model->last_logits(ids, 1, 7), before, 0, 0);  // no observer left to crash into
}

TEST_CASE("nearest tokens are the most cosine-similar rows of wte, without the query", "[infer][inspect]") {
    Checkpoint ck = load_checkpoint(test::tiny_run().string());
    const NearestTokens n = nearest_tokens(*ck.model, *ck.tokenizer, "a", 5);
    CHECK(n.query.text == "a");
    REQUIRE(n.neighbours.size() == 5);
    const Tensor& wte = ck.model->transformer.wte.weight;
    const int64_t C = wte.size(1);
    const auto cosine = [&](int32_t a, int32_t b) {
        double dot = 0, na = 0, nb = 0;
        for (int64_t c = 0; c < C; ++c) {
            const double x = wte.at({a, c}), y = wte.at({b, c});
            dot += x * y, na += x * x, nb += y * y;
        }
        return dot / std::sqrt(na * nb);
    };
    double best_other = -2;
    for (int32_t id = 0; id < ck.tokenizer->vocab_size(); ++id)
        if (id != n.query.id) best_other = std::max(best_other, cosine(n.query.id, id));
    CHECK_THAT(n.neighbours[0].similarity, WithinAbs(best_other, 1e-9));
    for (size_t i = 0; i < n.neighbours.size(); ++i) {
        CHECK(n.neighbours[i].token.id != n.query.id);
        CHECK_THAT(n.neighbours[i].similarity, WithinAbs(cosine(n.query.id, n.neighbours[i].token.id), 1e-9));
        if (i > 0) CHECK(n.neighbours[i].similarity <= n.neighbours[i - 1].similarity);
    }
}

TEST_CASE("PCA finds the principal axes of a known cloud, with fixed signs", "[infer][inspect][pca]") {
    // Points spread 3 units along (1, 1, 0)/sqrt 2 and 1 unit along (0, 0, -1), around the mean (5, -2, 1).
    std::vector<float> m;
    const double s = 1.0 / std::sqrt(2.0);
    for (int i = 0; i < 6; ++i)
        for (int j = 0; j < 6; ++j) {
            const double a = 3.0 * (i - 2.5), b = 1.0 * (j - 2.5);
            m.push_back(static_cast<float>(5 + a * s));
            m.push_back(static_cast<float>(-2 + a * s));
            m.push_back(static_cast<float>(1 - b));
        }
    const Pca p = pca_2d(m, 36, 3);
    CHECK_THAT(p.mean[0], WithinAbs(5.0, 1e-5));
    CHECK_THAT(p.mean[1], WithinAbs(-2.0, 1e-5));
    CHECK_THAT(p.components[0][0], WithinAbs(s, 1e-6));  // positive: the sign is fixed
    CHECK_THAT(p.components[0][1], WithinAbs(s, 1e-6));
    CHECK_THAT(p.components[0][2], WithinAbs(0.0, 1e-6));
    CHECK_THAT(std::abs(p.components[1][2]), WithinAbs(1.0, 1e-6));
    CHECK(p.components[1][2] > 0);  // its largest entry is made positive, though the data ran along -z
    CHECK_THAT(p.variance[0] / p.variance[1], WithinRel(9.0, 1e-6));
    CHECK_THAT(p.variance[0] + p.variance[1], WithinRel(p.total_variance, 1e-9));
    double dot = 0;
    for (int i = 0; i < 3; ++i) dot += p.components[0][i] * p.components[1][i];
    CHECK_THAT(dot, WithinAbs(0.0, 1e-9));
}

TEST_CASE("the embedding map is the same on every run, and tokens are placed by their own rows", "[infer][inspect][pca]") {
    Checkpoint a = load_checkpoint(test::tiny_run().string());
    Checkpoint b = load_checkpoint(test::tiny_run().string());
    const std::vector<std::string> words{"a", "e", "T", " ", "."};
    const Projection p = project_tokens(*a.model, *a.tokenizer, words);
    const Projection q = project_tokens(*b.model, *b.tokenizer, words);
    REQUIRE(p.coords.size() == words.size());
    for (size_t i = 0; i < words.size(); ++i) {
        CHECK(p.tokens[i].text == words[i]);
        CHECK(p.coords[i] == q.coords[i]);  // bit for bit
    }
    CHECK(p.explained[0] >= p.explained[1]);
    CHECK(p.explained[0] + p.explained[1] <= 1.0 + 1e-9);
    // Every token (no words given): the coordinates of the whole vocabulary are centered.
    const Projection all = project_tokens(*a.model, *a.tokenizer, {});
    REQUIRE(static_cast<int>(all.tokens.size()) == a.tokenizer->vocab_size());
    double sx = 0, sy = 0;
    for (const auto& c : all.coords) sx += c[0], sy += c[1];
    CHECK_THAT(sx / all.coords.size(), WithinAbs(0.0, 1e-5));
    CHECK_THAT(sy / all.coords.size(), WithinAbs(0.0, 1e-5));
}

TEST_CASE("next-token probabilities sum to 1 and the entropy is -sum p log p", "[infer][inspect]") {
    Checkpoint ck = load_checkpoint(test::tiny_run().string());
    const NextTokens n = next_tokens(*ck.model, *ck.tokenizer, kPrompt, 5);
    REQUIRE(static_cast<int>(n.probabilities.size()) == ck.tokenizer->vocab_size());
    REQUIRE(n.hidden.size() == 16);
    double total = 0, entropy = 0;
    for (double p : n.probabilities) {
        total += p;
        if (p > 0) entropy -= p * std::log(p);
    }
    CHECK_THAT(total, WithinAbs(1.0, 1e-9));
    CHECK_THAT(n.entropy, WithinAbs(entropy, 1e-12));
    CHECK(n.entropy > 0);
    CHECK(n.entropy <= std::log(static_cast<double>(n.probabilities.size())) + 1e-9);
    REQUIRE(n.top.size() == 5);
    for (size_t i = 0; i < n.top.size(); ++i) {
        CHECK(n.top[i].probability == n.probabilities[n.top[i].token.id]);
        CHECK(n.top[i].token.text == printable_bytes(ck.tokenizer->token_bytes(n.top[i].token.id)));
        if (i > 0) CHECK(n.top[i].probability <= n.top[i - 1].probability);
    }
    // The same logits as the sampler sees.
    const std::vector<int32_t> ids = ck.tokenizer->encode(kPrompt);
    const Tensor logits = ck.model->last_logits(ids, 1, static_cast<int64_t>(ids.size()));
    CHECK_THAT(n.top[0].logit, WithinAbs(logits.data()[n.top[0].token.id], 1e-5));
}

TEST_CASE("the trace of a pre-norm block shows every step with its shape, and the steps add up", "[infer][inspect][trace]") {
    HandMade m(nn::NormPlacement::pre);
    const Trace t = trace(*m.model, *m.tokenizer, "The cat", 1);
    CHECK(t.layer == 1);
    CHECK(t.position == 6);
    CHECK(t.token.text == "t");
    CHECK(t.norm == "pre");
    std::vector<std::string> names;
    for (const TraceStep& s : t.steps)
        if (s.head <= 0) names.push_back(s.name);
    const std::vector<std::string> expected{"input", "ln_1", "q", "k", "v", "scores", "attn_weights", "head_output",
                                            "concat", "attn_proj", "residual_attn", "ln_2", "mlp_expand",
                                            "mlp_activation", "mlp_output", "output"};
    CHECK(names == expected);
    for (const TraceStep& s : t.steps) {
        INFO(s.name << " head " << s.head);
        CHECK(!s.what.empty());
        CHECK(s.code.starts_with("nn/"));
        CHECK(s.shape == Shape{static_cast<int64_t>(s.values.size())});
        double sq = 0;
        for (float v : s.values) sq += static_cast<double>(v) * v;
        CHECK_THAT(s.norm, WithinAbs(std::sqrt(sq), 1e-9));
    }
    CHECK(values_of(t, "q", 1).size() == 4);             // D = C / H = 8 / 2
    CHECK(values_of(t, "attn_weights", 0).size() == 7);  // one weight per token
    CHECK(values_of(t, "mlp_expand").size() == 32);      // 4C
    CHECK(values_of(t, "output").size() == 8);           // C

    // The residual stream: output = x + attention + FFN.
    const auto x = values_of(t, "input"), a = values_of(t, "attn_proj"), r1 = values_of(t, "residual_attn");
    const auto f = values_of(t, "mlp_output"), out = values_of(t, "output");
    for (size_t c = 0; c < x.size(); ++c) {
        CHECK_THAT(r1[c], WithinAbs(x[c] + a[c], 1e-5));
        CHECK_THAT(out[c], WithinAbs(r1[c] + f[c], 1e-5));
    }
    // The weights are the softmax of the scores; the concatenation is the heads side by side.
    for (int h = 0; h < 2; ++h) {
        const auto s = values_of(t, "scores", h), w = values_of(t, "attn_weights", h);
        double z = 0;
        for (float v : s) z += std::exp(v);
        for (size_t j = 0; j < s.size(); ++j) CHECK_THAT(w[j], WithinAbs(std::exp(s[j]) / z, 1e-5));
    }
    const auto concat = values_of(t, "concat"), h1 = values_of(t, "head_output", 1);
    for (size_t d = 0; d < 4; ++d) CHECK(concat[4 + d] == h1[d]);
    // The traced attention weights are attention()'s last row.
    const AttentionReport r = attention(*m.model, *m.tokenizer, "The cat");
    CHECK(r.heads[2].weights[6] == values_of(t, "attn_weights", 0));  // layer 1, head 0
}

TEST_CASE("the trace of a post-norm block has no separate ln steps and ends in ln_2", "[infer][inspect][trace]") {
    HandMade m(nn::NormPlacement::post);
    const Trace t = trace(*m.model, *m.tokenizer, "A fox", 0);
    CHECK(t.norm == "post");
    for (const TraceStep& s : t.steps) CHECK((s.name != "ln_1" && s.name != "ln_2"));
    const auto out = values_of(t, "output");  // ln_2(...) with weight 1, bias 0: mean 0, variance 1
    double mean = 0, var = 0;
    for (float v : out) mean += v / 8.0;
    for (float v : out) var += (v - mean) * (v - mean) / 8.0;
    CHECK_THAT(mean, WithinAbs(0.0, 1e-5));
    CHECK_THAT(var, WithinAbs(1.0, 1e-3));
}

TEST_CASE("inspection mistakes give clear errors", "[infer][inspect][errors]") {
    HandMade m(nn::NormPlacement::pre);
    REQUIRE_THROWS_WITH(attention(*m.model, *m.tokenizer, ""),
                        "[inspect] the prompt is empty: give some text with --prompt, e.g. --prompt 'The cat'");
    REQUIRE_THROWS_WITH(trace(*m.model, *m.tokenizer, "The cat", 2),
                        "[inspect] layer 2 is out of range: this model has 2 layers (--layer 0 .. 1)");
    REQUIRE_THROWS_WITH(trace(*m.model, *m.tokenizer, "The cat", -1), ContainsSubstring("layer -1 is out of range"));
    REQUIRE_THROWS_WITH(next_tokens(*m.model, *m.tokenizer, "The cat ran to the oak", 3),
                        ContainsSubstring("the prompt is 22 tokens, but this model sees at most 16"));
    REQUIRE_THROWS_WITH(next_tokens(*m.model, *m.tokenizer, "The cat", 0), ContainsSubstring("--top-k must be at least 1"));
    REQUIRE_THROWS_WITH(next_tokens(*m.model, *m.tokenizer, "The dog", 3), ContainsSubstring("'d'"));  // not in the vocabulary
    REQUIRE_THROWS_WITH(nearest_tokens(*m.model, *m.tokenizer, "cat", 3),
                        ContainsSubstring("'cat' is 3 tokens ('c' 'a' 't'), not one: this model has a character "
                                          "tokenizer, so every token is one character"));
    REQUIRE_THROWS_WITH(find_token(*m.tokenizer, ""), ContainsSubstring("the token is empty"));
}

TEST_CASE("escape_xml makes any token text safe to put in a picture", "[infer][svg]") {
    CHECK(svg::escape_xml("a<b>&\"c'") == "a&lt;b&gt;&amp;&quot;c&apos;");
    CHECK(svg::escape_xml("\n\t") == "\\n\\t");
    CHECK(svg::escape_xml(std::string("\x01", 1)) == "\\x01");
    CHECK(svg::escape_xml("\xE2\x82") == "\\xE2\\x82");  // half a UTF-8 character (a BPE token piece)
    CHECK(svg::escape_xml("жар-птица") == "жар-птица");
}

TEST_CASE("every SVG picture is well-formed XML, even with awkward token text", "[infer][svg]") {
    Checkpoint ck = load_checkpoint(test::tiny_run().string());
    AttentionReport r = attention(*ck.model, *ck.tokenizer, kPrompt);
    r.tokens[0].text = "<&\"'>";  // as if a token were made of XML's special characters
    r.tokens[1].text = "\xE2\x82";
    const std::string heat = attention_svg(r, "attention of <\"The cat\"> & co");
    CHECK(test::xml_problem(heat) == "");
    CHECK(heat.find("&lt;&amp;&quot;&apos;&gt;") != std::string::npos);
    CHECK(test::xml_problem(projection_svg(project_tokens(*ck.model, *ck.tokenizer, {}), "map")) == "");
    CHECK(test::xml_problem(loss_curve_svg(read_loss_log(test::tiny_run().string()))) == "");
    CHECK(test::xml_problem(svg::line_chart({}, "empty", "x", "y")) == "");  // nothing to draw is still a picture
    CHECK(test::xml_problem(svg::scatter({{1, 1, "one point"}}, "one", "x", "y")) == "");
    // The checker itself rejects what is broken.
    CHECK(test::xml_problem("<svg><g></svg>") != "");
    CHECK(test::xml_problem("<svg><text>a < b</text></svg>") != "");
    CHECK(test::xml_problem("<svg><text>a &nbsp; b</text></svg>") != "");
    CHECK(test::xml_problem("<svg a=\"1\" a=\"2\"/>") != "");
    CHECK(test::xml_problem("<svg/><svg/>") != "");
}

TEST_CASE("training draws its loss curve at the end, and the log reads back step by step", "[infer][inspect][log]") {
    const fs::path run = test::tiny_run();
    REQUIRE(fs::exists(run / "loss.svg"));
    CHECK(test::xml_problem(test::read_text(run / "loss.svg")) == "");
    const LossLog log = read_loss_log((run / "best").string());  // a checkpoint inside the run finds the run's log
    CHECK(log.path == (run / "log.jsonl").string());
    REQUIRE(log.steps.size() == 30);
    CHECK(log.steps.front().first == 0);
    CHECK(log.steps.back().first == 29);
    REQUIRE(log.val.size() == 3);
    CHECK(log.val[0].first == 10);
    CHECK(log.train.size() == 3);
}

TEST_CASE("a resumed run's repeated steps replace the older records in the loss curve", "[infer][inspect][log]") {
    const fs::path dir = fs::path(BAYUN_BINARY_DIR) / "test_tmp" / ("inspect-log-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    {
        std::ofstream out(dir / "log.jsonl");
        for (int s = 0; s < 6; ++s) out << R"({"kind":"step","step":)" << s << R"(,"loss":)" << 5 - s * 0.1 << "}\n";
        out << R"({"kind":"eval","step":4,"train_loss":4.5,"val_loss":4.6})" << "\n";
        out << R"({"kind":"eval","step":6,"train_loss":4.4,"val_loss":4.5})" << "\n";
        // Resumed from the checkpoint at step 4: steps 4 and 5 run again, evaluation at 6 again.
        for (int s = 4; s < 8; ++s) out << R"({"kind":"step","step":)" << s << R"(,"loss":)" << 3 - s * 0.1 << "}\n";
        out << R"({"kind":"eval","step":6,"train_loss":2.4,"val_loss":2.5})" << "\n";
        out << R"({"kind":"st)";  // cut short by a crash
    }
    const LossLog log = read_loss_log(dir.string());
    REQUIRE(log.steps.size() == 8);
    CHECK(log.steps[4].second == 3 - 0.4);
    REQUIRE(log.val.size() == 2);
    CHECK(log.val[0] == std::pair<int64_t, double>{4, 4.6});
    CHECK(log.val[1] == std::pair<int64_t, double>{6, 2.5});
    REQUIRE_THROWS_WITH(read_loss_log((dir / "missing").string()), ContainsSubstring("does not exist"));
    fs::remove_all(dir);
    fs::create_directories(dir);
    REQUIRE_THROWS_WITH(read_loss_log(dir.string()), ContainsSubstring("no log.jsonl in"));
    fs::remove_all(dir);
}

TEST_CASE("the JSON forms carry the same numbers", "[infer][inspect]") {
    HandMade m(nn::NormPlacement::pre);
    const nlohmann::json a = to_json(attention(*m.model, *m.tokenizer, "The"));
    CHECK(a.at("heads").size() == 4);
    CHECK(a.at("heads")[3].at("weights").size() == 3);
    CHECK(a.at("tokens")[0].at("text") == "T");
    const nlohmann::json n = to_json(next_tokens(*m.model, *m.tokenizer, "The", 3));
    CHECK(n.at("top").size() == 3);
    CHECK_THAT(n.at("entropy_bits").get<double>(), WithinRel(n.at("entropy_nats").get<double>() / std::log(2.0), 1e-12));
    const nlohmann::json t = to_json(trace(*m.model, *m.tokenizer, "The", 0));
    CHECK(t.at("steps")[0].at("name") == "input");
    CHECK(t.at("steps")[0].at("tensor_shape") == nlohmann::json::array({1, 3, 8}));
    // Text that is not UTF-8 (half a BPE character) still dumps.
    CHECK_NOTHROW(to_json(TokenInfo{5, printable_bytes("\xE2\x82")}).dump());
}
