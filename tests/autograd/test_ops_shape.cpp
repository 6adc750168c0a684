// Shape ops: reshape (a view, one dim may be -1), transpose, permute, split and concat along the last axis.
#include "ops_testing.h"

using namespace bayun;

TEST_CASE("reshape is a view that infers one -1 dimension", "[autograd][shape]") {
    Tensor x = Tensor::arange(6);
    Tensor y = reshape(x, {3, -1});
    CHECK(y.shape() == Shape{3, 2});
    CHECK(y.at({2, 1}) == 5.0f);
    CHECK(reshape(x, {-1}).shape() == Shape{6});
    CHECK(reshape(x, {1, 2, -1, 1}).shape() == Shape{1, 2, 3, 1});
    x.data()[5] = 50.0f;  // shares the values
    CHECK(y.at({2, 1}) == 50.0f);
    CHECK(reshape(Tensor::scalar(4.0f), {1, 1}).shape() == Shape{1, 1});
    CHECK(reshape(Tensor::zeros({2, 0}), {0, 5}).shape() == Shape{0, 5});
}

TEST_CASE("reshape backward passes the gradient through in element order", "[autograd][shape]") {
    const auto [from, to] = GENERATE(table<Shape, Shape>({
        {{6}, {2, 3}},
        {{2, 3, 4}, {4, -1}},
        {{1}, {}},
        {{2, 3, 5}, {-1}},
        {{2, 2, 3, 3}, {2, 3, 2, 3}},
    }));
    INFO(shape_str(from) << " -> " << shape_str(to));
    Tensor x = test::random_tensor(from, 61);
    test::require_gradcheck([&](const std::vector<Tensor>& in) { return reshape(in[0], to); }, {x});
}

TEST_CASE("transpose swaps the last two dimensions", "[autograd][shape]") {
    Tensor x = reshape(Tensor::arange(6), {2, 3});
    Tensor t = transpose(x);
    CHECK(t.shape() == Shape{3, 2});
    test::require_close(t, {0, 3, 1, 4, 2, 5});
    Tensor x3 = reshape(Tensor::arange(12), {2, 2, 3});
    Tensor t3 = transpose(x3);
    CHECK(t3.shape() == Shape{2, 3, 2});
    test::require_close(t3, {0, 3, 1, 4, 2, 5, 6, 9, 7, 10, 8, 11});
}

TEST_CASE("permute moves dimensions: result dim i is dim order(i) of x", "[autograd][shape]") {
    Tensor x = reshape(Tensor::arange(24), {2, 3, 4});
    Tensor p = permute(x, {2, 0, 1});
    CHECK(p.shape() == Shape{4, 2, 3});
    for (int64_t i = 0; i < 2; ++i)
        for (int64_t j = 0; j < 3; ++j)
            for (int64_t k = 0; k < 4; ++k) CHECK(p.at({k, i, j}) == x.at({i, j, k}));
    // Heads: (B, T, H, D) -> (B, H, T, D) and back is the identity.
    Tensor h = reshape(Tensor::arange(2 * 3 * 2 * 4), {2, 3, 2, 4});
    Tensor heads = permute(h, {0, 2, 1, 3});
    CHECK(heads.shape() == Shape{2, 2, 3, 4});
    CHECK(heads.at({1, 1, 2, 3}) == h.at({1, 2, 1, 3}));
    test::require_close(permute(heads, {0, 2, 1, 3}), h);
    test::require_close(permute(x, {0, 1, 2}), x);
}

TEST_CASE("transpose and permute backward match finite differences", "[autograd][shape]") {
    const auto [shape, order] = GENERATE(table<Shape, std::vector<int>>({
        {{1, 1}, {}},
        {{3, 7}, {}},
        {{2, 3, 5}, {}},
        {{2, 3, 2, 5}, {}},
        {{3, 7}, {1, 0}},
        {{2, 3, 5}, {2, 0, 1}},
        {{2, 3, 2, 5}, {0, 2, 1, 3}},
        {{2, 1, 3, 5}, {3, 1, 0, 2}},
        {{17}, {0}},
    }));
    INFO(shape_str(shape) << (order.empty() ? " transpose" : " permute"));
    Tensor x = test::random_tensor(shape, 62);
    test::require_gradcheck(
        [&](const std::vector<Tensor>& in) { return order.empty() ? transpose(in[0]) : permute(in[0], order); }, {x});
}

