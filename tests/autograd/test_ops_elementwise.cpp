// Elementwise ops: add, sub, mul, div with broadcasting, scalar add and mul, neg, exp, log, tanh, relu, gelu.
// Forward against hand-computed values, backward against finite differences, fast against reference.
#include "ops_testing.h"

#include <cmath>

using namespace bayun;

namespace {

Tensor apply_binary(const std::string& op, const Tensor& a, const Tensor& b) {
    if (op == "add") return add(a, b);
    if (op == "sub") return sub(a, b);
    if (op == "mul") return mul(a, b);
    return div(a, b);
}

Tensor apply_unary(const std::string& op, const Tensor& x) {
    if (op == "neg") return neg(x);
    if (op == "exp") return exp(x);
    if (op == "log") return log(x);
    if (op == "tanh") return tanh(x);
    if (op == "relu") return relu(x);
    if (op == "gelu") return gelu(x);
    if (op == "add_scalar") return add(x, 0.75f);
    return mul(x, -1.5f);  // mul_scalar
}

}  // namespace

TEST_CASE("add, sub, mul and div compute elementwise values", "[autograd][elementwise]") {
    Tensor a = Tensor::from({1, 2, 3, 4}, {2, 2});
    Tensor b = Tensor::from({0.5f, -1, 2, 8}, {2, 2});
    test::require_close(add(a, b), {1.5f, 1, 5, 12});
    test::require_close(sub(a, b), {0.5f, 3, 1, -4});
    test::require_close(mul(a, b), {0.5f, -2, 6, 32});
    test::require_close(div(a, b), {2, -2, 1.5f, 0.5f});
    test::require_close(a + b, {1.5f, 1, 5, 12});
    test::require_close(a - b, {0.5f, 3, 1, -4});
    test::require_close(a * b, {0.5f, -2, 6, 32});
    test::require_close(a / b, {2, -2, 1.5f, 0.5f});
}

TEST_CASE("a bias (C) broadcasts over the rows of (B, T, C), on either side", "[autograd][elementwise]") {
    Tensor x = reshape(Tensor::arange(12), {2, 2, 3});
    Tensor bias = Tensor::from({10, 20, 30}, {3});
    Tensor y = add(x, bias);
    CHECK(y.shape() == Shape{2, 2, 3});
    test::require_close(y, {10, 21, 32, 13, 24, 35, 16, 27, 38, 19, 30, 41});
    test::require_close(sub(bias, x), {10, 19, 28, 7, 16, 25, 4, 13, 22, 1, 10, 19});
    test::require_close(div(x, bias), {0.0f, 0.05f, 2.0f / 30, 0.3f, 0.2f, 5.0f / 30, 0.6f, 0.35f, 8.0f / 30,
                                       0.9f, 0.5f, 11.0f / 30});
}

TEST_CASE("the broadcast operand's gradient sums over the repeated rows", "[autograd][elementwise]") {
    Tensor x = reshape(Tensor::arange(6), {2, 3}).detach().set_requires_grad();
    Tensor w = Tensor::from({1, -1, 2}, {3}, true);
    sum(mul(x, w)).backward();
    test::require_close(w.grad(), {0 + 3, 1 + 4, 2 + 5});  // column sums of x
    test::require_close(x.grad(), {1, -1, 2, 1, -1, 2});   // w repeated per row

    Tensor b = Tensor::from({1, 2}, {2}, true);
    Tensor a = Tensor::from({3, 4, 5, 6}, {2, 2}, true);
    sum(sub(b, a)).backward();  // b is the smaller, left operand
    test::require_close(b.grad(), {2, 2});
    test::require_close(a.grad(), {-1, -1, -1, -1});
}

TEST_CASE("a scalar tensor broadcasts to every element", "[autograd][elementwise]") {
    Tensor x = Tensor::from({1, 2, 3, 4, 5, 6}, {2, 3}, true);
    Tensor s = Tensor::scalar(2.0f, true);
    Tensor y = mul(x, s);
    CHECK(y.shape() == Shape{2, 3});
    test::require_close(y, {2, 4, 6, 8, 10, 12});
    sum(y).backward();
    test::require_close(s.grad(), {21});
    test::require_close(x.grad(), {2, 2, 2, 2, 2, 2});
}

