// Golden values from PyTorch (float32): tests/golden/ops.json, written by tools/make_golden_ops.py.
// Each case gives an op, its inputs and params, torch's forward output, and torch's gradients of every input
// for loss = sum(output * projection). We replay it and require agreement within 1e-5 relative (1e-6
// absolute near zero). The last case composes a causal self-attention layer and its cross-entropy.
#include "ops_testing.h"

#include <cmath>
#include <set>

using namespace bayun;
using nlohmann::json;

namespace {

// The same expression as attention_loss in tools/make_golden_ops.py, with bayun's ops.
Tensor attention_cross_entropy(const std::vector<Tensor>& in, int64_t heads, std::span<const int32_t> targets) {
    const Tensor& x = in[0];  // (B, T, C)
    const int64_t B = x.size(0), T = x.size(1), C = x.size(2), D = C / heads;
    const auto split_heads = [&](const Tensor& t) {  // (B, T, C) -> (B, H, T, D)
        return permute(reshape(t, {B, T, heads, D}), {0, 2, 1, 3});
    };
    Tensor q = split_heads(linear(x, in[1], Tensor()));
    Tensor k = split_heads(linear(x, in[2], Tensor()));
    Tensor v = split_heads(linear(x, in[3], Tensor()));
    Tensor scores = div(matmul(q, transpose(k)), Tensor::scalar(std::sqrt(static_cast<float>(D))));  // (B, H, T, T)
    Tensor weights = softmax(scores, true);
    Tensor y = reshape(permute(matmul(weights, v), {0, 2, 1, 3}), {B, T, C});
    Tensor logits = linear(y, in[4], in[5]);  // (B, T, V)
    return cross_entropy(logits, targets);
}

Tensor apply(const std::string& op, const std::vector<Tensor>& in, const json& params) {
    if (op == "add") return add(in[0], in[1]);
    if (op == "sub") return sub(in[0], in[1]);
    if (op == "mul") return mul(in[0], in[1]);
    if (op == "div") return div(in[0], in[1]);
    if (op == "add_scalar") return add(in[0], params.at("scalar").get<float>());
    if (op == "mul_scalar") return mul(in[0], params.at("scalar").get<float>());
    if (op == "neg") return neg(in[0]);
    if (op == "exp") return exp(in[0]);
    if (op == "log") return log(in[0]);
    if (op == "tanh") return tanh(in[0]);
    if (op == "relu") return relu(in[0]);
    if (op == "gelu") return gelu(in[0]);
    if (op == "sum" || op == "mean") {
        const bool is_sum = op == "sum";
        if (params.at("axis").is_null()) return is_sum ? sum(in[0]) : mean(in[0]);
        const int axis = params.at("axis").get<int>();
        const bool keepdim = params.at("keepdim").get<bool>();
        return is_sum ? sum(in[0], axis, keepdim) : mean(in[0], axis, keepdim);
    }
    if (op == "matmul") return matmul(in[0], in[1]);
    if (op == "linear") return linear(in[0], in[1], in.size() == 3 ? in[2] : Tensor());
    if (op == "reshape") return reshape(in[0], params.at("shape").get<Shape>());
    if (op == "transpose") return transpose(in[0]);
    if (op == "permute") return permute(in[0], params.at("order").get<std::vector<int>>());
    if (op == "split")
        return split(in[0], params.at("sizes").get<std::vector<int64_t>>()).at(params.at("index").get<size_t>());
    if (op == "concat") return concat(in);
    if (op == "softmax") return softmax(in[0], params.at("causal").get<bool>());
    if (op == "log_softmax") return log_softmax(in[0]);
    if (op == "cross_entropy") return cross_entropy(in[0], params.at("targets").get<std::vector<int32_t>>());
    if (op == "layer_norm") return layer_norm(in[0], in[1], in[2], params.at("eps").get<float>());
    if (op == "embedding")
        return embedding(in[0], params.at("ids").get<std::vector<int32_t>>(), params.at("ids_shape").get<Shape>());
    if (op == "attention_cross_entropy")
        return attention_cross_entropy(in, params.at("heads").get<int64_t>(),
                                       params.at("targets").get<std::vector<int32_t>>());
    FAIL("golden case with an op this test does not know: " << op);
    return Tensor();
}

// Replays one case: forward output, then every input's gradient of sum(output * projection).
void check_case(const json& c, size_t index) {
    const std::string op = c.at("op").get<std::string>();
    INFO("case " << index << ": " << op << " " << c.at("params").dump());
    std::vector<Tensor> inputs;
    for (const json& t : c.at("inputs")) inputs.push_back(test::tensor_from_json(t).set_requires_grad());
    Tensor out = apply(op, inputs, c.at("params"));
    test::require_close(out, test::tensor_from_json(c.at("output")), 1e-5, 1e-6, op + " output");
    sum(mul(out, test::tensor_from_json(c.at("projection")))).backward();
    REQUIRE(c.at("grads").size() == inputs.size());
    for (size_t i = 0; i < inputs.size(); ++i) {
        REQUIRE(inputs[i].has_grad());
        test::require_close(inputs[i].grad(), test::tensor_from_json(c.at("grads")[i]), 1e-5, 1e-6,
                            fmt::format("{} gradient of input {}", op, i));
    }
}

// Replays every case whose op is in `ops`; requires at least one.
void check_cases(const std::set<std::string>& ops) {
    const json golden = test::load_golden("ops.json");
    size_t checked = 0;
    const json& cases = golden.at("cases");
    for (size_t i = 0; i < cases.size(); ++i) {
        if (!ops.count(cases[i].at("op").get<std::string>())) continue;
        check_case(cases[i], i);
        ++checked;
    }
    CHECK(checked > 0);
}

}  // namespace

