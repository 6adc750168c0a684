// `bayun inspect`: look inside a trained model. Each subcommand prints a readable table, or JSON with
// --json (for notebooks), and some draw an SVG picture; the numbers come from infer/inspect.h.
//   attention   each head's attention weights over the prompt (--svg: heat maps, layers x heads)
//   embeddings  nearest tokens by cosine similarity (--token), tokens on a PCA map (--map FILE.svg)
//   next        the next-token distribution at the last position, with its entropy
//   trace       the last token's path through one block, step by step
//   log         the training log as a loss curve (SVG) and a table of evaluations
#include "autograd/error.h"
#include "autograd/kernels.h"
#include "cli/commands.h"
#include "infer/inspect.h"
#include "infer/svg.h"
#include "train/checkpoint.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <numeric>

namespace bayun::cli {

namespace {

namespace fs = std::filesystem;
using namespace bayun::inspect;

// The options every subcommand shares.
void add_common(po::options_description& options) {
    options.add_options()
        ("help", "show these options")
        ("checkpoint", po::value<std::string>()->default_value("runs/tale"), "a checkpoint or run directory")
        ("json", "print machine-readable JSON instead of tables")
        ("threads", po::value<int>()->default_value(0), "threads (0: one per physical core)");
}

std::string quoted(const TokenInfo& t) { return fmt::format("'{}'", t.text); }

std::string prompt_text(const std::vector<TokenInfo>& tokens) {
    std::string s;
    for (const TokenInfo& t : tokens) s += t.text;
    return s;
}

// A message about a file written: on stderr with --json, so stdout stays pure JSON.
void wrote(bool json, const std::string& what, const std::string& path) {
    fmt::print(json ? stderr : stdout, "wrote {}: {}\n", what, path);
}

std::string percent(double p) { return fmt::format("{:.1f}%", 100.0 * p); }

std::string first_values(std::span<const float> v, size_t n) {
    std::string s;
    for (size_t i = 0; i < std::min(n, v.size()); ++i) s += fmt::format("{}{:.4f}", i ? ", " : "", v[i]);
    if (v.size() > n) s += ", ...";
    return "[" + s + "]";
}

std::string tokenizer_note(const Tokenizer& tokenizer) {
    return tokenizer.kind() == "char"
               ? fmt::format("this model's tokenizer is 'char': its {} tokens are single characters", tokenizer.vocab_size())
               : fmt::format("this model's tokenizer is '{}' with {} tokens", tokenizer.kind(), tokenizer.vocab_size());
}

// ---- attention --------------------------------------------------------------------------------------------

int inspect_attention(const Args& args) {
    po::options_description options("bayun inspect attention options");
    add_common(options);
    options.add_options()
        ("prompt", po::value<std::string>(), "the text to look at (required)")
        ("top", po::value<int>()->default_value(4), "keys shown per token, most attended first")
        ("layer", po::value<int>(), "only this layer")
        ("svg", po::value<std::string>(), "also draw heat maps (layers x heads) into this SVG file");
    po::variables_map vm;
    if (!parse("inspect attention", args, options, vm)) return 0;
    if (!vm.count("prompt")) fail("inspect", "attention needs --prompt TEXT (the text whose attention to show)");
    const int top = vm["top"].as<int>();
    if (top < 1) fail("inspect", "--top must be at least 1, found {}", top);
    set_num_threads(vm["threads"].as<int>());
    const bool json = vm.count("json") > 0;

    Checkpoint ck = load_checkpoint(vm["checkpoint"].as<std::string>());
    AttentionReport r = attention(*ck.model, *ck.tokenizer, vm["prompt"].as<std::string>());
    if (vm.count("layer")) {
        const int layer = vm["layer"].as<int>();
        if (layer < 0 || layer >= r.n_layer)
            fail("inspect", "layer {} is out of range: this model has {} layer{} (0 .. {})", layer, r.n_layer,
                 r.n_layer == 1 ? "" : "s", r.n_layer - 1);
        std::erase_if(r.heads, [layer](const HeadAttention& h) { return h.layer != layer; });
    }
    if (vm.count("svg")) {
        const std::string path = vm["svg"].as<std::string>();
        svg::write_svg(path, attention_svg(r, fmt::format("attention of \"{}\" ({})", prompt_text(r.tokens), ck.dir)));
        wrote(json, "attention heat maps", path);
    }
    if (json) {
        fmt::print("{}\n", to_json(r).dump());
        return 0;
    }

    fmt::print("attention of '{}' in {}: {} layer{} x {} head{}, {} tokens\n", prompt_text(r.tokens), ck.dir, r.n_layer,
               r.n_layer == 1 ? "" : "s", r.n_head, r.n_head == 1 ? "" : "s", r.tokens.size());
    fmt::print("each token -> the tokens it attends to (itself and those before it; the future gets 0%), most first\n");
    // A token that occurs more than once is labelled with its position too: 'a'@5.
    std::vector<std::string> label;
    for (size_t i = 0; i < r.tokens.size(); ++i) {
        const auto same = [&](const TokenInfo& t) { return t.id == r.tokens[i].id; };
        const bool repeated = std::count_if(r.tokens.begin(), r.tokens.end(), same) > 1;
        label.push_back(repeated ? fmt::format("{}@{}", quoted(r.tokens[i]), i) : quoted(r.tokens[i]));
    }
    size_t width = 0;
    for (const std::string& l : label) width = std::max(width, l.size());
    for (const HeadAttention& h : r.heads) {
        fmt::print("\nlayer {}, head {}\n", h.layer, h.head);
        for (size_t i = 0; i < h.weights.size(); ++i) {
            std::vector<size_t> keys(i + 1);
            std::iota(keys.begin(), keys.end(), 0);
            std::stable_sort(keys.begin(), keys.end(), [&](size_t a, size_t b) { return h.weights[i][a] > h.weights[i][b]; });
            std::string line;
            double rest = 1.0;
            for (size_t n = 0; n < std::min(keys.size(), static_cast<size_t>(top)); ++n) {
                line += fmt::format("{}{} {}", n ? ", " : "", label[keys[n]], percent(h.weights[i][keys[n]]));
                rest -= h.weights[i][keys[n]];
            }
            if (keys.size() > static_cast<size_t>(top))
                line += fmt::format(", {} more {}", keys.size() - top, percent(std::max(rest, 0.0)));
            fmt::print("  {:>3} {:<{}} -> {}\n", i, label[i], width, line);
        }
    }
    return 0;
}

// ---- embeddings -------------------------------------------------------------------------------------------

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    size_t start = 0;
    while (true) {
        const size_t comma = text.find(',', start);
        out.push_back(text.substr(start, comma - start));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
}

int inspect_embeddings(const Args& args) {
    po::options_description options("bayun inspect embeddings options");
    add_common(options);
    options.add_options()
        ("token", po::value<std::string>(), "a word (one token) whose nearest tokens to list")
        ("top-k", po::value<int>()->default_value(10), "how many nearest tokens")
        ("map", po::value<std::string>(), "draw tokens on the 2-D PCA projection of the embeddings into this SVG")
        ("tokens", po::value<std::string>(), "the tokens for --map, comma-separated: a,b,c (default: all, up to 256)");
    po::variables_map vm;
    if (!parse("inspect embeddings", args, options, vm)) return 0;
    if (!vm.count("token") && !vm.count("map") && !vm.count("tokens"))
        fail("inspect", "embeddings needs --token WORD (nearest tokens) or --map FILE.svg [--tokens a,b,c] (a 2-D map)");
    set_num_threads(vm["threads"].as<int>());
    const bool json = vm.count("json") > 0;

    Checkpoint ck = load_checkpoint(vm["checkpoint"].as<std::string>());
    const Tokenizer& tokenizer = *ck.tokenizer;
    nlohmann::json out = nlohmann::json::object();
    out["tokenizer"] = tokenizer.kind();
    if (!json) fmt::print("{}\n", tokenizer_note(tokenizer));

    if (vm.count("token")) {
        const NearestTokens n = nearest_tokens(*ck.model, tokenizer, vm["token"].as<std::string>(), vm["top-k"].as<int>());
        out["nearest"] = to_json(n);
        if (!json) {
            fmt::print("\ntokens nearest to {} (id {}) by cosine similarity of their embeddings (rows of wte, C = {}):\n",
                       quoted(n.query), n.query.id, ck.model->config().n_embd);
            fmt::print("  {:>4}  {:>5}  {:<12} {:>10}\n", "rank", "id", "token", "cosine");
            for (size_t i = 0; i < n.neighbours.size(); ++i)
                fmt::print("  {:>4}  {:>5}  {:<12} {:>10.4f}\n", i + 1, n.neighbours[i].token.id,
                           quoted(n.neighbours[i].token), n.neighbours[i].similarity);
        }
    }
    if (vm.count("map") || vm.count("tokens")) {
        const std::vector<std::string> words = vm.count("tokens") ? split_commas(vm["tokens"].as<std::string>())
                                                                  : std::vector<std::string>{};
        const Projection p = project_tokens(*ck.model, tokenizer, words);
        out["map"] = to_json(p);
        if (!json) {
            fmt::print("\nthe embedding matrix wte ({} x {}) centered and projected on its first two principal components "
                       "(they hold {:.1f}% and {:.1f}% of the variance):\n", ck.model->config().vocab_size,
                       ck.model->config().n_embd, 100 * p.explained[0], 100 * p.explained[1]);
            fmt::print("  {:>5}  {:<12} {:>10} {:>10}\n", "id", "token", "pc1", "pc2");
            for (size_t i = 0; i < p.tokens.size(); ++i)
                fmt::print("  {:>5}  {:<12} {:>10.4f} {:>10.4f}\n", p.tokens[i].id, quoted(p.tokens[i]), p.coords[i][0],
                           p.coords[i][1]);
        }
        if (vm.count("map")) {
            const std::string path = vm["map"].as<std::string>();
            svg::write_svg(path, projection_svg(p, fmt::format("token embeddings on two principal components ({})", ck.dir)));
            wrote(json, "embedding map", path);
        }
    }
    if (json) fmt::print("{}\n", out.dump());
    return 0;
}

// ---- next -------------------------------------------------------------------------------------------------

int inspect_next(const Args& args) {
    po::options_description options("bayun inspect next options");
    add_common(options);
    options.add_options()
        ("prompt", po::value<std::string>(), "the text so far (required)")
        ("top-k", po::value<int>()->default_value(10), "how many candidates to list");
    po::variables_map vm;
    if (!parse("inspect next", args, options, vm)) return 0;
    if (!vm.count("prompt")) fail("inspect", "next needs --prompt TEXT (the text whose next token to predict)");
    set_num_threads(vm["threads"].as<int>());

    Checkpoint ck = load_checkpoint(vm["checkpoint"].as<std::string>());
    const NextTokens n = next_tokens(*ck.model, *ck.tokenizer, vm["prompt"].as<std::string>(), vm["top-k"].as<int>());
    if (vm.count("json")) {
        fmt::print("{}\n", to_json(n).dump());
        return 0;
    }
    fmt::print("after '{}' ({} tokens), the last position's hidden state ({} values after ln_f, norm {:.3f}) {}\n",
               prompt_text(n.prompt), n.prompt.size(), n.hidden.size(),
               std::sqrt(std::inner_product(n.hidden.begin(), n.hidden.end(), n.hidden.begin(), 0.0)),
               first_values(n.hidden, 4));
    fmt::print("goes through lm_head to {} logits; softmax turns them into probabilities for the next token:\n\n",
               n.probabilities.size());
    fmt::print("  {:>4}  {:>5}  {:<12} {:>8} {:>9}\n", "rank", "id", "token", "prob", "logit");
    double shown = 0;
    for (size_t i = 0; i < n.top.size(); ++i) {
        const NextToken& t = n.top[i];
        shown += t.probability;
        const std::string bar(static_cast<size_t>(std::lround(t.probability * 40)), '#');
        fmt::print("  {:>4}  {:>5}  {:<12} {:>8} {:>9.3f}  {}\n", i + 1, t.token.id, quoted(t.token), percent(t.probability),
                   t.logit, bar);
    }
    fmt::print("  (these {} hold {} of the probability)\n", n.top.size(), percent(shown));
    fmt::print("\nentropy: {:.4f} nats = {:.4f} bits: as uncertain as a fair choice among {:.2f} tokens (e^entropy)\n",
               n.entropy, n.entropy / std::log(2.0), std::exp(n.entropy));
    return 0;
}

// ---- trace ------------------------------------------------------------------------------------------------

int inspect_trace(const Args& args) {
    po::options_description options("bayun inspect trace options");
    add_common(options);
    options.add_options()
        ("prompt", po::value<std::string>(), "the text; its last token is traced (required)")
        ("layer", po::value<int>()->default_value(0), "which block (0 .. L-1)")
        ("values", po::value<int>()->default_value(6), "how many leading values to show per step");
    po::variables_map vm;
    if (!parse("inspect trace", args, options, vm)) return 0;
    if (!vm.count("prompt")) fail("inspect", "trace needs --prompt TEXT (its last token is followed through the layer)");
    const int n_values = vm["values"].as<int>();
    if (n_values < 1) fail("inspect", "--values must be at least 1, found {}", n_values);
    set_num_threads(vm["threads"].as<int>());

    Checkpoint ck = load_checkpoint(vm["checkpoint"].as<std::string>());
    const Trace tr = trace(*ck.model, *ck.tokenizer, vm["prompt"].as<std::string>(), vm["layer"].as<int>());
    if (vm.count("json")) {
        fmt::print("{}\n", to_json(tr).dump());
        return 0;
    }
    const nn::GPTConfig& m = ck.model->config();
    fmt::print("the path of the last token {} (position {} of '{}') through layer {} of {} ({}-norm; C = {}, H = {}, "
               "D = {}, T = {})\n", quoted(tr.token), tr.position, prompt_text(tr.tokens), tr.layer, m.n_layer, tr.norm,
               m.n_embd, m.n_head, m.head_size(), tr.tokens.size());
    int number = 0;
    for (const TraceStep& s : tr.steps) {
        const std::string name = s.head >= 0 ? fmt::format("{} [head {}]", s.name, s.head) : s.name;
        fmt::print("\n{:>2}. {:<24} {} of the whole {}; norm {:.4f}\n", ++number, name, shape_str(s.shape),
                   shape_str(s.tensor_shape), s.norm);
        fmt::print("    {}\n", s.what);
        if (s.name == "scores" || s.name == "attn_weights") {  // one value per key: label it with its token
            std::string line;
            for (size_t j = 0; j < s.values.size(); ++j)
                line += fmt::format("{}{} {}", j ? ", " : "", quoted(tr.tokens[j]),
                                    s.name == "scores" ? fmt::format("{:.3f}", s.values[j]) : percent(s.values[j]));
            fmt::print("    {}\n", line);
        } else {
            fmt::print("    {}\n", first_values(s.values, static_cast<size_t>(n_values)));
        }
        fmt::print("    code: {}\n", s.code);
    }
    return 0;
}

// ---- log --------------------------------------------------------------------------------------------------

int inspect_log(const Args& args) {
    po::options_description options("bayun inspect log options");
    options.add_options()
        ("help", "show these options")
        ("checkpoint", po::value<std::string>(), "the run directory (or its log.jsonl); also the first argument")
        ("svg", po::value<std::string>(), "where to draw the loss curve (default: loss.svg next to the log)")
        ("json", "print the loss points as JSON instead of tables");
    po::positional_options_description positional;
    positional.add("checkpoint", 1);
    po::variables_map vm;
    if (!parse("inspect log", args, options, vm, &positional)) return 0;
    if (!vm.count("checkpoint")) fail("inspect", "log needs a run directory: bayun inspect log runs/tale");
    const bool json = vm.count("json") > 0;

    const LossLog log = read_loss_log(vm["checkpoint"].as<std::string>());
    const std::string path = vm.count("svg") ? vm["svg"].as<std::string>()
                                             : (fs::path(log.path).parent_path() / "loss.svg").string();
    svg::write_svg(path, loss_curve_svg(log));
    if (json) {
        wrote(json, "loss curve", path);
        fmt::print("{}\n", to_json(log).dump());
        return 0;
    }
    fmt::print("log: {}: {} steps", log.path, log.steps.size());
    if (!log.steps.empty())
        fmt::print("; loss {:.4f} at step {} -> {:.4f} at step {}", log.steps.front().second, log.steps.front().first,
                   log.steps.back().second, log.steps.back().first);
    fmt::print("\n\n  {:>8} {:>12} {:>12}\n", "step", "train loss", "val loss");
    for (size_t i = 0; i < std::max(log.train.size(), log.val.size()); ++i) {
        const auto cell = [&](const auto& points) { return i < points.size() ? fmt::format("{:.4f}", points[i].second) : ""; };
        const int64_t step = i < log.train.size() ? log.train[i].first : log.val[i].first;
        fmt::print("  {:>8} {:>12} {:>12}\n", step, cell(log.train), cell(log.val));
    }
    fmt::print("\n");
    wrote(json, "loss curve", path);
    return 0;
}

void print_inspect_usage() {
    fmt::print("usage: bayun inspect <what> --checkpoint DIR [options]     (bayun inspect <what> --help)\n\n"
               "  attention --prompt TEXT [--svg FILE]   each head's attention weights over the prompt\n"
               "  embeddings --token WORD                the nearest tokens by cosine similarity\n"
               "  embeddings --map FILE.svg [--tokens a,b,c]  tokens on a 2-D PCA map of the embeddings\n"
               "  next --prompt TEXT [--top-k N]         the next-token distribution and its entropy\n"
               "  trace --prompt TEXT --layer L          the last token's path through one block\n"
               "  log DIR [--svg FILE]                   the training log as a loss curve\n\n"
               "every subcommand takes --json for machine-readable output\n");
}

}  // namespace

int run_inspect(const Args& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_inspect_usage();
        return args.empty() ? 1 : 0;
    }
    const Args rest(args.begin() + 1, args.end());
    const std::string& what = args[0];
    if (what == "attention") return inspect_attention(rest);
    if (what == "embeddings") return inspect_embeddings(rest);
    if (what == "next") return inspect_next(rest);
    if (what == "trace") return inspect_trace(rest);
    if (what == "log") return inspect_log(rest);
    fail("inspect", "unknown subcommand '{}': expected attention, embeddings, next, trace or log (see 'bayun inspect "
         "--help')", what);
}

}  // namespace bayun::cli
