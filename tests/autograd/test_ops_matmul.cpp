// matmul (2-D, batched x 2-D, batched x batched) and linear (x W^T + b, with and without bias).
#include "ops_testing.h"

using namespace bayun;

namespace {
Tensor iota(const Shape& shape, float start) {
    Tensor t = Tensor::empty(shape);
    for (int64_t i = 0; i < t.numel(); ++i) t.data()[i] = start + static_cast<float>(i);
    return t;
}
}  // namespace

TEST_CASE("matmul of two matrices", "[autograd][matmul]") {
    Tensor a = iota({2, 3}, 1);   // [[1 2 3] [4 5 6]]
    Tensor b = iota({3, 2}, 7);   // [[7 8] [9 10] [11 12]]
    Tensor c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 2});
    test::require_close(c, {58, 64, 139, 154});
}

TEST_CASE("matmul backward of two matrices: row sums of b and column sums of a", "[autograd][matmul]") {
    Tensor a = iota({2, 3}, 1).set_requires_grad();
    Tensor b = iota({3, 2}, 7).set_requires_grad();
    sum(matmul(a, b)).backward();
    test::require_close(a.grad(), {15, 19, 23, 15, 19, 23});  // da = 1 b^T
    test::require_close(b.grad(), {5, 5, 7, 7, 9, 9});        // db = a^T 1
}

TEST_CASE("matmul of a batch by one matrix treats the batch as more rows", "[autograd][matmul]") {
    Tensor a = iota({2, 2, 3}, 1);
    Tensor b = iota({3, 2}, 7);
    Tensor c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 2, 2});
    test::require_close(c, {58, 64, 139, 154, 220, 244, 301, 334});
    Tensor c4 = matmul(reshape(a, {2, 1, 2, 3}), b);
    CHECK(c4.shape() == Shape{2, 1, 2, 2});
    test::require_close(c4, {58, 64, 139, 154, 220, 244, 301, 334});
}

TEST_CASE("matmul of two batches multiplies matching slices", "[autograd][matmul]") {
    Tensor a = iota({2, 2, 3}, 1);
    Tensor b = Tensor::from({7, 8, 9, 10, 11, 12, 1, 0, 0, 1, 1, 1}, {2, 3, 2});
    Tensor c = matmul(a, b);
    CHECK(c.shape() == Shape{2, 2, 2});
    test::require_close(c, {58, 64, 139, 154, 16, 17, 22, 23});
    Tensor c4 = matmul(reshape(a, {1, 2, 2, 3}), reshape(b, {1, 2, 3, 2}));
    CHECK(c4.shape() == Shape{1, 2, 2, 2});
    test::require_close(c4, {58, 64, 139, 154, 16, 17, 22, 23});
}

TEST_CASE("linear computes x W^T + b with W stored (out, in)", "[autograd][matmul][linear]") {
    Tensor x = iota({2, 3}, 1);
    Tensor w = Tensor::from({1, 0, -1, 2, 1, 0}, {2, 3});
    Tensor b = Tensor::from({0.5f, -1}, {2});
    test::require_close(linear(x, w, b), {-1.5f, 3, -1.5f, 12});
    test::require_close(linear(x, w, Tensor()), {-2, 4, -2, 13});
    Tensor y = linear(reshape(Tensor::arange(24), {2, 2, 2, 3}), w, b);
    CHECK(y.shape() == Shape{2, 2, 2, 2});
    CHECK(y.at({1, 1, 1, 1}) == 2 * 21 + 22 - 1);
}

TEST_CASE("linear backward: dx = dy W, dW = dy^T x, dbias = row sums of dy", "[autograd][matmul][linear]") {
    Tensor x = iota({2, 3}, 1).set_requires_grad();
    Tensor w = Tensor::from({1, 0, -1, 2, 1, 0}, {2, 3}, true);
    Tensor b = Tensor::from({0.5f, -1}, {2}, true);
    sum(linear(x, w, b)).backward();
    test::require_close(x.grad(), {3, 1, -1, 3, 1, -1});  // column sums of W, per row
    test::require_close(w.grad(), {5, 7, 9, 5, 7, 9});    // column sums of x, per output
    test::require_close(b.grad(), {2, 2});
}

TEST_CASE("matmul backward matches finite differences", "[autograd][matmul]") {
    // Odd sizes leave rows and columns that do not fill the fast kernel's blocks.
    const auto [M, K, N] = GENERATE(table<int64_t, int64_t, int64_t>(
        {{1, 1, 1}, {3, 5, 7}, {4, 4, 4}, {5, 3, 1}, {7, 17, 3}, {17, 33, 5}, {33, 2, 9}}));
    INFO("(" << M << ", " << K << ") x (" << K << ", " << N << ")");
    Tensor a = test::random_tensor({M, K}, 31);
    Tensor b = test::random_tensor({K, N}, 32);
    test::require_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
}

TEST_CASE("batched matmul backward matches finite differences", "[autograd][matmul]") {
    const auto [shape_a, shape_b] = GENERATE(table<Shape, Shape>({
        {{2, 3, 5}, {5, 4}},
        {{3, 1, 7}, {7, 3}},
        {{2, 2, 5, 3}, {3, 7}},
        {{2, 5, 3}, {2, 3, 4}},
        {{3, 1, 3}, {3, 3, 17}},
        {{2, 2, 5, 3}, {2, 2, 3, 5}},
        {{1, 3, 4, 1}, {1, 3, 1, 4}},
    }));
    INFO(shape_str(shape_a) << " x " << shape_str(shape_b));
    Tensor a = test::random_tensor(shape_a, 33);
    Tensor b = test::random_tensor(shape_b, 34);
    test::require_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b});
}

