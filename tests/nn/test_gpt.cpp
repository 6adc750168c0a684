// The GPT model: agreement with PyTorch, causality, initial loss, gradients, overfitting, parameters.
#include "autograd/kernels.h"
#include "autograd/ops.h"
#include "nn/gpt.h"
#include "support.h"

#include <cmath>
#include <set>

using namespace bayun;
using namespace bayun::nn;

namespace {

GPTConfig tiny_config() {
    GPTConfig c;
    c.vocab_size = 13;
    c.block_size = 8;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 8;
    return c;
}

GPTConfig config_from_json(const nlohmann::json& j) {
    GPTConfig c;
    c.vocab_size = j.at("vocab_size");
    c.block_size = j.at("block_size");
    c.n_layer = j.at("n_layer");
    c.n_head = j.at("n_head");
    c.n_embd = j.at("n_embd");
    c.dropout = j.at("dropout");
    c.bias = j.at("bias");
    c.activation = parse_activation(j.at("activation"));
    c.norm = parse_norm(j.at("norm"));
    c.tie_weights = j.at("tie_weights");
    return c;
}

std::vector<int32_t> tokens_for(int64_t n, int64_t V, int32_t salt = 0) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 7 + 3 + salt) % V);
    return t;
}

}  // namespace

TEST_CASE("GPT matches PyTorch on logits, loss and every parameter's gradient", "[nn][gpt][golden]") {
    // Fast kernels run the fused attention op; the reference kernels run attention one op at a time.
    const bool reference = GENERATE(false, true);
    INFO("reference kernels (attention step by step): " << reference);
    ReferenceKernelsGuard guard(reference);
    const nlohmann::json golden = test::load_golden("gpt.json");
    for (const auto& v : golden.at("variants")) {
        const std::string name = v.at("name");
        INFO("variant: " << name);
        GPT model(config_from_json(v.at("config")));
        std::set<std::string> ours;
        for (NamedTensor& p : model.named_parameters()) {
            ours.insert(p.name);
            REQUIRE(v.at("params").contains(p.name));
            p.tensor.copy_from(test::tensor_from_json(v.at("params").at(p.name)));
        }
        REQUIRE(ours.size() == v.at("params").size());  // the same names, none missing, none extra

        const std::vector<int32_t> tokens = v.at("tokens");
        const std::vector<int32_t> targets = v.at("targets");
        GPTOutput out = model.forward(tokens, v.at("B"), v.at("T"), targets);
        test::require_close(out.logits, test::tensor_from_json(v.at("logits")), 1e-5, 1e-6, name + ": logits");
        CHECK_THAT(out.loss.item(), WithinRel(v.at("loss").get<double>(), 1e-5));

        out.loss.backward();
        for (const NamedTensor& p : model.named_parameters()) {
            REQUIRE(p.tensor.has_grad());
            test::require_close(p.tensor.grad(), test::tensor_from_json(v.at("grads").at(p.name)), 1e-4, 1e-6,
                                name + ": grad of " + p.name);
        }
    }
}

TEST_CASE("parameter names follow nanoGPT's state dict", "[nn][gpt]") {
    GPTConfig c = tiny_config();
    c.tie_weights = false;
    GPT model(c);
    std::vector<std::string> names;
    for (const auto& p : model.named_parameters()) names.push_back(p.name);
    const std::vector<std::string> first{"transformer.wte.weight", "transformer.wpe.weight",
                                         "transformer.h.0.ln_1.weight", "transformer.h.0.ln_1.bias",
                                         "transformer.h.0.attn.c_attn.weight", "transformer.h.0.attn.c_attn.bias",
                                         "transformer.h.0.attn.c_proj.weight", "transformer.h.0.attn.c_proj.bias",
                                         "transformer.h.0.ln_2.weight", "transformer.h.0.ln_2.bias",
                                         "transformer.h.0.mlp.c_fc.weight", "transformer.h.0.mlp.c_fc.bias",
                                         "transformer.h.0.mlp.c_proj.weight", "transformer.h.0.mlp.c_proj.bias"};
    REQUIRE(names.size() == 2 + 12 * 2 + 2 + 1);
    CHECK(std::vector<std::string>(names.begin(), names.begin() + first.size()) == first);
    CHECK(names[names.size() - 3] == "transformer.ln_f.weight");
    CHECK(names.back() == "lm_head.weight");
    for (const auto& p : model.named_parameters()) CHECK(p.tensor.label() == p.name);
}

TEST_CASE("a tied lm_head shares wte's tensor and is listed once", "[nn][gpt]") {
    GPT model(tiny_config());
    CHECK(model.lm_head.weight.same(model.transformer.wte.weight));
    for (const auto& p : model.named_parameters()) CHECK(p.name != "lm_head.weight");
}

TEST_CASE("the parameter count matches the closed form for the config", "[nn][gpt]") {
    for (bool tie : {true, false})
        for (bool bias : {true, false}) {
            GPTConfig c = tiny_config();
            c.tie_weights = tie;
            c.bias = bias;
            c.n_layer = 3;
            GPT model(c);
            CHECK(model.parameter_count() == c.parameter_count());
        }
    // nanoGPT's shakespeare-char (bias = False) reports 10.65 M parameters, which leaves out wpe (256 x 384).
    GPTConfig shakespeare;
    shakespeare.vocab_size = 65;
    shakespeare.block_size = 256;
    shakespeare.n_layer = 6;
    shakespeare.n_head = 6;
    shakespeare.n_embd = 384;
    shakespeare.bias = false;
    CHECK(shakespeare.parameter_count() - 256 * 384 == 10646784);
}

