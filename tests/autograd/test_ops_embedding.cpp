// embedding: ids pick rows of the (V, C) table; backward scatter-adds, so repeated ids add up.
#include "ops_testing.h"

using namespace bayun;

TEST_CASE("embedding gathers one table row per id", "[autograd][embedding]") {
    Tensor wte = reshape(Tensor::arange(12), {4, 3});  // row v is 3v, 3v+1, 3v+2
    const std::vector<int32_t> ids{2, 0, 3};
    Tensor out = embedding(wte, ids, {3});
    CHECK(out.shape() == Shape{3, 3});
    test::require_close(out, {6, 7, 8, 0, 1, 2, 9, 10, 11});
    const std::vector<int32_t> batch{1, 1, 0, 3};
    Tensor bt = embedding(wte, batch, {2, 2});  // (B, T) ids -> (B, T, C)
    CHECK(bt.shape() == Shape{2, 2, 3});
    test::require_close(bt, {3, 4, 5, 3, 4, 5, 0, 1, 2, 9, 10, 11});
}

TEST_CASE("embedding backward scatter-adds: a repeated id gets the sum of its rows' gradients",
          "[autograd][embedding]") {
    Tensor wte = Tensor::zeros({4, 2}, true);
    const std::vector<int32_t> ids{2, 0, 2, 2};
    Tensor dout = Tensor::from({1, 2, 10, 20, 100, 200, 1000, 2000}, {4, 2});
    sum(mul(embedding(wte, ids, {4}), dout)).backward();
    test::require_close(wte.grad(), {10, 20, 0, 0, 1101, 2202, 0, 0});  // rows 1 and 3 unused: 0
}

TEST_CASE("embedding backward matches finite differences", "[autograd][embedding]") {
    const auto [V, C, ids_shape] = GENERATE(table<int64_t, int64_t, Shape>({
        {1, 1, {1}},
        {3, 5, {7}},
        {7, 3, {2, 5}},
        {17, 4, {3, 11}},
        {5, 33, {2, 2, 3}},
    }));
    INFO("table (" << V << ", " << C << "), ids " << shape_str(ids_shape));
    std::vector<int32_t> ids;
    for (int64_t i = 0; i < shape_numel(ids_shape); ++i) ids.push_back(static_cast<int32_t>((i * i + 3) % V));
    Tensor wte = test::random_tensor({V, C}, 111);
    test::require_gradcheck([&](const std::vector<Tensor>& in) { return embedding(in[0], ids, ids_shape); }, {wte});
}

TEST_CASE("embedding errors name the bad id and the table", "[autograd][embedding][errors]") {
    Tensor wte = Tensor::zeros({4, 3});
    const std::vector<int32_t> too_big{0, 4};
    REQUIRE_THROWS_WITH(embedding(wte, too_big, {2}),
                        "[embedding] id 4 is outside the table of 4 rows (token ids must be in [0, 4))");
    const std::vector<int32_t> negative{-1};
    REQUIRE_THROWS_WITH(embedding(wte, negative, {1}),
                        "[embedding] id -1 is outside the table of 4 rows (token ids must be in [0, 4))");
    const std::vector<int32_t> three{0, 1, 2};
    REQUIRE_THROWS_WITH(embedding(wte, three, {2, 2}), "[embedding] 3 ids do not fill shape (2, 2)");
    REQUIRE_THROWS_WITH(embedding(Tensor::zeros({12}), three, {3}), "[embedding] weight must be (V, C), found (12,)");
}
