// `bayun train`: train a GPT on the folk tales (or any UTF-8 text). Settings come from a preset, then a
// config file (--config run.ini, same keys as the flags without dashes), then the flags themselves.
#include "autograd/error.h"
#include "cli/commands.h"
#include "train/trainer.h"

#include <fmt/format.h>

#include <csignal>
#include <fstream>

namespace bayun::cli {

namespace {

void on_signal(int) { stop_requested() = true; }

// Each flag's value overrides the preset only when the user gave it.
template <typename T, typename Field>
void take(const po::variables_map& vm, const char* flag, Field& field) {
    if (vm.count(flag)) field = static_cast<Field>(vm[flag].as<T>());
}

}  // namespace

int run_train(const Args& args) {
    const TrainConfig d = preset_config("small");  // the defaults shown by --help
    po::options_description general("general");
    general.add_options()
        ("help", "show these options")
        ("config", po::value<std::string>(), "read settings from an INI file (keys as the flags, e.g. iters = 500)")
        ("preset", po::value<std::string>(), "micro | small | shakespeare-char (default: small); flags override it")
        ("seed", po::value<uint64_t>(), fmt::format("random seed (default: {})", d.seed).c_str())
        ("threads", po::value<int>(), "threads for the kernels (default: 0 = one per physical core)")
        ("resume", po::value<std::string>(), "continue the run in this directory exactly where it stopped");
    po::options_description model("model");
    model.add_options()
        ("layers", po::value<int64_t>(), fmt::format("transformer blocks L (default: {})", d.model.n_layer).c_str())
        ("heads", po::value<int64_t>(), fmt::format("attention heads H (default: {})", d.model.n_head).c_str())
        ("embd", po::value<int64_t>(), fmt::format("embedding size C (default: {})", d.model.n_embd).c_str())
        ("context", po::value<int64_t>(), fmt::format("context length T (default: {})", d.model.block_size).c_str())
        ("dropout", po::value<float>(), "dropout probability (default: 0)")
        ("activation", po::value<std::string>(), "gelu | relu (default: gelu)")
        ("norm", po::value<std::string>(), "pre | post: layer norm before each sublayer or after the residual add "
                                           "(default: pre)")
        ("untied", "give lm_head its own weight instead of sharing wte's")
        ("no-bias", "no biases in Linear and LayerNorm layers");
    po::options_description data("data");
    data.add_options()
        ("corpus", po::value<std::vector<std::string>>()->multitoken(),
         "text files or directories of .txt files (default: the folk-tale corpus)")
        ("tokenizer", po::value<std::string>(), "char | bpe (default: char)")
        ("vocab-size", po::value<int>(), fmt::format("BPE vocabulary size (default: {})", d.vocab_size).c_str())
        ("val-fraction", po::value<double>(), "the last part of each file kept for validation (default: 0.1)");
    po::options_description optimisation("optimisation");
    optimisation.add_options()
        ("optimizer", po::value<std::string>(), "adamw | sgd (default: adamw)")
        ("batch", po::value<int64_t>(), fmt::format("sequences per micro-batch B (default: {})", d.batch).c_str())
        ("accumulation", po::value<int64_t>(), "micro-batches per step (default: 1)")
        ("iters", po::value<int64_t>(), fmt::format("optimisation steps (default: {})", d.iters).c_str())
        ("lr", po::value<float>(), fmt::format("peak learning rate (default: {})", d.lr).c_str())
        ("min-lr", po::value<float>(), fmt::format("learning-rate floor (default: {})", d.min_lr).c_str())
        ("warmup", po::value<int64_t>(), fmt::format("warm-up steps (default: {})", d.warmup).c_str())
        ("schedule", po::value<std::string>(), "cosine | constant (default: cosine)")
        ("weight-decay", po::value<float>(), "AdamW weight decay on matrices (default: 0.1)")
        ("beta1", po::value<float>(), "AdamW beta1 (default: 0.9)")
        ("beta2", po::value<float>(), "AdamW beta2 (default: 0.99)")
        ("momentum", po::value<float>(), "SGD momentum (default: 0.9)")
        ("clip", po::value<float>(), "max global gradient norm, 0 = off (default: 1)");
    po::options_description evaluation("evaluation and checkpoints");
    evaluation.add_options()
        ("eval-interval", po::value<int64_t>(), fmt::format("steps between evaluations and saves (default: {})",
                                                            d.eval_interval).c_str())
        ("eval-iters", po::value<int64_t>(), fmt::format("batches per evaluation (default: {})", d.eval_iters).c_str())
        ("log-interval", po::value<int64_t>(), "steps between progress lines when not on a terminal (default: iters/20)")
        ("out", po::value<std::string>(), fmt::format("run directory: last/, best/, log.jsonl (default: {})",
                                                      d.out_dir).c_str())
        ("sample-tokens", po::value<int64_t>(), "length of the tale told at the end, 0 = none (default: 300)")
        ("sample-prompt", po::value<std::string>(), "how that tale starts");
    po::options_description all("bayun train options");
    all.add(general).add(model).add(data).add(optimisation).add(evaluation);

    po::variables_map vm;
    if (!parse("train", args, all, vm)) return 0;
    if (vm.count("config")) {
        const std::string path = vm["config"].as<std::string>();
        std::ifstream in(path);
        if (!in) fail("train", "cannot read the config file '{}' (check the path)", path);
        try {
            po::store(po::parse_config_file(in, all), vm);  // flags given on the command line win
            po::notify(vm);
        } catch (const po::error& e) {
            fail("train", "config file '{}': {} (keys are the flag names without dashes)", path, e.what());
        }
    }

    TrainConfig c = preset_config(vm.count("preset") ? vm["preset"].as<std::string>() : "small");
    const bool resuming = vm.count("resume") > 0;
    if (resuming) c.iters = 0;  // keep the run's own total unless --iters is given
    take<uint64_t>(vm, "seed", c.seed);
    take<int>(vm, "threads", c.threads);
    take<int64_t>(vm, "layers", c.model.n_layer);
    take<int64_t>(vm, "heads", c.model.n_head);
    take<int64_t>(vm, "embd", c.model.n_embd);
    take<int64_t>(vm, "context", c.model.block_size);
    take<float>(vm, "dropout", c.model.dropout);
    if (vm.count("activation")) c.model.activation = nn::parse_activation(vm["activation"].as<std::string>());
    if (vm.count("norm")) c.model.norm = nn::parse_norm(vm["norm"].as<std::string>());
    if (vm.count("untied")) c.model.tie_weights = false;
    if (vm.count("no-bias")) c.model.bias = false;
    take<std::vector<std::string>>(vm, "corpus", c.corpus);
    take<std::string>(vm, "tokenizer", c.tokenizer);
    take<int>(vm, "vocab-size", c.vocab_size);
    take<double>(vm, "val-fraction", c.val_fraction);
    take<std::string>(vm, "optimizer", c.optimizer);
    take<int64_t>(vm, "batch", c.batch);
    take<int64_t>(vm, "accumulation", c.accumulation);
    take<int64_t>(vm, "iters", c.iters);
    take<float>(vm, "lr", c.lr);
    take<float>(vm, "min-lr", c.min_lr);
    take<int64_t>(vm, "warmup", c.warmup);
    take<std::string>(vm, "schedule", c.schedule);
    take<float>(vm, "weight-decay", c.weight_decay);
    take<float>(vm, "beta1", c.beta1);
    take<float>(vm, "beta2", c.beta2);
    take<float>(vm, "momentum", c.momentum);
    take<float>(vm, "clip", c.grad_clip);
    take<int64_t>(vm, "eval-interval", c.eval_interval);
    take<int64_t>(vm, "eval-iters", c.eval_iters);
    take<int64_t>(vm, "log-interval", c.log_interval);
    take<std::string>(vm, "out", c.out_dir);
    take<int64_t>(vm, "sample-tokens", c.sample_tokens);
    take<std::string>(vm, "sample-prompt", c.sample_prompt);
    if (vm.count("lr") && !vm.count("min-lr")) c.min_lr = c.lr / 10.0f;  // the floor follows a new peak

    std::signal(SIGINT, on_signal);
    std::signal(SIGTERM, on_signal);
    train(c, resuming ? vm["resume"].as<std::string>() : "");
    return 0;
}

}  // namespace bayun::cli
