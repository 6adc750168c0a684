// `bayun bench train|generate|matmul`: speed measurements, one JSON line per measurement (configuration,
// threads, median and spread of the time, tokens/s, GFLOP/s, the fraction of the measured matmul ceiling,
// peak memory). Warm-up runs are excluded. Benchmarks measure speed; the tests check behaviour.
#include "autograd/error.h"
#include "autograd/kernels.h"
#include "autograd/rng.h"
#include "cli/commands.h"
#include "infer/generator.h"
#include "nn/gpt.h"
#include "train/adamw.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <sys/resource.h>

namespace bayun::cli {

namespace {

using Clock = std::chrono::steady_clock;

double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_maxrss / 1024.0;  // Linux reports KiB
}

struct Timing {
    double median_ms, min_ms, max_ms;
};

// Runs `body` warmup + repeats times and summarises the timed repeats.
template <typename Body>
Timing time_it(int warmup, int repeats, Body body) {
    for (int i = 0; i < warmup; ++i) body();
    std::vector<double> ms;
    for (int i = 0; i < repeats; ++i) {
        const auto start = Clock::now();
        body();
        ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return {ms[ms.size() / 2], ms.front(), ms.back()};
}

// The shapes of issue #8 and the presets.
struct Shape {
    const char* name;
    nn::GPTConfig config;
    int64_t batch;
};

std::vector<Shape> shapes() {
    const auto make = [](int64_t L, int64_t H, int64_t C, int64_t T, int64_t V) {
        nn::GPTConfig c;
        c.n_layer = L;
        c.n_head = H;
        c.n_embd = C;
        c.block_size = T;
        c.vocab_size = V;
        return c;
    };
    return {{"S", make(4, 4, 128, 64, 65), 16},
            {"small", make(4, 4, 128, 128, 161), 16},
            {"M", make(6, 6, 384, 256, 65), 8}};
}

double matmul_gflops(int64_t n, int threads, int repeats, nlohmann::json* record) {
    Rng rng(1);
    std::vector<float> a(n * n), b(n * n), c(n * n);
    for (float& v : a) v = rng.uniform();
    for (float& v : b) v = rng.uniform();
    const Timing t = time_it(1, repeats, [&] { gemm(n, n, n, a.data(), false, b.data(), false, c.data(), false); });
    const double gflops = 2.0 * n * n * n / (t.median_ms * 1e6);
    if (record)
        *record = {{"bench", "matmul"}, {"n", n}, {"threads", threads}, {"reference", reference_kernels()}, {"gemm", gemm_backend()},
                   {"median_ms", t.median_ms}, {"min_ms", t.min_ms}, {"max_ms", t.max_ms}, {"gflops", gflops}};
    return gflops;
}

// FLOPs of one training step (forward + backward = 3x forward): 6 per parameter per token for the
// matrix multiplies, plus attention's Q K^T and P V: 2 x 2 x T^2 x C per sequence per layer, forward.
double train_flops(const nn::GPTConfig& c, int64_t B) {
    const double T = c.block_size, C = c.n_embd, L = c.n_layer, V = c.vocab_size;
    const double matrix_params = L * 12.0 * C * C + V * C;  // blocks + lm_head
    return B * T * 6.0 * matrix_params + 3.0 * B * L * 4.0 * T * T * C;
}

}  // namespace

int run_bench(const Args& args) {
    po::options_description options("bayun bench options");
    options.add_options()
        ("help", "show these options")
        ("what", po::value<std::string>()->default_value("all"), "train | generate | matmul | all")
        ("shape", po::value<std::vector<std::string>>()->composing(), "S | small | M (default: S and M)")
        ("threads", po::value<int>()->default_value(0), "threads (0: one per physical core)")
        ("steps", po::value<int>()->default_value(10), "timed training steps per shape")
        ("tokens", po::value<std::vector<int64_t>>()->multitoken(), "new tokens per decode run (default: 64 256 1024)")
        ("cache", po::value<std::string>()->default_value("both"), "decode with the KV cache: on | off | both")
        ("reference", "use the plain reference kernels");
    po::positional_options_description positional;
    positional.add("what", 1);
    po::variables_map vm;
    if (!parse("bench", args, options, vm, &positional)) return 0;
    const std::string what = vm["what"].as<std::string>();
    if (what != "train" && what != "generate" && what != "matmul" && what != "all")
        fail("bench", "unknown benchmark '{}' (choose train, generate, matmul or all)", what);
    set_num_threads(vm["threads"].as<int>());
    set_reference_kernels(vm.count("reference") > 0);
    const int threads = num_threads();
    const std::string cache_mode = vm["cache"].as<std::string>();
    if (cache_mode != "on" && cache_mode != "off" && cache_mode != "both")
        fail("bench", "--cache expects on, off or both, found '{}'", cache_mode);
    std::vector<std::string> wanted = vm.count("shape") ? vm["shape"].as<std::vector<std::string>>()
                                                        : std::vector<std::string>{"S", "M"};
    const auto selected = [&] {
        std::vector<Shape> out;
        for (const std::string& name : wanted) {
            bool found = false;
            for (const Shape& s : shapes())
                if (name == s.name) out.push_back(s), found = true;
            if (!found) fail("bench", "unknown shape '{}' (choose S, small or M)", name);
        }
        return out;
    }();

    // The ceiling every MFU figure is measured against: our own 1024^3 matmul in this run.
    nlohmann::json record;
    const double ceiling = matmul_gflops(1024, threads, 5, &record);
    if (what == "matmul" || what == "all") {
        fmt::print("{}\n", record.dump());
        for (int64_t n : {256, 512}) {
            matmul_gflops(n, threads, 9, &record);
            fmt::print("{}\n", record.dump());
        }
    }

    if (what == "train" || what == "all") {
        for (const Shape& s : selected) {
            nn::GPT model(s.config, 1);
            model.train();
            AdamW optimizer(model.named_parameters());
            const int64_t B = s.batch, T = s.config.block_size;
            Rng rng(2);
            std::vector<int32_t> tokens(B * T), targets(B * T);
            for (auto& t : tokens) t = static_cast<int32_t>(rng.below(s.config.vocab_size));
            for (auto& t : targets) t = static_cast<int32_t>(rng.below(s.config.vocab_size));
            const Timing t = time_it(2, vm["steps"].as<int>(), [&] {
                optimizer.zero_grad();
                model.forward(tokens, B, T, targets).loss.backward();
                optimizer.step(1e-4f);
            });
            const double gflops = train_flops(s.config, B) / (t.median_ms * 1e6);
            fmt::print("{}\n", nlohmann::json{{"bench", "train"}, {"shape", s.name}, {"layers", s.config.n_layer},
                                              {"heads", s.config.n_head}, {"embd", s.config.n_embd}, {"context", T},
                                              {"batch", B}, {"vocab", s.config.vocab_size},
                                              {"parameters", model.parameter_count()}, {"threads", threads},
                                              {"median_ms", t.median_ms}, {"min_ms", t.min_ms}, {"max_ms", t.max_ms},
                                              {"tokens_per_second", B * T / (t.median_ms / 1000.0)},
                                              {"gflops", gflops}, {"mfu", gflops / ceiling},
                                              {"matmul_ceiling_gflops", ceiling}, {"gemm", gemm_backend()}, {"peak_rss_mib", peak_rss_mib()}}
                                   .dump());
        }
    }

    if (what == "generate" || what == "all") {
        const std::vector<int64_t> lengths = vm.count("tokens") ? vm["tokens"].as<std::vector<int64_t>>()
                                                                : std::vector<int64_t>{64, 256, 1024};
        for (const Shape& s : selected) {
            nn::GPTConfig c = s.config;
            c.block_size = std::max<int64_t>(c.block_size, 256);  // decode needs room; issue #8 decodes S at 256
            nn::GPT model(c, 1);
            for (int64_t n : lengths) {
                for (bool cache : {true, false}) {
                    if (cache_mode != "both" && cache != (cache_mode == "on")) continue;
                    // Cached decodes are short and the host is noisy: one untimed warm-up run, then the median
                    // of five. Uncached decodes take long enough (seconds) to time once.
                    const int warmup = cache ? 1 : 0, repeats = cache ? 5 : 1;
                    std::vector<double> seconds;
                    int64_t cache_bytes = 0;
                    for (int run = 0; run < warmup + repeats; ++run) {
                        Session session(model, cache);
                        const int32_t first = 1;
                        session.append(std::span<const int32_t>(&first, 1));
                        const auto start = Clock::now();
                        for (int64_t i = 0; i < n; ++i) {
                            const int32_t next = argmax(session.logits());
                            session.append(std::span<const int32_t>(&next, 1));
                        }
                        if (run >= warmup) seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
                        cache_bytes = session.cache_bytes();
                    }
                    std::sort(seconds.begin(), seconds.end());
                    const double median = seconds[seconds.size() / 2];
                    fmt::print("{}\n", nlohmann::json{{"bench", "generate"}, {"shape", s.name}, {"context", c.block_size},
                                                      {"new_tokens", n}, {"kv_cache", cache}, {"threads", threads},
                                                      {"runs", repeats}, {"seconds", median},
                                                      {"min_seconds", seconds.front()}, {"max_seconds", seconds.back()},
                                                      {"tokens_per_second", n / median}, {"cache_bytes", cache_bytes},
                                                      {"peak_rss_mib", peak_rss_mib()}}
                                           .dump());
                }
            }
        }
    }
    return 0;
}

}  // namespace bayun::cli
