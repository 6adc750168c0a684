// The training loop and everything around it: data preparation, the start-up summary, progress,
// evaluation, the log, checkpoints, Ctrl-C, resume, and the tale told at the end.
#include "train/trainer.h"

#include "autograd/kernels.h"
#include "autograd/ops.h"
#include "data/batches.h"
#include "data/corpus.h"
#include "infer/generator.h"
#include "infer/inspect.h"
#include "train/checkpoint.h"
#include "train/schedule.h"

#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <unistd.h>

namespace bayun {

namespace fs = std::filesystem;

std::atomic<bool>& stop_requested() {
    static std::atomic<bool> flag{false};
    return flag;
}

// ---- configuration ---------------------------------------------------------------------------------------

std::vector<std::string> preset_names() { return {"micro", "small", "shakespeare-char"}; }

TrainConfig preset_config(const std::string& name) {
    TrainConfig c;
    c.preset = name;
    if (name == "micro") {  // for stepping through in a debugger: finishes in seconds
        c.model.n_layer = 1;
        c.model.n_head = 2;
        c.model.n_embd = 16;
        c.model.block_size = 16;
        c.batch = 8;
        c.iters = 200;
        c.lr = 3e-3f;
        c.min_lr = 3e-4f;
        c.warmup = 20;
        c.eval_interval = 50;
        c.eval_iters = 5;
        c.sample_tokens = 100;
    } else if (name == "small") {  // the default: recognisable folk-tale English in about 5 minutes on 2 cores
        c.model.n_layer = 4;
        c.model.n_head = 4;
        c.model.n_embd = 128;
        c.model.block_size = 128;
        c.batch = 16;
        // Tuned on the folk-tale corpus (val loss after 2000 steps): lr 2e-3 gave 1.673, 3e-3 gave 1.628.
        // 2000 steps of 2048 tokens take about 4.5 minutes on 2 quiet cores.
        c.iters = 2000;
        c.lr = 3e-3f;
        c.min_lr = 3e-4f;
        c.warmup = 100;
        c.eval_interval = 250;
        c.eval_iters = 20;
    } else if (name == "shakespeare-char") {  // nanoGPT's reference configuration (a GPU-sized run)
        c.model.n_layer = 6;
        c.model.n_head = 6;
        c.model.n_embd = 384;
        c.model.block_size = 256;
        c.model.dropout = 0.2f;
        c.batch = 64;
        c.iters = 5000;
        c.lr = 1e-3f;
        c.min_lr = 1e-4f;
        c.warmup = 100;
        c.eval_interval = 250;
        c.eval_iters = 200;
    } else {
        fail("train", "unknown preset '{}' (choose one of: {})", name, fmt::join(preset_names(), ", "));
    }
    return c;
}

void TrainConfig::validate() const {
    if (tokenizer != "char" && tokenizer != "bpe")
        fail("train", "--tokenizer must be 'char' or 'bpe', found '{}'", tokenizer);
    if (tokenizer == "bpe" && (vocab_size < 257 || vocab_size > 65536))
        fail("train", "--vocab-size for BPE must be in [257, 65536] (256 bytes + merges), found {}", vocab_size);
    if (optimizer != "adamw" && optimizer != "sgd")
        fail("train", "--optimizer must be 'adamw' or 'sgd', found '{}'", optimizer);
    if (schedule != "cosine" && schedule != "constant")
        fail("train", "--schedule must be 'cosine' or 'constant', found '{}'", schedule);
    const auto positive = [](const char* flag, int64_t v) {
        if (v <= 0) fail("train", "{} must be positive, found {}", flag, v);
    };
    positive("--batch", batch);
    positive("--iters", iters);
    positive("--eval-interval", eval_interval);
    positive("--eval-iters", eval_iters);
    positive("--accumulation", accumulation);
    if (warmup < 0) fail("train", "--warmup must be >= 0, found {}", warmup);
    if (!(lr > 0.0f)) fail("train", "--lr must be positive, found {}", lr);
    if (!(min_lr >= 0.0f && min_lr <= lr)) fail("train", "--min-lr must be in [0, lr = {}], found {}", lr, min_lr);
    if (!(val_fraction > 0.0 && val_fraction < 1.0))
        fail("train", "--val-fraction must be in (0, 1), found {}", val_fraction);
    if (grad_clip < 0.0f) fail("train", "--clip must be >= 0 (0 turns clipping off), found {}", grad_clip);
    if (threads < 0) fail("train", "--threads must be >= 0 (0: one per core), found {}", threads);
    nn::GPTConfig m = model;
    m.vocab_size = std::max<int64_t>(m.vocab_size, 1);
    m.validate();
}

nlohmann::json TrainConfig::to_json() const {
    return {{"preset", preset},
            {"model", model.to_metadata()},
            {"corpus", corpus},
            {"tokenizer", tokenizer},
            {"vocab_size", vocab_size},
            {"val_fraction", val_fraction},
            {"optimizer", optimizer},
            {"batch", batch},
            {"accumulation", accumulation},
            {"iters", iters},
            {"lr", lr},
            {"min_lr", min_lr},
            {"warmup", warmup},
            {"schedule", schedule},
            {"weight_decay", weight_decay},
            {"beta1", beta1},
            {"beta2", beta2},
            {"momentum", momentum},
            {"grad_clip", grad_clip},
            {"eval_interval", eval_interval},
            {"eval_iters", eval_iters},
            {"log_interval", log_interval},
            {"out_dir", out_dir},
            {"sample_tokens", sample_tokens},
            {"sample_prompt", sample_prompt},
            {"seed", seed},
            {"threads", threads}};
}

TrainConfig TrainConfig::from_json(const nlohmann::json& j) {
    TrainConfig c;
    try {
        c.preset = j.at("preset");
        c.model = nn::GPTConfig::from_metadata(j.at("model").get<std::map<std::string, std::string>>(), "state.json");
        c.corpus = j.at("corpus").get<std::vector<std::string>>();
        c.tokenizer = j.at("tokenizer");
        c.vocab_size = j.at("vocab_size");
        c.val_fraction = j.at("val_fraction");
        c.optimizer = j.at("optimizer");
        c.batch = j.at("batch");
        c.accumulation = j.at("accumulation");
        c.iters = j.at("iters");
        c.lr = j.at("lr");
        c.min_lr = j.at("min_lr");
        c.warmup = j.at("warmup");
        c.schedule = j.at("schedule");
        c.weight_decay = j.at("weight_decay");
        c.beta1 = j.at("beta1");
        c.beta2 = j.at("beta2");
        c.momentum = j.at("momentum");
        c.grad_clip = j.at("grad_clip");
        c.eval_interval = j.at("eval_interval");
        c.eval_iters = j.at("eval_iters");
        c.log_interval = j.at("log_interval");
        c.out_dir = j.at("out_dir");
        c.sample_tokens = j.at("sample_tokens");
        c.sample_prompt = j.at("sample_prompt");
        c.seed = j.at("seed");
        c.threads = j.at("threads");
    } catch (const nlohmann::json::exception& e) {
        fail("checkpoint", "state.json: the run's settings are incomplete or malformed: {}", e.what());
    }
    return c;
}

// ---- helpers ---------------------------------------------------------------------------------------------

namespace {

using Clock = std::chrono::steady_clock;

std::string human_bytes(double bytes) {
    const char* units[] = {"B", "KiB", "MiB", "GiB"};
    int u = 0;
    while (bytes >= 1024.0 && u < 3) {
        bytes /= 1024.0;
        ++u;
    }
    return fmt::format("{:.1f} {}", bytes, units[u]);
}

std::string human_seconds(double s) {
    if (s < 60) return fmt::format("{:.0f}s", s);
    if (s < 3600) return fmt::format("{}m{:02}s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
    return fmt::format("{}h{:02}m", static_cast<int>(s) / 3600, (static_cast<int>(s) % 3600) / 60);
}

// Floats kept alive by the graph for one micro-batch, per position: a rough count of what each layer saves
// for backward (ln, qkv and its split and permuted copies, scores and weights, FFN expansion and activation).
double activation_bytes(const nn::GPTConfig& m, int64_t B) {
    const double T = static_cast<double>(m.block_size), C = static_cast<double>(m.n_embd);
    const double per_layer = 28.0 * C + 3.0 * static_cast<double>(m.n_head) * T;
    const double per_position = static_cast<double>(m.n_layer) * per_layer + 4.0 * C + 3.0 * static_cast<double>(m.vocab_size);
    return per_position * T * static_cast<double>(B) * 4.0;
}

struct Data {
    std::unique_ptr<Tokenizer> tokenizer;
    std::vector<int32_t> train_tokens, val_tokens;
    double val_units_per_token = 1.0;  // characters (char) or bytes (bpe) per token in the validation text
    size_t corpus_bytes = 0;
    size_t documents = 0;
};

Data prepare_data(const TrainConfig& config, std::unique_ptr<Tokenizer> existing) {
    Data d;
    const std::vector<std::string> paths = config.corpus.empty() ? std::vector<std::string>{default_corpus_dir()}
                                                                 : config.corpus;
    const Corpus corpus = load_corpus(paths);
    d.corpus_bytes = corpus.bytes();
    d.documents = corpus.documents.size();
    const std::vector<Split> splits = split_documents(corpus, config.val_fraction);
    std::vector<std::string> train_texts, val_texts, all_texts;
    for (const Split& s : splits) {
        train_texts.push_back(s.train);
        val_texts.push_back(s.val);
    }
    if (existing) {
        d.tokenizer = std::move(existing);
    } else if (config.tokenizer == "char") {
        // The character vocabulary comes from the whole corpus, so that validation never meets a character
        // the tokenizer cannot encode (a character seen only in validation still gets no training signal).
        for (const Document& doc : corpus.documents) all_texts.push_back(doc.text);
        d.tokenizer = Tokenizer::train("char", all_texts, 0);
    } else {
        d.tokenizer = Tokenizer::train("bpe", train_texts, config.vocab_size);
    }
    d.train_tokens = encode_documents(*d.tokenizer, train_texts);
    d.val_tokens = encode_documents(*d.tokenizer, val_texts);
    size_t val_units = 0;
    for (const std::string& t : val_texts) {
        if (d.tokenizer->kind() == "char") {
            for (unsigned char ch : t) val_units += (ch & 0xC0) != 0x80;  // code points
        } else {
            val_units += t.size();  // bytes
        }
    }
    if (!d.val_tokens.empty()) d.val_units_per_token = static_cast<double>(val_units) / d.val_tokens.size();
    const auto too_short = [&](const char* which, size_t n) {
        if (static_cast<int64_t>(n) < config.model.block_size + 1)
            fail("train", "the corpus is too short: its {} split has {} tokens, fewer than the context + 1 = {} "
                 "(use a longer text, a smaller --context, or a smaller --val-fraction)", which, n,
                 config.model.block_size + 1);
    };
    too_short("training", d.train_tokens.size());
    too_short("validation", d.val_tokens.size());
    return d;
}

// Mean loss over `batches` fixed batches: the same windows at every evaluation (a fixed seed), in eval
// mode, without a graph.
double estimate_loss(nn::GPT& model, const std::vector<int32_t>& tokens, const TrainConfig& c, uint64_t seed) {
    NoGradGuard no_grad;
    model.eval();
    BatchLoader loader(tokens, c.batch, c.model.block_size, seed);
    double total = 0.0;
    for (int64_t i = 0; i < c.eval_iters; ++i) {
        const Batch b = loader.next();
        total += model.forward(b.inputs, b.B, b.T, b.targets).loss.item();
    }
    model.train();
    return total / static_cast<double>(c.eval_iters);
}

std::string tell_tale(nn::GPT& model, const Tokenizer& tokenizer, const TrainConfig& c) {
    std::vector<int32_t> prompt;
    try {
        prompt = tokenizer.encode(c.sample_prompt);
    } catch (const Error&) {
        prompt = tokenizer.encode("\n");  // the prompt has characters this corpus never uses
    }
    if (prompt.empty()) prompt = tokenizer.encode("\n");
    Session session(model, true);
    GenerateOptions options;
    options.max_new_tokens = c.sample_tokens;
    options.sampler.temperature = 0.8f;
    options.sampler.top_k = 0;
    Rng rng(c.seed + 1);
    std::string text = c.sample_prompt;
    generate(session, tokenizer, prompt, options, rng, [&](std::string_view piece) { text += piece; });
    model.train();
    return text;
}

// One line of the progress display: a bar on a terminal, plain lines otherwise.
class Progress {
public:
    Progress(int64_t start, int64_t total, int64_t log_interval)
        : start_(start), total_(total), interval_(log_interval), tty_(isatty(fileno(stdout)) != 0) {}

    void step(int64_t step, double loss, float lr, double tokens_per_second, double elapsed) {
        const int64_t done = step + 1;
        const double rate = (done - start_) / std::max(elapsed - start_elapsed_, 1e-9);
        const double eta = (total_ - done) / std::max(rate, 1e-9);
        if (tty_) {
            constexpr int width = 24;
            const int filled = static_cast<int>(width * done / total_);
            fmt::print("\r[{}{}] step {}/{} loss {:.4f} lr {:.2e} {:.0f} tok/s elapsed {} eta {}   ",
                       std::string(filled, '#'), std::string(width - filled, '.'), done, total_, loss, lr,
                       tokens_per_second, human_seconds(elapsed), human_seconds(eta));
            std::fflush(stdout);
            dirty_ = true;
        } else if (done % interval_ == 0 || done == total_ || done == start_ + 1) {
            fmt::print("step {}/{}  loss {:.4f}  lr {:.2e}  {:.0f} tok/s  elapsed {}  eta {}\n", done, total_, loss, lr,
                       tokens_per_second, human_seconds(elapsed), human_seconds(eta));
            std::fflush(stdout);
        }
    }
    void line(const std::string& text) {
        if (dirty_) fmt::print("\r{}\r", std::string(120, ' '));
        dirty_ = false;
        fmt::print("{}\n", text);
        std::fflush(stdout);
    }
    void set_start_elapsed(double e) { start_elapsed_ = e; }

private:
    int64_t start_, total_, interval_;
    bool tty_;
    bool dirty_ = false;
    double start_elapsed_ = 0.0;
};

void append_log(std::ofstream& log, const nlohmann::json& record) {
    log << record.dump() << '\n';
    log.flush();
}

}  // namespace

// ---- the loop --------------------------------------------------------------------------------------------

TrainResult train(TrainConfig config, const std::string& resume_from) {
    // 1. Resume: the run's own settings, weights, tokenizer, optimizer state and progress.
    std::optional<Checkpoint> resumed;
    if (!resume_from.empty()) {
        const std::string path = fs::exists(fs::path(resume_from) / "last") ? (fs::path(resume_from) / "last").string()
                                                                            : resume_from;
        resumed = load_checkpoint(path);
        if (!resumed->state.contains("config") || !resumed->state.contains("step"))
            fail("train", "'{}' cannot be resumed: its state.json has no training state (weights only?)", resumed->dir);
        TrainConfig saved = TrainConfig::from_json(resumed->state.at("config"));
        if (config.iters > 0) saved.iters = config.iters;  // a resumed run may be given a new total
        const int64_t reached = resumed->state.at("step");
        if (reached >= saved.iters)
            fail("train", "the checkpoint in '{}' is at step {} and the run ends at step {}: nothing left to train "
                 "(give --iters N with N > {} to train further)", resumed->dir, reached, saved.iters, reached);
        saved.halt_after_step = config.halt_after_step;
        saved.out_dir = fs::path(resumed->dir).parent_path().string();
        config = saved;
    }
    config.validate();
    set_num_threads(config.threads);
    stop_requested() = false;

    // 2. Data: corpus -> split -> tokenizer -> token streams.
    Data data = prepare_data(config, resumed ? std::move(resumed->tokenizer) : nullptr);
    config.model.vocab_size = data.tokenizer->vocab_size();

    // 3. Model and optimizer.
    std::unique_ptr<nn::GPT> model = resumed ? std::move(resumed->model) : std::make_unique<nn::GPT>(config.model, config.seed);
    model->train();
    const std::vector<NamedTensor> params = model->named_parameters();
    std::unique_ptr<Optimizer> optimizer;
    if (config.optimizer == "adamw")
        optimizer = std::make_unique<AdamW>(params, AdamWOptions{config.lr, config.beta1, config.beta2, 1e-8f,
                                                                 config.weight_decay});
    else
        optimizer = std::make_unique<SgdMomentum>(params, SgdMomentumOptions{config.lr, config.momentum,
                                                                             config.weight_decay});
    BatchLoader loader(data.train_tokens, config.batch, config.model.block_size, config.seed);
    int64_t start_step = 0;
    double best_val = std::numeric_limits<double>::infinity();
    int64_t best_step = -1;
    double elapsed_before = 0.0;
    if (resumed) {
        load_optimizer_state(resumed->dir, *optimizer);
        const nlohmann::json& s = resumed->state;
        start_step = s.at("step");
        best_val = s.at("best_val_loss").is_null() ? best_val : s.at("best_val_loss").get<double>();
        best_step = s.at("best_step");
        elapsed_before = s.at("elapsed_seconds");
        loader.restore(s.at("loader"));
        model->dropout_rng().set_state(s.at("dropout_rng").get<std::array<uint64_t, 4>>());
    }

    // 4. Where things go.
    const fs::path out(config.out_dir);
    std::error_code ec;
    fs::create_directories(out, ec);
    if (ec || !fs::is_directory(out))
        fail("train", "cannot create the output directory '{}': {} (is the location writable?)", config.out_dir,
             ec ? ec.message() : "not a directory");
    std::ofstream log(out / "log.jsonl", resumed ? std::ios::app : std::ios::trunc);
    if (!log) fail("train", "cannot write '{}' (is the output directory writable?)", (out / "log.jsonl").string());

    // 5. The summary.
    const nn::GPTConfig& m = config.model;
    const int64_t n_params = model->parameter_count();
    const int64_t tokens_per_step = config.batch * config.accumulation * m.block_size;
    fmt::print("bayun train: preset {}, {} thread{}\n", config.preset, num_threads(), num_threads() == 1 ? "" : "s");
    fmt::print("data:  {} documents, {} of text -> {} tokenizer with {} tokens; {} training tokens, {} validation "
               "tokens\n", data.documents, human_bytes(static_cast<double>(data.corpus_bytes)), data.tokenizer->kind(),
               data.tokenizer->vocab_size(), data.train_tokens.size(), data.val_tokens.size());
    fmt::print("model: {} layers, {} heads, C = {}, context {}, {} parameters ({:.2f} M)\n", m.n_layer, m.n_head,
               m.n_embd, m.block_size, n_params, n_params / 1e6);
    fmt::print("memory: weights {}, optimizer state {}, gradients {}, activations about {} per micro-batch\n",
               human_bytes(n_params * 4.0), human_bytes(n_params * 8.0), human_bytes(n_params * 4.0),
               human_bytes(activation_bytes(m, config.batch)));
    fmt::print("steps: {} of {} tokens each (batch {} x accumulation {} x context {}), lr {:.3g} -> {:.3g}, out {}\n",
               config.iters, tokens_per_step, config.batch, config.accumulation, m.block_size, config.lr, config.min_lr,
               config.out_dir);
    if (resumed) fmt::print("resuming from '{}' at step {}\n", resumed->dir, start_step);
    std::fflush(stdout);

    // A run shorter than its warm-up warms up over its first tenth instead.
    const int64_t warmup = config.warmup < config.iters ? config.warmup : config.iters / 10;
    const LrSchedule schedule{config.lr, config.min_lr, warmup, config.iters, config.schedule == "cosine"};
    const double ln2 = std::log(2.0);
    const std::string unit = data.tokenizer->kind() == "char" ? "char" : "byte";
    const int64_t log_interval = config.log_interval > 0 ? config.log_interval : std::max<int64_t>(1, config.iters / 20);
    Progress progress(start_step, config.iters, log_interval);
    const auto run_start = Clock::now();
    const auto elapsed = [&] { return elapsed_before + std::chrono::duration<double>(Clock::now() - run_start).count(); };
    progress.set_start_elapsed(elapsed_before);

    TrainResult result;
    result.best_val_loss = best_val;
    result.best_step = best_step;

    const auto state_json = [&](int64_t next_step) {
        return nlohmann::json{{"step", next_step},
                              {"best_val_loss", std::isfinite(best_val) ? nlohmann::json(best_val) : nlohmann::json()},
                              {"best_step", best_step},
                              {"elapsed_seconds", elapsed()},
                              {"loader", loader.state()},
                              {"dropout_rng", model->dropout_rng().state()},
                              {"config", config.to_json()}};
    };
    const auto save = [&](const char* which, int64_t next_step) {
        save_checkpoint((out / which).string(), *model, *data.tokenizer, optimizer.get(), state_json(next_step));
    };

    // 6. The loop.
    int64_t step = start_step;
    for (; step < config.iters; ++step) {
        const auto step_start = Clock::now();
        const float lr = learning_rate_at(schedule, step);
        optimizer->zero_grad();
        double loss_sum = 0.0;
        for (int64_t micro = 0; micro < config.accumulation; ++micro) {
            const Batch batch = loader.next();
            Tensor loss = model->forward(batch.inputs, batch.B, batch.T, batch.targets).loss;
            loss_sum += loss.item();
            if (config.accumulation > 1) loss = loss * (1.0f / static_cast<float>(config.accumulation));
            loss.backward();
        }
        const double loss = loss_sum / static_cast<double>(config.accumulation);
        if (!std::isfinite(loss))
            fail("train", "step {}: the loss is {} (training diverged; try a lower --lr or a stronger --clip). The last "
                 "good checkpoint is in '{}'", step, loss, (out / "last").string());
        const float grad_norm = clip_grad_norm(params, config.grad_clip);  // --clip 0 only measures the norm
        optimizer->step(lr);
        result.step_losses.push_back(static_cast<float>(loss));

        const double step_seconds = std::chrono::duration<double>(Clock::now() - step_start).count();
        const double tokens_per_second = tokens_per_step / std::max(step_seconds, 1e-9);
        append_log(log, {{"kind", "step"}, {"step", step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                         {"tokens_per_second", tokens_per_second}, {"elapsed", elapsed()}});
        progress.step(step, loss, lr, tokens_per_second, elapsed());

        const bool last_step = step + 1 == config.iters;
        if ((step + 1) % config.eval_interval == 0 || last_step) {
            const double train_loss = estimate_loss(*model, data.train_tokens, config, config.seed + 101);
            const double val_loss = estimate_loss(*model, data.val_tokens, config, config.seed + 202);
            const double bits = val_loss / ln2 / data.val_units_per_token;
            const bool best = val_loss < best_val;
            if (best) {
                best_val = val_loss;
                best_step = step + 1;
            }
            append_log(log, {{"kind", "eval"}, {"step", step + 1}, {"train_loss", train_loss}, {"val_loss", val_loss},
                             {"val_bits_per_" + unit, bits}, {"elapsed", elapsed()}});
            progress.line(fmt::format("eval step {}: train {:.4f}, val {:.4f} nats ({:.3f} bits/{}){}", step + 1,
                                      train_loss, val_loss, bits, unit, best ? ", best so far" : ""));
            result.final_train_loss = train_loss;
            result.final_val_loss = val_loss;
            if (best) save("best", step + 1);
            save("last", step + 1);
        }
        if (stop_requested() || (config.halt_after_step > 0 && step + 1 == config.halt_after_step)) {
            ++step;
            save("last", step);
            progress.line(fmt::format("stopped at step {}: checkpoint saved in '{}' (continue with: bayun train "
                                      "--resume {})", step, (out / "last").string(), config.out_dir));
            result.interrupted = true;
            break;
        }
    }

    result.steps = step;
    result.best_val_loss = best_val;
    result.best_step = best_step;
    result.seconds = elapsed();
    if (result.interrupted) return result;

    fmt::print("done: {} steps in {}; final train loss {:.4f}, val loss {:.4f}; best val loss {:.4f} at step {}\n",
               step, human_seconds(result.seconds), result.final_train_loss, result.final_val_loss, best_val, best_step);
    fmt::print("checkpoints: {} (best), {} (last); log: {}\n", (out / "best").string(), (out / "last").string(),
               (out / "log.jsonl").string());
    try {  // a picture of the loss; a problem drawing it must not fail a finished run
        inspect::write_loss_curve((out / "loss.svg").string(), (out / "log.jsonl").string());
        fmt::print("loss curve: {}\n", (out / "loss.svg").string());
    } catch (const Error& e) {
        fmt::print(stderr, "note: no loss curve: {}\n", e.what());
    }
    if (config.sample_tokens > 0) {
        result.sample = tell_tale(*model, *data.tokenizer, config);
        fmt::print("\n--- a tale from the last checkpoint ---\n{}\n---\n", result.sample);
    }
    return result;
}

}  // namespace bayun
