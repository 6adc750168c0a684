// AdamW and SGD with momentum: agreement with torch.optim.AdamW, weight decay on matrices only, exact resume
// through a safetensors file, and the errors of load_state.
#include "train/adamw.h"

#include "autograd/kernels.h"
#include "support.h"
#include "temp_dir.h"
#include "train/safetensors.h"

#include <cstring>

using namespace bayun;

namespace {

bool bitwise_equal(const Tensor& a, const Tensor& b) {
    return a.shape() == b.shape() && (a.numel() == 0 ||
           std::memcmp(a.data(), b.data(), static_cast<size_t>(a.numel()) * sizeof(float)) == 0);
}

void set_grad(Tensor& t, const std::vector<float>& g) {
    REQUIRE(static_cast<int64_t>(g.size()) == t.numel());
    std::copy(g.begin(), g.end(), t.grad_data());
}

// A weight (decayed) and a bias (not), with gradients that depend on the step number.
std::vector<NamedTensor> two_params(uint64_t seed) {
    return {{"h.0.mlp.c_fc.weight", test::random_tensor({4, 3}, seed, true)},
            {"h.0.mlp.c_fc.bias", test::random_tensor({4}, seed + 1, true)}};
}
void fake_backward(std::vector<NamedTensor>& params, int step) {
    for (NamedTensor& p : params) {
        float* g = p.tensor.grad_data();
        for (int64_t i = 0; i < p.tensor.numel(); ++i) g[i] = std::sin(0.7f * static_cast<float>(i + 1) * (step + 1));
    }
}

}  // namespace

TEST_CASE("AdamW matches torch.optim.AdamW step by step", "[train][adamw][golden]") {
    const auto golden = test::load_golden("adamw.json");
    const auto& o = golden["options"];
    AdamWOptions options;
    options.beta1 = o["beta1"].get<float>();
    options.beta2 = o["beta2"].get<float>();
    options.eps = o["eps"].get<float>();
    options.weight_decay = o["weight_decay"].get<float>();
    std::vector<NamedTensor> params{{"weight", test::tensor_from_json(golden["initial"]["weight"])},
                                    {"bias", test::tensor_from_json(golden["initial"]["bias"])}};
    AdamW optimizer(params, options);
    CHECK(optimizer.decays(0));
    CHECK_FALSE(optimizer.decays(1));

    int step = 0;
    for (const auto& record : golden["steps"]) {
        ++step;
        for (NamedTensor& p : params) set_grad(p.tensor, record["grad"][p.name]["data"].get<std::vector<float>>());
        optimizer.step(record["lr"].get<float>());
        const auto state = optimizer.state_tensors();  // weight.exp_avg, weight.exp_avg_sq, bias.exp_avg, ...
        for (size_t i = 0; i < params.size(); ++i) {
            const std::string& name = params[i].name;
            test::require_close(params[i].tensor, test::tensor_from_json(record[name]), 1e-6, 1e-9,
                                fmt::format("step {} {}", step, name));
            test::require_close(state[2 * i].tensor, test::tensor_from_json(record[name + ".exp_avg"]), 1e-6, 1e-9,
                                fmt::format("step {} {}.exp_avg", step, name));
            test::require_close(state[2 * i + 1].tensor, test::tensor_from_json(record[name + ".exp_avg_sq"]), 1e-6,
                                1e-12, fmt::format("step {} {}.exp_avg_sq", step, name));
        }
    }
    CHECK(optimizer.step_count() == static_cast<int64_t>(golden["steps"].size()));
}

TEST_CASE("AdamW decays matrices only: with zero gradients only the weight shrinks", "[train][adamw]") {
    std::vector<NamedTensor> params{{"transformer.wte.weight", Tensor::full({3, 2}, 2.0f, true)},
                                    {"transformer.h.0.attn.c_attn.bias", Tensor::full({6}, 2.0f, true)},
                                    {"transformer.ln_f.weight", Tensor::full({2}, 2.0f, true)}};
    AdamWOptions options;
    options.weight_decay = 0.5f;
    AdamW optimizer(params, options);
    for (NamedTensor& p : params) p.tensor.grad_data();  // zero gradients: m = v = 0, so Adam's step is 0
    optimizer.step(0.1f);
    test::require_close(params[0].tensor, std::vector<float>(6, 2.0f * (1.0f - 0.1f * 0.5f)));
    CHECK(params[1].tensor.to_vector() == std::vector<float>(6, 2.0f));
    CHECK(params[2].tensor.to_vector() == std::vector<float>(2, 2.0f));
    CHECK(optimizer.describe() == "decayed: 1 tensors, 6 values; not decayed: 2 tensors, 8 values");
}

