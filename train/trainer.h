// The training loop: corpus -> tokenizer -> batches -> GPT -> loss -> backward -> clip -> AdamW, with
// evaluation, progress, a JSON-lines log, and checkpoints (last/ and best/) that resume exactly.
// `bayun train` fills a TrainConfig from a preset, a config file and flags, then calls train().
#pragma once

#include "nn/config.h"

#include <nlohmann/json.hpp>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

namespace bayun {

struct TrainConfig {
    std::string preset = "small";
    nn::GPTConfig model;                 // vocab_size is set from the tokenizer

    // Data.
    std::vector<std::string> corpus;     // files or directories; empty: the folk-tale corpus
    std::string tokenizer = "char";      // "char" or "bpe"
    int vocab_size = 1024;               // BPE only: 256 bytes + merges (+ specials)
    double val_fraction = 0.1;           // the last 10% of every book is validation

    // Optimisation.
    std::string optimizer = "adamw";     // "adamw" or "sgd"
    int64_t batch = 32;                  // B: sequences per micro-batch
    int64_t accumulation = 1;            // micro-batches per step (gradient accumulation)
    int64_t iters = 2000;                // optimisation steps
    float lr = 1e-3f;                    // peak learning rate
    float min_lr = 1e-4f;                // the floor of the cosine decay
    int64_t warmup = 100;                // linear warm-up steps
    std::string schedule = "cosine";     // "cosine" or "constant"
    float weight_decay = 0.1f;           // AdamW, matrices only
    float beta1 = 0.9f, beta2 = 0.99f;   // AdamW
    float momentum = 0.9f;               // SGD
    float grad_clip = 1.0f;              // max global gradient norm (0: off)

    // Evaluation and checkpoints.
    int64_t eval_interval = 250;         // steps between evaluations (and checkpoint saves)
    int64_t eval_iters = 20;             // batches per evaluation, from train and from validation
    int64_t log_interval = 0;            // steps between plain progress lines (0: about 20 per run)
    std::string out_dir = "runs/tale";
    int64_t sample_tokens = 300;         // the tale told at the end (0: none)
    std::string sample_prompt = "The learned cat said that he";

    uint64_t seed = 1337;
    int threads = 0;                     // 0: one per core

    // Tests: act as if Ctrl-C arrived after this step (0: never). Not a flag.
    int64_t halt_after_step = 0;

    nlohmann::json to_json() const;
    static TrainConfig from_json(const nlohmann::json& j);
    void validate() const;
};

// The named presets: "micro", "small", "shakespeare-char". Throws for other names, listing them.
TrainConfig preset_config(const std::string& name);
std::vector<std::string> preset_names();

struct TrainResult {
    int64_t steps = 0;
    double final_train_loss = 0, final_val_loss = 0;
    double best_val_loss = 0;
    int64_t best_step = 0;
    double seconds = 0;
    bool interrupted = false;
    std::string sample;
    std::vector<float> step_losses;  // the loss of every step this process ran
};

// Runs training. With resume_from (a run or checkpoint directory) it continues that run exactly, with the
// run's saved settings; only config.iters (when > 0) and halt_after_step are taken from `config`.
TrainResult train(TrainConfig config, const std::string& resume_from = "");

// Ctrl-C and SIGTERM set this; the loop finishes the current step, saves, and returns.
std::atomic<bool>& stop_requested();

}  // namespace bayun
