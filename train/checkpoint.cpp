// Writing and reading checkpoint directories (see checkpoint.h).
#include "train/checkpoint.h"

#include "train/atomic_file.h"
#include "train/safetensors.h"

#include <filesystem>
#include <fstream>

namespace bayun {

namespace fs = std::filesystem;

namespace {
constexpr const char* model_file = "model.safetensors";
constexpr const char* tokenizer_file = "tokenizer.json";
constexpr const char* optimizer_file = "optimizer.safetensors";
constexpr const char* state_file = "state.json";

bool is_checkpoint_dir(const fs::path& dir) { return fs::is_regular_file(dir / model_file); }
}  // namespace

std::string resolve_checkpoint_dir(const std::string& path) {
    const fs::path p(path);
    if (!fs::exists(p))
        fail("checkpoint", "'{}' does not exist (train one first: bayun train --out {})", path, path);
    if (!fs::is_directory(p))
        fail("checkpoint", "'{}' is a file; expected a checkpoint directory (with {}) or a run directory (with "
             "best/ or last/)", path, model_file);
    recover_directory((p / "best").string());
    recover_directory((p / "last").string());
    if (is_checkpoint_dir(p)) return p.string();
    if (is_checkpoint_dir(p / "best")) return (p / "best").string();
    if (is_checkpoint_dir(p / "last")) return (p / "last").string();
    fail("checkpoint", "'{}' holds no {} and no best/ or last/ checkpoint (is it the --out directory of a "
         "training run?)", path, model_file);
}

void save_checkpoint(const std::string& dir, const nn::GPT& model, const Tokenizer& tokenizer,
                     const Optimizer* optimizer, const nlohmann::json& state) {
    write_directory_atomic(dir, [&](const std::string& staging) {
        const fs::path out(staging);
        std::vector<NamedTensor> weights = model.named_parameters();
        // nanoGPT's state dict lists a tied head under both names; so do we, so that it loads there as is.
        if (model.config().tie_weights) weights.push_back({"lm_head.weight", model.lm_head.weight});
        auto metadata = model.config().to_metadata();
        metadata["format"] = "bayun";
        save_safetensors((out / model_file).string(), weights, metadata);
        tokenizer.save((out / tokenizer_file).string());
        if (optimizer) save_safetensors((out / optimizer_file).string(), optimizer->state_tensors(),
                                        optimizer->state_metadata());
        write_file_atomic((out / state_file).string(), state.dump(2) + "\n");
    });
}

Checkpoint load_checkpoint(const std::string& path) {
    Checkpoint ck;
    ck.dir = resolve_checkpoint_dir(path);
    const fs::path dir(ck.dir);
    const std::string weights_path = (dir / model_file).string();
    SafetensorsFile file = load_safetensors(weights_path);
    const nn::GPTConfig config = nn::GPTConfig::from_metadata(file.metadata, weights_path);
    ck.model = std::make_unique<nn::GPT>(config);
    if (config.tie_weights) {  // the tied head is stored twice; the model has one tensor for both names
        std::erase_if(file.tensors, [](const NamedTensor& t) { return t.name == "lm_head.weight"; });
    }
    load_into(file, ck.model->named_parameters(), weights_path);

    const fs::path tokenizer_path = dir / tokenizer_file;
    if (!fs::exists(tokenizer_path))
        fail("checkpoint", "'{}' is missing (every checkpoint directory has one; was it copied partly?)",
             tokenizer_path.string());
    ck.tokenizer = Tokenizer::load(tokenizer_path.string());
    if (ck.tokenizer->vocab_size() != config.vocab_size)
        fail("checkpoint", "'{}' has {} tokens but the model in '{}' expects vocab_size {} (mixed-up files?)",
             tokenizer_path.string(), ck.tokenizer->vocab_size(), weights_path, config.vocab_size);

    const fs::path state_path = dir / state_file;
    if (fs::exists(state_path)) {
        std::ifstream in(state_path);
        try {
            ck.state = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            fail("checkpoint", "'{}' is not valid JSON: {}", state_path.string(), e.what());
        }
    }
    return ck;
}

void load_optimizer_state(const std::string& dir, Optimizer& optimizer) {
    const std::string path = (fs::path(dir) / optimizer_file).string();
    if (!fs::exists(path))
        fail("checkpoint", "'{}' is missing: this checkpoint cannot resume training (it has weights only)", path);
    SafetensorsFile file = load_safetensors(path);
    optimizer.load_state(file.tensors, file.metadata, path);
}

}  // namespace bayun
