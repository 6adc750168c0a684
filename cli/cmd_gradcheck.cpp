// `bayun gradcheck`: finite-difference checks that learners can run themselves. `--ops` checks every
// differentiable op of the autograd engine on small random inputs and prints a table with a verdict.
#include "autograd/gradcheck.h"
#include "autograd/ops.h"
#include "autograd/rng.h"
#include "cli/commands.h"

#include <fmt/format.h>

#include <functional>

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

}  // namespace

int run_gradcheck(const Args& args) {
    po::options_description options("gradcheck options");
    options.add_options()
        ("help", "show these options")
        ("ops", "check every op of the autograd engine (the default until a model is given)")
        ("eps", po::value<float>()->default_value(1e-2f), "finite-difference step");
    po::variables_map vm;
    if (!parse("gradcheck", args, options, vm)) return 0;

    GradcheckOptions check;
    check.eps = vm["eps"].as<float>();
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

}  // namespace bayun::cli
