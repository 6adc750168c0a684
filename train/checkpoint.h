// Checkpoints: a directory with everything needed to sample from a model or to resume its training:
//   model.safetensors      the weights under nanoGPT's names; the model config in __metadata__
//   tokenizer.json         the tokenizer
//   optimizer.safetensors  the optimizer's moments (for resuming)
//   state.json             step, best validation loss, RNG and data-loader state, the run's settings
// A run directory (`--out DIR`) holds DIR/last/ and DIR/best/; every command that takes a checkpoint
// accepts either a checkpoint directory or a run directory (then it uses best/, else last/).
// Saves are atomic: a crash during a save leaves the previous checkpoint intact.
#pragma once

#include "data/tokenizer.h"
#include "nn/gpt.h"
#include "train/adamw.h"

#include <nlohmann/json.hpp>

#include <memory>
#include <string>

namespace bayun {

struct Checkpoint {
    std::string dir;                      // the checkpoint directory that was read
    std::unique_ptr<nn::GPT> model;
    std::unique_ptr<Tokenizer> tokenizer;
    nlohmann::json state;                 // state.json
};

// A checkpoint directory as is; a run directory -> its best/ (or last/ when there is no best/ yet).
std::string resolve_checkpoint_dir(const std::string& path);

void save_checkpoint(const std::string& dir, const nn::GPT& model, const Tokenizer& tokenizer,
                     const Optimizer* optimizer, const nlohmann::json& state);

// Loads weights, config and tokenizer; every problem is a bayun::Error naming the file.
Checkpoint load_checkpoint(const std::string& path);

// Restores the optimizer's moments from dir/optimizer.safetensors.
void load_optimizer_state(const std::string& dir, Optimizer& optimizer);

}  // namespace bayun