TEST_CASE("AdamW skips parameters that received no gradient", "[train][adamw]") {
    std::vector<NamedTensor> params{{"used.weight", Tensor::ones({2, 2}, true)}, {"unused.weight", Tensor::ones({2, 2}, true)}};
    AdamW optimizer(params);
    set_grad(params[0].tensor, {1, 1, 1, 1});
    optimizer.step(0.1f);
    CHECK(params[0].tensor.at({0, 0}) < 1.0f);
    CHECK(params[1].tensor.to_vector() == std::vector<float>(4, 1.0f));
    CHECK_FALSE(params[1].tensor.has_grad());
}

TEST_CASE("zero_grad zeroes every gradient and keeps the buffers", "[train][adamw]") {
    auto params = two_params(5);
    AdamW optimizer(params);
    fake_backward(params, 0);
    const float* buffer = params[0].tensor.grad().data();
    optimizer.zero_grad();
    for (const NamedTensor& p : params) CHECK(p.tensor.grad().to_vector() == std::vector<float>(p.tensor.numel(), 0.0f));
    CHECK(params[0].tensor.grad().data() == buffer);
}

TEST_CASE("AdamW state saved to a file and restored continues bit for bit", "[train][adamw][resume]") {
    test::TempDir dir;
    auto original = two_params(7);
    AdamW a(original);
    for (int step = 0; step < 3; ++step) {
        fake_backward(original, step);
        a.step(1e-2f);
    }
    // The checkpoint: weights and optimizer state, through safetensors files.
    save_safetensors(dir / "model.safetensors", original);
    save_safetensors(dir / "optimizer.safetensors", a.state_tensors(), a.state_metadata());

    auto resumed = two_params(99);  // different values: the load must overwrite them all
    load_into(load_safetensors(dir / "model.safetensors"), resumed, "model.safetensors");
    AdamW b(resumed);
    const SafetensorsFile state = load_safetensors(dir / "optimizer.safetensors");
    b.load_state(state.tensors, state.metadata, "optimizer.safetensors");
    CHECK(b.step_count() == 3);

    for (int step = 3; step < 6; ++step) {
        fake_backward(original, step);
        fake_backward(resumed, step);
        a.step(1e-2f);
        b.step(1e-2f);
        for (size_t i = 0; i < original.size(); ++i) {
            INFO("step " << step << " " << original[i].name);
            CHECK(bitwise_equal(original[i].tensor, resumed[i].tensor));
        }
    }
}

TEST_CASE("AdamW's state names follow PyTorch and the step is in the metadata", "[train][adamw]") {
    auto params = two_params(1);
    AdamW optimizer(params);
    fake_backward(params, 0);
    optimizer.step(1e-3f);
    std::vector<std::string> names;
    for (const NamedTensor& t : optimizer.state_tensors()) names.push_back(t.name);
    CHECK(names == std::vector<std::string>{"h.0.mlp.c_fc.weight.exp_avg", "h.0.mlp.c_fc.weight.exp_avg_sq",
                                            "h.0.mlp.c_fc.bias.exp_avg", "h.0.mlp.c_fc.bias.exp_avg_sq"});
    const auto metadata = optimizer.state_metadata();
    CHECK(metadata.at("optimizer") == "adamw");
    CHECK(metadata.at("step") == "1");
}

TEST_CASE("AdamW load_state rejects state that does not fit", "[train][adamw][errors]") {
    auto params = two_params(1);
    AdamW optimizer(params);
    auto tensors = optimizer.state_tensors();
    auto metadata = optimizer.state_metadata();

    SECTION("another optimizer's state") {
        metadata["optimizer"] = "sgd_momentum";
        CHECK_THROWS_WITH(optimizer.load_state(tensors, metadata, "opt.safetensors"),
                          "[adamw] 'opt.safetensors' holds sgd_momentum state, but this run uses adamw (resume with the "
                          "same optimizer, or start fresh)");
    }
    SECTION("a step that is not a number") {
        metadata["step"] = "12x";
        CHECK_THROWS_WITH(optimizer.load_state(tensors, metadata, "opt.safetensors"),
                          "[adamw] 'opt.safetensors': metadata \"step\" is '12x', expected a non-negative integer "
                          "(corrupt optimizer state?)");
    }
    SECTION("a missing buffer, an extra one, and a different shape") {
        tensors.erase(tensors.begin() + 3);                        // h.0.mlp.c_fc.bias.exp_avg_sq
        tensors.push_back({"h.1.mlp.c_fc.bias.exp_avg", Tensor::zeros({4})});
        tensors[0].tensor = Tensor::zeros({3, 4});                 // h.0.mlp.c_fc.weight.exp_avg
        CHECK_THROWS_WITH(optimizer.load_state(tensors, metadata, "opt.safetensors"),
                          "[adamw] 'opt.safetensors' does not match the model's parameters: 1 missing "
                          "(h.0.mlp.c_fc.bias.exp_avg_sq); 1 unexpected (h.1.mlp.c_fc.bias.exp_avg); 1 with a "
                          "different shape (h.0.mlp.c_fc.weight.exp_avg expected (4, 3) found (3, 4)) (was it saved "
                          "with a different model configuration?)");
    }
    CHECK(optimizer.step_count() == 0);  // a failed load changes nothing
}

