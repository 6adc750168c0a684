// `bayun generate`: tell a tale from a checkpoint. Streams text as it is produced (never a broken UTF-8
// character), with the KV cache by default; --no-cache recomputes the context at every step, --explain
// shows the sampler's candidates, -i keeps the story (and the cache) going across prompts.
#include "autograd/error.h"
#include "autograd/kernels.h"
#include "cli/commands.h"
#include "infer/generator.h"
#include "train/checkpoint.h"

#include <fmt/format.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

namespace bayun::cli {

namespace {

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) fail("generate", "cannot read the prompt file '{}' (check the path)", path);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

std::string visible(const std::string& token) {
    std::string out;
    for (char ch : token) {
        if (ch == '\n') out += "\\n";
        else if (ch == '\t') out += "\\t";
        else out += ch;
    }
    return out;
}

void print_explanation(const Tokenizer& tokenizer, const Explanation& e) {
    std::string line = fmt::format("  -> {:<8}", fmt::format("'{}'", visible(tokenizer.token_bytes(e.chosen))));
    for (size_t i = 0; i < e.ids.size(); ++i)
        line += fmt::format("  '{}' {:.1f}%->{:.1f}%", visible(tokenizer.token_bytes(e.ids[i])), 100.0 * e.before[i],
                            100.0 * e.after[i]);
    fmt::print(stderr, "{}\n", line);
}

void print_stats(const GenerateStats& s, const Session& session) {
    fmt::print(stderr, "\n[{} prompt tokens, prefill {:.0f} tokens/s; {} new tokens, decode {:.0f} tokens/s; {}; "
               "cache {:.1f} KiB]\n", s.prompt_tokens, s.prompt_tokens / std::max(s.prefill_seconds, 1e-9),
               s.new_tokens, s.new_tokens / std::max(s.decode_seconds, 1e-9),
               session.uses_cache() ? "KV cache" : "no cache", session.cache_bytes() / 1024.0);
}

}  // namespace

int run_generate(const Args& args) {
    po::options_description options("bayun generate options");
    options.add_options()
        ("help", "show these options")
        ("checkpoint", po::value<std::string>()->default_value("runs/tale"), "a checkpoint or run directory")
        ("prompt", po::value<std::string>(), "how the tale starts")
        ("prompt-file", po::value<std::string>(), "read the prompt from a file")
        ("max-new-tokens", po::value<int64_t>()->default_value(300), "tokens to generate (may exceed the context)")
        ("greedy", "always take the most likely token")
        ("temperature", po::value<float>()->default_value(0.8f), "< 1 sharper, > 1 more surprising")
        ("top-k", po::value<int>()->default_value(0), "keep the k most likely tokens (0: off)")
        ("top-p", po::value<float>()->default_value(1.0f), "nucleus sampling: keep the top tokens up to p (1: off)")
        ("min-p", po::value<float>()->default_value(0.0f), "drop tokens below min-p x the top one (0: off)")
        ("repetition-penalty", po::value<float>()->default_value(1.0f), "> 1 discourages repeats (1: off)")
        ("seed", po::value<uint64_t>()->default_value(1337), "random seed for sampling")
        ("stop", po::value<std::vector<std::string>>()->composing(), "stop when this text appears (repeatable)")
        ("num-samples", po::value<int>()->default_value(1), "how many tales from the same prompt")
        ("no-cache", "recompute the whole context at every step (slow; for teaching and tests)")
        ("explain", "print each step's top candidates before and after the filters (on stderr)")
        ("threads", po::value<int>()->default_value(0), "threads (0: one per physical core)")
        ("interactive,i", "a prompt loop: each line continues the same story");
    po::variables_map vm;
    if (!parse("generate", args, options, vm)) return 0;
    set_num_threads(vm["threads"].as<int>());

    GenerateOptions g;
    g.max_new_tokens = vm["max-new-tokens"].as<int64_t>();
    if (g.max_new_tokens < 0) fail("generate", "--max-new-tokens must be >= 0, found {}", g.max_new_tokens);
    g.sampler.greedy = vm.count("greedy") > 0;
    g.sampler.temperature = vm["temperature"].as<float>();
    g.sampler.top_k = vm["top-k"].as<int>();
    g.sampler.top_p = vm["top-p"].as<float>();
    g.sampler.min_p = vm["min-p"].as<float>();
    g.sampler.repetition_penalty = vm["repetition-penalty"].as<float>();
    if (vm.count("stop")) g.stop = vm["stop"].as<std::vector<std::string>>();
    validate(g.sampler);
    const int samples = vm["num-samples"].as<int>();
    if (samples < 1) fail("generate", "--num-samples must be >= 1, found {}", samples);
    if (vm.count("prompt") && vm.count("prompt-file"))
        fail("generate", "give --prompt or --prompt-file, not both");
    std::string prompt_text = vm.count("prompt") ? vm["prompt"].as<std::string>()
                             : vm.count("prompt-file") ? read_file(vm["prompt-file"].as<std::string>()) : "";
    const bool interactive = vm.count("interactive") > 0;
    if (prompt_text.empty() && !interactive) prompt_text = "\n";

    Checkpoint ck = load_checkpoint(vm["checkpoint"].as<std::string>());
    const Tokenizer& tokenizer = *ck.tokenizer;
    const bool use_cache = vm.count("no-cache") == 0;
    std::function<void(const Explanation&)> explain;
    if (vm.count("explain")) explain = [&](const Explanation& e) { print_explanation(tokenizer, e); };
    const auto print_text = [](std::string_view piece) {
        fmt::print("{}", piece);
        std::fflush(stdout);
    };
    Rng rng(vm["seed"].as<uint64_t>());

    if (interactive) {
        Session session(*ck.model, use_cache);
        fmt::print(stderr, "bayun: interactive; each line continues the story (Ctrl-D to end)\n");
        if (!prompt_text.empty()) {
            fmt::print("{}", prompt_text);
            print_stats(generate(session, tokenizer, tokenizer.encode(prompt_text), g, rng, print_text, explain),
                        session);
        }
        std::string line;
        while (fmt::print(stderr, "> "), std::getline(std::cin, line)) {
            const std::string text = line + "\n";
            print_stats(generate(session, tokenizer, tokenizer.encode(text), g, rng, print_text, explain), session);
        }
        return 0;
    }

    const std::vector<int32_t> prompt = tokenizer.encode(prompt_text);  // names unknown characters
    for (int n = 0; n < samples; ++n) {
        if (samples > 1) fmt::print("{}--- sample {} ---\n", n ? "\n" : "", n + 1);
        Session session(*ck.model, use_cache);
        fmt::print("{}", prompt_text);
        const GenerateStats stats = generate(session, tokenizer, prompt, g, rng, print_text, explain);
        fmt::print("\n");
        print_stats(stats, session);
    }
    return 0;
}

}  // namespace bayun::cli