TEST_CASE("scalar add and mul and their operators", "[autograd][elementwise]") {
    Tensor x = Tensor::from({-1, 0, 2}, {3}, true);
    test::require_close(add(x, 1.5f), {0.5f, 1.5f, 3.5f});
    test::require_close(mul(x, -2.0f), {2, 0, -4});
    test::require_close(x - 1.0f, {-2, -1, 1});
    test::require_close(x / 4.0f, {-0.25f, 0, 0.5f});
    test::require_close(3.0f * x, {-3, 0, 6});
    test::require_close(-x, {1, 0, -2});
    sum(mul(add(x, 1.0f), 3.0f)).backward();  // d/dx 3 (x + 1) = 3
    test::require_close(x.grad(), {3, 3, 3});
}

TEST_CASE("unary ops compute their textbook values", "[autograd][elementwise]") {
    Tensor x = Tensor::from({-2, -0.5f, 0, 0.5f, 2}, {5});
    test::require_close(neg(x), {2, 0.5f, 0, -0.5f, -2});
    test::require_close(exp(x), {0.1353352832f, 0.6065306597f, 1.0f, 1.6487212707f, 7.3890560989f});
    test::require_close(tanh(x), {-0.9640275801f, -0.4621171573f, 0.0f, 0.4621171573f, 0.9640275801f});
    test::require_close(relu(x), {0, 0, 0, 0.5f, 2});
    // GPT-2's gelu, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    test::require_close(gelu(x), {-0.04540230591f, -0.15428599017f, 0.0f, 0.34571400983f, 1.95459769409f});
    Tensor p = Tensor::from({0.5f, 1, 2, std::exp(1.0f)}, {4});
    test::require_close(log(p), {-0.6931471806f, 0.0f, 0.6931471806f, 1.0f});
}

TEST_CASE("unary op derivatives match their formulas at known points", "[autograd][elementwise]") {
    const std::vector<float> points{-2, -0.5f, 0.5f, 2};
    const auto grad_of = [&](Tensor (*op)(const Tensor&)) {
        Tensor x = Tensor::from(points, {4}, true);
        sum(op(x)).backward();
        return x.grad();
    };
    test::require_close(grad_of(exp), {0.1353352832f, 0.6065306597f, 1.6487212707f, 7.3890560989f});
    test::require_close(grad_of(tanh), {0.0706508249f, 0.7864477329f, 0.7864477329f, 0.0706508249f});
    test::require_close(grad_of(relu), {0, 0, 1, 1});
    test::require_close(grad_of(neg), {-1, -1, -1, -1});
    test::require_close(grad_of(gelu), {-0.08609925662f, 0.13263009647f, 0.86736990353f, 1.08609925662f});
    Tensor p = Tensor::from({0.5f, 1, 4}, {3}, true);
    sum(log(p)).backward();
    test::require_close(p.grad(), {2, 1, 0.25f});
}

TEST_CASE("relu's gradient at exactly 0 is 0, as in PyTorch", "[autograd][elementwise]") {
    Tensor x = Tensor::from({-1, 0, 3}, {3}, true);
    sum(relu(x)).backward();
    test::require_close(x.grad(), {0, 0, 1});
}

TEST_CASE("binary op backward matches finite differences", "[autograd][elementwise]") {
    const std::string op = GENERATE("add", "sub", "mul", "div");
    const auto [shape_a, shape_b] = GENERATE(table<Shape, Shape>({
        {{1}, {1}},
        {{3}, {3}},
        {{7, 3}, {3}},
        {{3}, {7, 3}},
        {{2, 3, 17}, {17}},
        {{2, 3, 5}, {3, 5}},
        {{33}, {33}},
        {{5, 3}, {}},
        {{}, {2, 7}},
    }));
    INFO(op << " of a " << shape_str(shape_a) << " and b " << shape_str(shape_b));
    Tensor a = test::random_tensor(shape_a, 1);
    Tensor b = op == "div" ? test::away_from_zero(shape_b, 2, 0.5f, 1.5f) : test::random_tensor(shape_b, 2);
    test::require_gradcheck([&](const std::vector<Tensor>& in) { return apply_binary(op, in[0], in[1]); }, {a, b});
}

TEST_CASE("a tensor used as both operands gets both gradients", "[autograd][elementwise]") {
    Tensor x = Tensor::from({1, -2, 3}, {3}, true);
    sum(div(x, x)).backward();  // x / x = 1, gradient 1/x - x/x^2 = 0
    test::require_close(x.grad(), {0, 0, 0});
    x.zero_grad();
    sum(sub(mul(x, x), x)).backward();  // x^2 - x: 2x - 1
    test::require_close(x.grad(), {1, -5, 5});
}

