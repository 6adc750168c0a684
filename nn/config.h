// GPTConfig: the blueprint of a model (llama2.c's Config). Everything that decides the shapes of the
// weights lives here, with nanoGPT's names; checkpoints store it as text in the safetensors metadata.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace bayun::nn {

enum class Activation { gelu, relu };       // the FFN's non-linearity
enum class NormPlacement { pre, post };     // layer norm before each sublayer (GPT-2) or after the residual add

struct GPTConfig {
    int64_t vocab_size = 65;    // V: how many different tokens
    int64_t block_size = 64;    // T_max: the context length, how many positions the model can see
    int64_t n_layer = 4;        // L: how many blocks
    int64_t n_head = 4;         // H: attention heads per block; each looks at a D = C / H wide slice
    int64_t n_embd = 128;       // C: channels of the residual stream (the hidden state)
    float dropout = 0.0f;       // on attention weights and on each residual branch, in training only
    bool bias = true;           // biases in Linear and LayerNorm layers
    Activation activation = Activation::gelu;
    NormPlacement norm = NormPlacement::pre;
    bool tie_weights = true;    // lm_head shares wte's weight (GPT-2)

    int64_t head_size() const { return n_embd / n_head; }  // D
    void validate() const;      // throws bayun::Error naming the bad values

    std::map<std::string, std::string> to_metadata() const;  // {"n_layer": "4", ...}
    static GPTConfig from_metadata(const std::map<std::string, std::string>& metadata, const std::string& where);

    // Parameters in closed form: embeddings + L blocks + ln_f (+ lm_head when untied).
    int64_t parameter_count() const;
};

const char* to_string(Activation a);
const char* to_string(NormPlacement n);
Activation parse_activation(const std::string& text);
NormPlacement parse_norm(const std::string& text);

}  // namespace bayun::nn