TEST_CASE("changing token t+1 leaves the logits at positions <= t unchanged", "[nn][gpt]") {
    GPT model(tiny_config(), 3);
    const int64_t T = 8, V = 13;
    std::vector<int32_t> a = tokens_for(T, V);
    Tensor base = model.forward(a, 1, T).logits;
    for (int64_t changed = 1; changed < T; ++changed) {
        std::vector<int32_t> b = a;
        b[changed] = (b[changed] + 5) % V;
        Tensor other = model.forward(b, 1, T).logits;
        for (int64_t i = 0; i < changed * V; ++i) REQUIRE(other.data()[i] == base.data()[i]);
        bool later_differs = false;
        for (int64_t i = changed * V; i < T * V; ++i) later_differs |= other.data()[i] != base.data()[i];
        CHECK(later_differs);
    }
}

TEST_CASE("a freshly initialised model's loss is close to ln(V)", "[nn][gpt]") {
    GPTConfig c = tiny_config();
    c.vocab_size = 65;
    GPT model(c);
    const std::vector<int32_t> tokens = tokens_for(4 * 8, 65), targets = tokens_for(4 * 8, 65, 1);
    const float loss = model.forward(tokens, 4, 8, targets).loss.item();
    CHECK_THAT(loss, WithinAbs(std::log(65.0), 0.1));
}

TEST_CASE("every parameter of a tiny GPT matches finite differences", "[nn][gpt][gradcheck]") {
    for (NormPlacement norm : {NormPlacement::pre, NormPlacement::post}) {
        GPTConfig c = tiny_config();
        c.norm = norm;
        c.vocab_size = 7;
        GPT model(c, 11);
        // Larger weights than GPT-2's init so every path carries signal the finite differences can see.
        Rng rng(5);
        for (NamedTensor& p : model.named_parameters())
            if (p.tensor.dim() == 2) p.tensor.copy_from(Tensor::randn(p.tensor.shape(), rng, 0.3f));
        const std::vector<int32_t> tokens = tokens_for(2 * 5, 7), targets = tokens_for(2 * 5, 7, 2);
        std::vector<Tensor> params;
        for (const NamedTensor& p : model.named_parameters()) params.push_back(p.tensor);
        GradcheckOptions options;
        options.eps = 1e-2f;
        test::require_gradcheck(
            [&](const std::vector<Tensor>&) { return model.forward(tokens, 2, 5, targets).loss; }, params, options);
    }
}

TEST_CASE("a tiny GPT overfits one batch with plain SGD", "[nn][gpt]") {
    GPTConfig c = tiny_config();
    c.n_embd = 16;
    GPT model(c, 2);
    const std::vector<int32_t> tokens{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 3, 5, 7};
    const std::vector<int32_t> targets{2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0, 3, 5, 7, 9};
    float loss = 0;
    const auto params = model.named_parameters();
    for (int step = 0; step < 300; ++step) {
        for (auto p : params) p.tensor.zero_grad();
        Tensor l = model.forward(tokens, 2, 8, targets).loss;
        loss = l.item();
        l.backward();
        for (auto p : params) {
            float* g = p.tensor.grad_data();
            for (int64_t i = 0; i < p.tensor.numel(); ++i) p.tensor.data()[i] -= 1.0f * g[i];
        }
    }
    CHECK(loss < 0.05f);
}

TEST_CASE("invalid configs name the values", "[nn][gpt][errors]") {
    GPTConfig c = tiny_config();
    c.n_embd = 10;
    c.n_head = 4;
    REQUIRE_THROWS_WITH(GPT(c), ContainsSubstring("[config] n_embd 10 is not divisible by n_head 4"));
    c = tiny_config();
    c.n_layer = 0;
    REQUIRE_THROWS_WITH(GPT(c), "[config] n_layer (layers) must be positive, found 0");
}

TEST_CASE("more positions than the context length is a clear error", "[nn][gpt][errors]") {
    GPT model(tiny_config());
    const std::vector<int32_t> tokens = tokens_for(9, 13);
    REQUIRE_THROWS_WITH(model.forward(tokens, 1, 9), ContainsSubstring("9 positions exceed the context length 8"));
}

TEST_CASE("the config survives a round trip through checkpoint metadata", "[nn][config]") {
    GPTConfig c = tiny_config();
    c.norm = NormPlacement::post;
    c.activation = Activation::relu;
    c.dropout = 0.25f;
    c.tie_weights = false;
    GPTConfig back = GPTConfig::from_metadata(c.to_metadata(), "test");
    CHECK(back.to_metadata() == c.to_metadata());
    auto broken = c.to_metadata();
    broken["n_layer"] = "two";
    REQUIRE_THROWS_WITH(GPTConfig::from_metadata(broken, "m.safetensors"),
                        "[checkpoint] 'm.safetensors': config entry n_layer = 'two' is not an integer");
}