TEST_CASE("unary op backward matches finite differences", "[autograd][elementwise]") {
    const std::string op = GENERATE("neg", "exp", "log", "tanh", "relu", "gelu", "add_scalar", "mul_scalar");
    const Shape shape = GENERATE(Shape{1}, Shape{3}, Shape{7, 3}, Shape{2, 3, 17}, Shape{33}, Shape{2, 1, 3, 3});
    INFO(op << " of " << shape_str(shape));
    // log needs positive inputs; relu needs inputs away from its kink. The others take any value in +-[0.1, 2).
    Tensor x = test::away_from_zero(shape, 3, 0.1f, 2.0f, op == "log");
    test::require_gradcheck([&](const std::vector<Tensor>& in) { return apply_unary(op, in[0]); }, {x});
}

TEST_CASE("elementwise fast kernels agree with the reference loops", "[autograd][elementwise][kernels]") {
    // 64 x 520 = 33,280 elements: above the 32,768 at which the fast path spreads the loop over threads.
    // b is broadcast like a bias, or the same shape as a (a residual add, cut into 4096-value chunks and
    // a partial last one).
    const std::string op = GENERATE("add", "mul", "div", "gelu", "exp", "tanh");
    const Shape b_shape = GENERATE(Shape{520}, Shape{64, 520});
    INFO(op << " with b " << shape_str(b_shape));
    Tensor a = test::away_from_zero({64, 520}, 4, 0.5f, 1.5f);
    Tensor b = test::away_from_zero(b_shape, 5, 0.5f, 1.5f);
    if (op == "add" || op == "mul" || op == "div")
        test::require_kernels_agree([&](const std::vector<Tensor>& in) { return apply_binary(op, in[0], in[1]); },
                                    {a, b});
    else
        test::require_kernels_agree([&](const std::vector<Tensor>& in) { return apply_unary(op, in[0]); }, {a});
}

TEST_CASE("a large residual add passes every element of its gradient to both inputs", "[autograd][elementwise]") {
    // 33,280 elements, cut into 4096-value chunks for the threads, the last one partial: d(a + b)/da = 1.
    Tensor a = test::random_tensor({64, 520}, 6);
    Tensor b = test::random_tensor({64, 520}, 7);
    Tensor w = test::random_tensor({64, 520}, 8, false);
    sum(mul(add(a, b), w)).backward();
    const auto values = [](const Tensor& t) { return std::vector<float>(t.values().begin(), t.values().end()); };
    CHECK(values(a.grad()) == values(w));
    CHECK(values(b.grad()) == values(w));
}

TEST_CASE("a tensor that is both inputs of a product gets both gradients, the first written and the second added",
          "[autograd][elementwise]") {
    // d(x * x)/dx = 2x: the first gradient reaches a new (uninitialised) buffer, the second adds to it.
    Tensor x = test::random_tensor({64, 520}, 9);
    Tensor w = test::random_tensor({64, 520}, 10, false);
    sum(mul(mul(x, x), w)).backward();
    for (int64_t i = 0; i < x.numel(); ++i) REQUIRE(x.grad().data()[i] == 2.0f * x.data()[i] * w.data()[i]);
}

TEST_CASE("binary op shape errors name the op and both shapes", "[autograd][elementwise][errors]") {
    REQUIRE_THROWS_WITH(div(Tensor::ones({2, 3}), Tensor::ones({3, 2})),
                        "[div] shapes do not broadcast: a (2, 3) vs b (3, 2) (the smaller shape must equal the "
                        "trailing dimensions of the larger, like a bias (C) onto (B, T, C))");
    REQUIRE_THROWS_WITH(mul(Tensor::ones({4}), Tensor::ones({2, 3})),
                        ContainsSubstring("[mul] shapes do not broadcast: a (4,) vs b (2, 3)"));
    REQUIRE_THROWS_WITH(sub(Tensor::ones({6}), Tensor::ones({2, 3})),
                        ContainsSubstring("[sub] shapes do not broadcast: a (6,) vs b (2, 3)"));
    REQUIRE_THROWS_AS(add(Tensor::ones({2, 3}), Tensor::ones({2, 1})), Error);
}
