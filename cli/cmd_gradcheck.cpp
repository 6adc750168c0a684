// `bayun gradcheck`: finite-difference checks that learners can run themselves. By default it builds a
// tiny GPT (2 layers, 2 heads, C = 8) and checks the gradient of every parameter, one table row each;
// `--ops` checks every differentiable op of the autograd engine on small random inputs instead.
// The hidden flag `--perturb NAME` adds a deliberate error to one parameter's gradient, so that the tests
// (and the curious) can see the check catch a wrong backward pass: that row says FAIL and the exit code is 1.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/rng.h"
#include "cli/commands.h"
#include "nn/gpt.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <iostream>

namespace bayun::cli {

namespace {

struct OpCase {
    const char* name;
    std::vector<Shape> shapes;
    std::function<Tensor(const std::vector<Tensor>&)> f;
    float low = -1.0f, high = 1.0f;  // input range (log needs positive inputs)
};

std::vector<OpCase> op_cases() {
    const std::vector<int32_t> ids{3, 0, 3, 1, 4, 2};
    return {
        {"add (broadcast)", {{2, 3, 5}, {5}}, [](auto& x) { return add(x[0], x[1]); }},
        {"sub", {{3, 4}, {3, 4}}, [](auto& x) { return sub(x[0], x[1]); }},
        {"mul (broadcast)", {{2, 3, 5}, {3, 5}}, [](auto& x) { return mul(x[0], x[1]); }},
        {"div", {{3, 4}, {4}}, [](auto& x) { return div(x[0], x[1]); }, 0.5f, 2.0f},
        {"exp", {{3, 4}}, [](auto& x) { return exp(x[0]); }},
        {"log", {{3, 4}}, [](auto& x) { return log(x[0]); }, 0.5f, 2.0f},
        {"tanh", {{3, 4}}, [](auto& x) { return tanh(x[0]); }},
        {"gelu", {{3, 4}}, [](auto& x) { return gelu(x[0]); }},
        {"sum (last axis)", {{2, 3, 4}}, [](auto& x) { return sum(x[0], -1); }},
        {"mean", {{2, 3, 4}}, [](auto& x) { return mean(x[0]); }},
        {"matmul (batched)", {{2, 3, 4}, {2, 4, 5}}, [](auto& x) { return matmul(x[0], x[1]); }},
        {"linear", {{2, 3, 4}, {5, 4}, {5}}, [](auto& x) { return linear(x[0], x[1], x[2]); }},
        {"permute + transpose", {{2, 3, 4, 5}}, [](auto& x) { return transpose(permute(x[0], {0, 2, 1, 3})); }},
        {"split + concat", {{3, 6}}, [](auto& x) {
             auto parts = split(x[0], {2, 1, 3});
             return concat({parts[2], mul(parts[0], 2.0f), parts[1]});
         }},
        {"softmax (causal)", {{2, 4, 4}}, [](auto& x) { return softmax(x[0], true); }},
        {"log_softmax", {{3, 5}}, [](auto& x) { return log_softmax(x[0]); }},
        {"cross_entropy", {{2, 3, 7}}, [](auto& x) {
             static const std::vector<int32_t> targets{1, 6, 0, 3, 3, 2};
             return cross_entropy(x[0], targets);
         }},
        {"layer_norm", {{2, 3, 6}, {6}, {6}}, [](auto& x) { return layer_norm(x[0], x[1], x[2]); }},
        {"embedding", {{5, 3}}, [ids](auto& x) { return embedding(x[0], ids, {2, 3}); }},
    };
}

int check_ops(const GradcheckOptions& check) {
    bool all_ok = true;
    fmt::print("{:<22} {:>8} {:>12} {:>12}  {}\n", "op", "checked", "max abs err", "max rel err", "verdict");
    uint64_t seed = 1;
    for (const OpCase& c : op_cases()) {
        std::vector<Tensor> inputs;
        Rng rng(seed++);
        for (const Shape& shape : c.shapes) inputs.push_back(Tensor::uniform(shape, rng, c.low, c.high, true));
        const auto results = gradcheck(c.f, inputs, check);
        int64_t checked = 0;
        double abs_err = 0, rel_err = 0;
        for (const auto& r : results) {
            checked += r.checked;
            abs_err = std::max(abs_err, r.max_abs_error);
            rel_err = std::max(rel_err, r.max_rel_error);
        }
        const bool ok = all_passed(results);
        all_ok = all_ok && ok;
        fmt::print("{:<22} {:>8} {:>12.3e} {:>12.3e}  {}\n", c.name, checked, abs_err, rel_err, ok ? "ok" : "FAIL");
    }
    fmt::print("{}\n", all_ok ? "all gradients agree with finite differences"
                               : "some gradients disagree with finite differences");
    return all_ok ? 0 : 1;
}

// The tiny model: big enough to have every kind of parameter (two blocks, so gradients flow through a
// residual stream into an earlier block), small enough to check every element in about a second.
nn::GPTConfig tiny_config() {
    nn::GPTConfig c;
    c.vocab_size = 11;
    c.block_size = 8;
    c.n_layer = 2;
    c.n_head = 2;
    c.n_embd = 8;
    c.dropout = 0.0f;  // finite differences need the same function at every evaluation
    return c;
}

// GPT-2's initialisation (std 0.02) makes every gradient tiny, and a tiny gradient passes any absolute
// tolerance even when it is wrong. Larger weights, non-trivial layer norms and non-zero biases make every
// path carry signal, so a wrong gradient anywhere shows up as a real difference.
void scale_for_checking(nn::GPT& model, uint64_t seed) {
    Rng rng(seed);
    for (NamedTensor& p : model.named_parameters()) {
        const bool is_bias = p.name.ends_with(".bias");
        const bool is_norm = p.name.find("ln_") != std::string::npos;
        for (float& v : p.tensor.values())
            v = is_bias ? 0.1f * rng.normal() : is_norm ? 1.0f + 0.2f * rng.normal() : 0.4f * rng.normal();
    }
}

int check_model(const GradcheckOptions& check, uint64_t seed, const std::string& perturb) {
    nn::GPT model(tiny_config(), seed);
    scale_for_checking(model, seed);
    model.eval();
    const std::vector<NamedTensor> params = model.named_parameters();  // labels are the dotted names
    std::vector<Tensor> inputs;
    Tensor perturbed;
    for (const NamedTensor& p : params) {
        inputs.push_back(p.tensor);
        if (p.name == perturb) perturbed = p.tensor;
    }
    if (!perturb.empty() && !perturbed.defined()) {
        std::string names;
        for (const NamedTensor& p : params) names += (names.empty() ? "" : ", ") + p.name;
        fail("gradcheck", "--perturb: no parameter named '{}' (the parameters are: {})", perturb, names);
    }

    // Two sequences of six tokens; each target is the next token, as in training.
    const int64_t B = 2, T = 6;
    const std::vector<int32_t> tokens{1, 4, 2, 8, 5, 7, 3, 9, 0, 6, 10, 2};
    const std::vector<int32_t> targets{4, 2, 8, 5, 7, 3, 9, 0, 6, 10, 2, 1};
    const auto loss_of = [&](const std::vector<Tensor>&) {
        Tensor loss = model.forward(tokens, B, T, targets).loss;
        if (perturbed.defined()) {
            // A term whose value is exactly 0 (the same sum computed twice) but whose gradient is 0.1 for every
            // element of the perturbed parameter: backward is now wrong by 0.1, finite differences see nothing.
            const Tensor c = Tensor::full(perturbed.shape(), 0.1f);
            loss = loss + (sum(mul(perturbed, c)) - sum(mul(perturbed.detach(), c)));
        }
        return loss;
    };

    const nn::GPTConfig& m = model.config();
    fmt::print("tiny GPT: {} layers, {} heads, C = {}, V = {}, {} parameters; loss on B x T = {} x {} tokens; eps {}\n",
               m.n_layer, m.n_head, m.n_embd, m.vocab_size, model.parameter_count(), B, T, check.eps);
    if (perturbed.defined()) fmt::print("perturbed: 0.1 added to every element of d(loss)/d({})\n", perturb);
    const std::vector<GradcheckResult> results = gradcheck(loss_of, inputs, check);
    fmt::print("{}", describe(results));
    const bool ok = all_passed(results);
    fmt::print("{}\n", ok ? "all gradients agree with finite differences: backpropagation is right"
                           : "some gradients disagree with finite differences (FAIL rows above)");
    return ok ? 0 : 1;
}

}  // namespace

int run_gradcheck(const Args& args) {
    po::options_description options("gradcheck options");
    options.add_options()
        ("help", "show these options")
        ("ops", "check every op of the autograd engine instead of the tiny model")
        ("eps", po::value<float>()->default_value(1e-2f), "finite-difference step")
        ("seed", po::value<uint64_t>()->default_value(1), "seed of the tiny model's weights");
    po::options_description hidden("testing options");
    hidden.add_options()("perturb", po::value<std::string>()->default_value(""),
                         "add a deliberate error to one parameter's gradient (for tests)");
    if (std::find(args.begin(), args.end(), "--help") != args.end()) {
        fmt::print("usage: bayun gradcheck [options]\n\n");
        std::cout << options;
        return 0;
    }
    po::options_description all;
    all.add(options).add(hidden);
    po::variables_map vm;
    if (!parse("gradcheck", args, all, vm)) return 0;

    GradcheckOptions check;
    check.eps = vm["eps"].as<float>();
    if (!(check.eps > 0.0f)) fail("gradcheck", "--eps must be > 0, found {}", check.eps);
    if (vm.count("ops")) return check_ops(check);
    return check_model(check, vm["seed"].as<uint64_t>(), vm["perturb"].as<std::string>());
}

}  // namespace bayun::cli