TEST_CASE("linear backward matches finite differences, with and without bias", "[autograd][matmul][linear]") {
    const bool with_bias = GENERATE(true, false);
    const auto [x_shape, out] = GENERATE(table<Shape, int64_t>({
        {{1}, 1},
        {{3}, 5},
        {{7, 3}, 4},
        {{2, 5, 9}, 3},
        {{2, 2, 3, 4}, 7},
        {{17, 5}, 33},
    }));
    INFO(shape_str(x_shape) << " -> " << out << (with_bias ? " with bias" : " without bias"));
    Tensor x = test::random_tensor(x_shape, 35);
    Tensor w = test::random_tensor({out, x_shape.back()}, 36);
    Tensor b = test::random_tensor({out}, 37);
    if (with_bias)
        test::require_gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
    else
        test::require_gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1], Tensor()); }, {x, w});
}

TEST_CASE("matmul of a matrix by itself gets both gradients", "[autograd][matmul]") {
    // d sum(x x) / dx = 1 x^T + x^T 1: dx[i, k] = (row sum k of x) + (column sum i of x)
    Tensor x = Tensor::from({1, 2, 3, 4}, {2, 2}, true);
    sum(matmul(x, x)).backward();
    test::require_close(x.grad(), {3 + 4, 7 + 4, 3 + 6, 7 + 6});
    Tensor y = test::random_tensor({2, 5, 5}, 46);
    test::require_gradcheck([](const std::vector<Tensor>& in) { return matmul(in[0], in[0]); }, {y});
}

TEST_CASE("linear equals matmul by the transposed weight plus the bias", "[autograd][matmul][linear]") {
    Tensor x = test::random_tensor({3, 5, 7}, 38, false);
    Tensor w = test::random_tensor({6, 7}, 39, false);
    Tensor b = test::random_tensor({6}, 40, false);
    test::require_close(linear(x, w, b), add(matmul(x, transpose(w)), b), 1e-5, 1e-6);
}

TEST_CASE("matmul and linear fast kernels agree with the reference loops", "[autograd][matmul][kernels]") {
    // Big enough that gemm_fast packs and goes parallel, with rows and columns left over from its tiles.
    Tensor a = test::random_tensor({3, 33, 67}, 41);  // 99 rows x 45 x 67
    Tensor b = test::random_tensor({67, 45}, 42);
    Tensor bb = test::random_tensor({3, 67, 45}, 43);
    Tensor w = test::random_tensor({45, 67}, 44);
    Tensor bias = test::random_tensor({45}, 45);
    test::require_kernels_agree([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, b}, 1e-5, 1e-5);
    test::require_kernels_agree([](const std::vector<Tensor>& in) { return matmul(in[0], in[1]); }, {a, bb}, 1e-5, 1e-5);
    test::require_kernels_agree([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); },
                                {a, w, bias}, 1e-5, 1e-5);
}

TEST_CASE("an empty inner dimension gives zeros (and the bias, for linear)", "[autograd][matmul][linear]") {
    { Tensor junk = Tensor::full({2, 3}, 7.0f); }  // a recycled buffer may still hold old values
    test::require_close(matmul(Tensor::zeros({2, 0}), Tensor::zeros({0, 3})), std::vector<float>(6, 0.0f));
    { Tensor junk = Tensor::full({2, 3}, 7.0f); }
    test::require_close(linear(Tensor::zeros({2, 0}), Tensor::zeros({3, 0}), Tensor()), std::vector<float>(6, 0.0f));
    { Tensor junk = Tensor::full({2, 3}, 7.0f); }
    test::require_close(linear(Tensor::zeros({2, 0}), Tensor::zeros({3, 0}), Tensor::from({1, 2, 3}, {3})),
                        {1, 2, 3, 1, 2, 3});
}

TEST_CASE("matmul and linear shape errors name the op and both shapes", "[autograd][matmul][errors]") {
    REQUIRE_THROWS_WITH(matmul(Tensor::ones({2, 3, 4}), Tensor::ones({3, 4, 5})),
                        "[matmul] batch dims differ: a (2, 3, 4) vs b (3, 4, 5) (expected (..., M, K) x (K, N) or "
                        "(..., M, K) x (..., K, N))");
    REQUIRE_THROWS_WITH(matmul(Tensor::ones({4}), Tensor::ones({4, 2})),
                        ContainsSubstring("[matmul] both operands need at least 2 dimensions: a (4,) vs b (4, 2)"));
    REQUIRE_THROWS_WITH(matmul(Tensor::ones({2, 3}), Tensor::ones({2, 3, 4})),
                        ContainsSubstring("[matmul] batch dims differ: a (2, 3) vs b (2, 3, 4)"));
    REQUIRE_THROWS_WITH(linear(Tensor::ones({2, 5}), Tensor::ones({3, 4}), Tensor()),
                        "[linear] input's last dim must equal the weight's in_features: x (2, 5) vs weight (3, 4) "
                        "(out, in)");
    REQUIRE_THROWS_WITH(linear(Tensor::ones({2, 4}), Tensor::ones({3, 4}), Tensor::ones({4})),
                        "[linear] bias must be (3,) to match weight (3, 4), found (4,)");
    REQUIRE_THROWS_WITH(linear(Tensor::ones({2, 4}), Tensor::ones({4}), Tensor()),
                        "[linear] weight must be (out, in), found (4,)");
}