TEST_CASE("AdamW's OpenMP loop and the reference loop agree bit for bit", "[train][adamw]") {
    const int64_t rows = (1 << 15) / 3 + 1, n = rows * 3;  // just over the threshold where threads start
    auto make = [&] {
        std::vector<NamedTensor> p{{"big.weight", test::random_tensor({rows, 3}, 11, true)}};
        set_grad(p[0].tensor, test::random_tensor({n}, 12, false).to_vector());
        return p;
    };
    auto fast = make(), reference = make();
    AdamW a(fast), b(reference);
    a.step(1e-2f);
    {
        ReferenceKernelsGuard guard;
        b.step(1e-2f);
    }
    CHECK(bitwise_equal(fast[0].tensor, reference[0].tensor));
}

TEST_CASE("AdamW rejects options outside their range", "[train][adamw][errors]") {
    auto params = two_params(1);
    CHECK_THROWS_WITH(AdamW(params, {.beta2 = 1.0f}),
                      "[adamw] betas must be in [0, 1), found beta1 0.9 and beta2 1 (nanoGPT uses 0.9 and 0.95)");
    CHECK_THROWS_WITH(AdamW(params, {.eps = 0.0f}), "[adamw] eps must be positive, found 0 (the default is 1e-8)");
    AdamW optimizer(params);
    CHECK_THROWS_WITH(optimizer.step(-1.0f), "[adamw] learning rate must be finite and >= 0, found -1");
    std::vector<NamedTensor> twice{params[0], params[0]};
    CHECK_THROWS_WITH(AdamW(twice), "[adamw] parameter 'h.0.mlp.c_fc.weight' appears twice in the parameter list "
                                    "(names must be unique)");
}

TEST_CASE("SGD with momentum follows its update rule, with L2 decay on matrices only", "[train][sgd]") {
    std::vector<NamedTensor> params{{"w", Tensor::full({1, 1}, 1.0f, true)}, {"b", Tensor::full({1}, 1.0f, true)}};
    SgdMomentum optimizer(params, {.momentum = 0.9f, .weight_decay = 0.1f});
    // Step 1: w: g = 0.5 + 0.1 * 1 = 0.6, buf = 0.6, w = 1 - 0.1 * 0.6 = 0.94.  b: buf = 0.5, b = 0.95.
    for (NamedTensor& p : params) set_grad(p.tensor, {0.5f});
    optimizer.step(0.1f);
    CHECK_THAT(params[0].tensor.item(), WithinRel(0.94f, 1e-6f));
    CHECK_THAT(params[1].tensor.item(), WithinRel(0.95f, 1e-6f));
    // Step 2: w: g = 0.5 + 0.094 = 0.594, buf = 0.54 + 0.594 = 1.134, w = 0.94 - 0.1134 = 0.8266.
    //         b: buf = 0.45 + 0.5 = 0.95, b = 0.95 - 0.095 = 0.855.
    optimizer.step(0.1f);
    CHECK_THAT(params[0].tensor.item(), WithinRel(0.8266f, 1e-6f));
    CHECK_THAT(params[1].tensor.item(), WithinRel(0.855f, 1e-6f));
    CHECK(optimizer.state_tensors()[0].name == "w.momentum_buffer");
    CHECK(optimizer.state_metadata().at("optimizer") == "sgd_momentum");
}

TEST_CASE("SGD state restored continues bit for bit, and AdamW state is refused", "[train][sgd][resume]") {
    auto original = two_params(3), resumed = two_params(3);
    SgdMomentum a(original), b(resumed);
    for (int step = 0; step < 2; ++step) {
        fake_backward(original, step);
        fake_backward(resumed, step);
        a.step(0.05f);
    }
    for (size_t i = 0; i < original.size(); ++i) resumed[i].tensor.copy_from(original[i].tensor);
    b.load_state(a.state_tensors(), a.state_metadata(), "memory");
    fake_backward(original, 2);
    fake_backward(resumed, 2);
    a.step(0.05f);
    b.step(0.05f);
    for (size_t i = 0; i < original.size(); ++i) CHECK(bitwise_equal(original[i].tensor, resumed[i].tensor));

    AdamW adam(two_params(3));
    CHECK_THROWS_WITH(b.load_state(adam.state_tensors(), adam.state_metadata(), "opt.safetensors"),
                      ContainsSubstring("holds adamw state, but this run uses sgd_momentum"));
}
