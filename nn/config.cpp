// GPTConfig validation, text round trip and the closed-form parameter count.
#include "nn/config.h"

#include "autograd/error.h"

#include <charconv>

namespace bayun::nn {

void GPTConfig::validate() const {
    const auto positive = [](const char* name, int64_t value) {
        if (value <= 0) fail("config", "{} must be positive, found {}", name, value);
    };
    positive("vocab_size", vocab_size);
    positive("block_size (context)", block_size);
    positive("n_layer (layers)", n_layer);
    positive("n_head (heads)", n_head);
    positive("n_embd (embedding size)", n_embd);
    if (n_embd % n_head != 0)
        fail("config", "n_embd {} is not divisible by n_head {}: each head needs a whole slice of C / H channels "
             "(try --heads {} or --embd {})", n_embd, n_head, n_embd % 2 == 0 ? 2 : 1, (n_embd / n_head + 1) * n_head);
    if (!(dropout >= 0.0f && dropout < 1.0f)) fail("config", "dropout must be in [0, 1), found {}", dropout);
}

const char* to_string(Activation a) { return a == Activation::gelu ? "gelu" : "relu"; }
const char* to_string(NormPlacement n) { return n == NormPlacement::pre ? "pre" : "post"; }

Activation parse_activation(const std::string& text) {
    if (text == "gelu") return Activation::gelu;
    if (text == "relu") return Activation::relu;
    fail("config", "activation must be 'gelu' or 'relu', found '{}'", text);
}

NormPlacement parse_norm(const std::string& text) {
    if (text == "pre") return NormPlacement::pre;
    if (text == "post") return NormPlacement::post;
    fail("config", "norm placement must be 'pre' or 'post', found '{}'", text);
}

std::map<std::string, std::string> GPTConfig::to_metadata() const {
    return {{"vocab_size", std::to_string(vocab_size)},
            {"block_size", std::to_string(block_size)},
            {"n_layer", std::to_string(n_layer)},
            {"n_head", std::to_string(n_head)},
            {"n_embd", std::to_string(n_embd)},
            {"dropout", fmt::format("{}", dropout)},
            {"bias", bias ? "true" : "false"},
            {"activation", to_string(activation)},
            {"norm", to_string(norm)},
            {"tie_weights", tie_weights ? "true" : "false"}};
}

GPTConfig GPTConfig::from_metadata(const std::map<std::string, std::string>& m, const std::string& where) {
    const auto get = [&](const char* key) -> const std::string& {
        auto it = m.find(key);
        if (it == m.end())
            fail("checkpoint", "'{}': the model config has no '{}' entry (not a bayun checkpoint, or written by "
                 "an older version?)", where, key);
        return it->second;
    };
    const auto integer = [&](const char* key) {
        const std::string& text = get(key);
        int64_t value = 0;
        auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec != std::errc() || end != text.data() + text.size())
            fail("checkpoint", "'{}': config entry {} = '{}' is not an integer", where, key, text);
        return value;
    };
    const auto boolean = [&](const char* key) {
        const std::string& text = get(key);
        if (text != "true" && text != "false")
            fail("checkpoint", "'{}': config entry {} = '{}' is not true or false", where, key, text);
        return text == "true";
    };
    GPTConfig c;
    c.vocab_size = integer("vocab_size");
    c.block_size = integer("block_size");
    c.n_layer = integer("n_layer");
    c.n_head = integer("n_head");
    c.n_embd = integer("n_embd");
    try {
        c.dropout = std::stof(get("dropout"));
    } catch (const std::logic_error&) {
        fail("checkpoint", "'{}': config entry dropout = '{}' is not a number", where, get("dropout"));
    }
    c.bias = boolean("bias");
    c.activation = parse_activation(get("activation"));
    c.norm = parse_norm(get("norm"));
    c.tie_weights = boolean("tie_weights");
    c.validate();
    return c;
}

int64_t GPTConfig::parameter_count() const {
    const int64_t C = n_embd, V = vocab_size, b = bias ? 1 : 0;
    const int64_t ln = C + b * C;                                    // weight (+ bias)
    const int64_t attn = (3 * C * C + b * 3 * C) + (C * C + b * C);  // c_attn + c_proj
    const int64_t mlp = (4 * C * C + b * 4 * C) + (4 * C * C + b * C);  // c_fc + c_proj
    const int64_t block = 2 * ln + attn + mlp;
    const int64_t embeddings = V * C + block_size * C;               // wte + wpe
    return embeddings + n_layer * block + ln + (tie_weights ? 0 : V * C);
}

}  // namespace bayun::nn