TEST_CASE("split cuts the last axis into pieces and concat joins them back", "[autograd][shape]") {
    Tensor x = reshape(Tensor::arange(10), {2, 5});
    std::vector<Tensor> parts = split(x, {2, 3});
    REQUIRE(parts.size() == 2);
    CHECK(parts[0].shape() == Shape{2, 2});
    CHECK(parts[1].shape() == Shape{2, 3});
    test::require_close(parts[0], {0, 1, 5, 6});
    test::require_close(parts[1], {2, 3, 4, 7, 8, 9});
    test::require_close(concat(parts), x);
    Tensor joined = concat({parts[1], parts[0]});
    CHECK(joined.shape() == Shape{2, 5});
    test::require_close(joined, {2, 3, 4, 0, 1, 7, 8, 9, 5, 6});
    // Q, K, V from the fused projection (B, T, 3C).
    std::vector<Tensor> qkv = split(reshape(Tensor::arange(2 * 3 * 6), {2, 3, 6}), {2, 2, 2});
    CHECK(qkv[2].shape() == Shape{2, 3, 2});
    CHECK(qkv[2].at({1, 2, 1}) == 35.0f);
}

TEST_CASE("split backward routes each piece's gradient to its columns", "[autograd][shape]") {
    Tensor x = Tensor::zeros({2, 4}, true);
    std::vector<Tensor> parts = split(x, {1, 2, 1});
    sum(mul(parts[1], Tensor::from({1, 2, 3, 4}, {2, 2}))).backward();  // parts 0 and 2 unused
    test::require_close(x.grad(), {0, 1, 2, 0, 0, 3, 4, 0});
}

TEST_CASE("split and concat backward match finite differences", "[autograd][shape]") {
    const Shape lead = GENERATE(Shape{}, Shape{1}, Shape{3}, Shape{2, 3}, Shape{2, 1, 3});
    INFO("leading dims " << shape_str(lead));
    Shape shape = lead;
    shape.push_back(7);
    Tensor x = test::random_tensor(shape, 63);
    // Pieces reordered, one dropped, one used twice: each column of x gets its own mix of gradients.
    test::require_gradcheck(
        [](const std::vector<Tensor>& in) {
            std::vector<Tensor> p = split(in[0], {3, 1, 2, 1});
            return concat({p[2], p[0], p[3], p[0]});
        },
        {x});
    const auto with_width = [&](int64_t width, uint64_t seed) {
        Shape s = lead;
        s.push_back(width);
        return test::random_tensor(s, seed);
    };
    test::require_gradcheck([](const std::vector<Tensor>& in) { return concat(in); },
                            {with_width(1, 64), with_width(3, 65), with_width(17, 66)});
}

TEST_CASE("shape op errors name the op and the shapes", "[autograd][shape][errors]") {
    Tensor x = Tensor::ones({2, 3});
    REQUIRE_THROWS_WITH(reshape(x, {4, -1}), "[reshape] cannot view (2, 3) (6 elements) as (4, -1)");
    REQUIRE_THROWS_WITH(reshape(x, {5}), "[reshape] cannot view (2, 3) (6 elements) as (5,)");
    REQUIRE_THROWS_WITH(reshape(x, {-1, -1}), "[reshape] only one dimension may be -1, found shape (-1, -1)");
    REQUIRE_THROWS_WITH(reshape(Tensor::zeros({0}), {0, -1}), "[reshape] cannot view (0,) (0 elements) as (0, -1)");
    REQUIRE_THROWS_WITH(reshape(x, {-2, -3}),  // (-2) * (-3) = 6 elements, but not a shape
                        "[reshape] cannot view (2, 3) (6 elements) as (-2, -3) (sizes must be >= 0, or -1 once to "
                        "infer)");
    REQUIRE_THROWS_WITH(transpose(Tensor::ones({3})), "[transpose] needs at least 2 dimensions, found (3,)");
    REQUIRE_THROWS_WITH(permute(Tensor::ones({2, 3, 4}), {0, 0, 1}),
                        "[permute] order (0, 0, 1) is not a permutation of the 3 dimensions of (2, 3, 4)");
    REQUIRE_THROWS_WITH(permute(x, {1, 0, 2}),
                        "[permute] order (1, 0, 2) is not a permutation of the 2 dimensions of (2, 3)");
    REQUIRE_THROWS_WITH(split(Tensor::ones({2, 5}), {2, 2}),
                        "[split] sizes (2, 2) add up to 4 but the last dim of (2, 5) is 5");
    REQUIRE_THROWS_WITH(split(Tensor::scalar(1.0f), {1}), "[split] cannot split a scalar");
    REQUIRE_THROWS_WITH(split(Tensor::ones({2, 5}), {-1, 6}),  // adds up to 5, but not a split
                        "[split] sizes (-1, 6) must not be negative (splitting the last dim of (2, 5))");
    REQUIRE_THROWS_WITH(concat({Tensor::ones({2, 3}), Tensor::ones({3, 3})}),
                        "[concat] all tensors must share every dimension but the last: (2, 3) vs (3, 3)");
    REQUIRE_THROWS_WITH(concat({}), "[concat] needs at least one tensor");
}