TEST_CASE("the golden file covers every op", "[autograd][golden]") {
    const json golden = test::load_golden("ops.json");
    std::set<std::string> found;
    for (const json& c : golden.at("cases")) found.insert(c.at("op").get<std::string>());
    const std::set<std::string> expected{
        "add", "sub", "mul", "div", "add_scalar", "mul_scalar", "neg", "exp", "log", "tanh", "relu", "gelu",
        "sum", "mean", "matmul", "linear", "reshape", "transpose", "permute", "split", "concat", "softmax",
        "log_softmax", "cross_entropy", "layer_norm", "embedding", "attention_cross_entropy"};
    CHECK(found == expected);
}

TEST_CASE("elementwise ops match PyTorch", "[autograd][golden][elementwise]") {
    check_cases({"add", "sub", "mul", "div", "add_scalar", "mul_scalar", "neg", "exp", "log", "tanh", "relu", "gelu"});
}

TEST_CASE("sum and mean match PyTorch", "[autograd][golden][reduce]") { check_cases({"sum", "mean"}); }

TEST_CASE("matmul and linear match PyTorch", "[autograd][golden][matmul]") { check_cases({"matmul", "linear"}); }

TEST_CASE("shape ops match PyTorch", "[autograd][golden][shape]") {
    check_cases({"reshape", "transpose", "permute", "split", "concat"});
}

TEST_CASE("softmax and log_softmax match PyTorch, causal with Tq < Tk too", "[autograd][golden][softmax]") {
    check_cases({"softmax", "log_softmax"});
}

TEST_CASE("cross_entropy with ignore_index matches PyTorch", "[autograd][golden][loss]") {
    check_cases({"cross_entropy"});
}

TEST_CASE("layer_norm matches PyTorch", "[autograd][golden][layernorm]") { check_cases({"layer_norm"}); }

TEST_CASE("embedding with repeated ids matches PyTorch", "[autograd][golden][embedding]") {
    check_cases({"embedding"});
}

TEST_CASE("cross-entropy of causal self-attention matches PyTorch, loss and every leaf's gradient",
          "[autograd][golden][attention]") {
    check_cases({"attention_cross_entropy"});
}

TEST_CASE("the golden attention case also passes under the reference kernels", "[autograd][golden][kernels]") {
    ReferenceKernelsGuard guard;
    check_cases({"attention_cross_entropy", "matmul", "linear"});
}
