// The backward engine: accumulation, grad mode, deep graphs, graph release, and its error messages.
#include "autograd/node.h"
#include "autograd/ops.h"
#include "support.h"

using namespace bayun;

TEST_CASE("a tensor used twice accumulates both gradients", "[autograd][engine]") {
    Tensor x = Tensor::from({1.0f, 2.0f, 3.0f}, {3}, true);
    Tensor y = sum(mul(x, x) + x);  // dy/dx = 2x + 1
    y.backward();
    test::require_close(x.grad(), {3.0f, 5.0f, 7.0f});
}

TEST_CASE("gradients of a leaf add up across backward calls until zero_grad", "[autograd][engine]") {
    Tensor x = Tensor::from({1.0f, -2.0f}, {2}, true);
    sum(x * 3.0f).backward();
    sum(x * 3.0f).backward();
    test::require_close(x.grad(), {6.0f, 6.0f});
    x.zero_grad();
    test::require_close(x.grad(), {0.0f, 0.0f});
}

TEST_CASE("no-grad mode records no graph", "[autograd][engine]") {
    Tensor x = Tensor::ones({2, 2}, true);
    NoGradGuard guard;
    Tensor y = mul(x, x);
    CHECK_FALSE(y.requires_grad());
    CHECK(y.grad_fn() == nullptr);
    CHECK_FALSE(grad_enabled());
}

TEST_CASE("grad mode comes back after a NoGradGuard scope", "[autograd][engine]") {
    { NoGradGuard guard; }
    CHECK(grad_enabled());
    Tensor x = Tensor::ones({2}, true);
    CHECK(mul(x, x).grad_fn() != nullptr);
}

TEST_CASE("ops on tensors that need no grad record nothing", "[autograd][engine]") {
    Tensor a = Tensor::ones({3});
    Tensor b = a + a;
    CHECK_FALSE(b.requires_grad());
    CHECK(b.grad_fn() == nullptr);
}

TEST_CASE("a 10,000-op chain runs backward and is released without stack overflow", "[autograd][engine]") {
    Tensor x = Tensor::from({0.5f}, {1}, true);
    Tensor y = x;
    for (int i = 0; i < 10000; ++i) y = y * 1.0001f;
    sum(y).backward();
    CHECK_THAT(x.grad().item(), WithinRel(std::pow(1.0001, 10000), 1e-3));
}

TEST_CASE("a deep chain dropped without backward is destroyed without recursion", "[autograd][engine]") {
    Tensor x = Tensor::from({0.5f}, {1}, true);
    {
        Tensor y = x;
        for (int i = 0; i < 200000; ++i) y = y + 1.0f;
    }
    CHECK(x.requires_grad());
}

TEST_CASE("backward frees the graph and the saved activations", "[autograd][engine]") {
    Tensor x = Tensor::ones({4}, true);
    Tensor h = exp(x);
    std::weak_ptr<Node> node = h.grad_fn();
    Tensor loss = sum(h);
    REQUIRE_FALSE(node.expired());
    loss.backward();
    CHECK(node.expired());
    CHECK(h.grad_fn() == nullptr);
    CHECK_FALSE(h.has_grad());  // intermediate gradients are dropped unless retain_grad()
    CHECK(x.has_grad());
}

TEST_CASE("retain_grad keeps an intermediate gradient", "[autograd][engine]") {
    Tensor x = Tensor::ones({3}, true);
    Tensor h = (x * 2.0f).retain_grad();
    sum(h * h).backward();
    test::require_close(h.grad(), {4.0f, 4.0f, 4.0f});
}

TEST_CASE("backward on a non-scalar names the shape", "[autograd][engine]") {
    Tensor x = Tensor::ones({2, 3}, true);
    Tensor y = x * 2.0f;
    REQUIRE_THROWS_WITH(y.backward(), ContainsSubstring("[backward] expected a scalar loss") &&
                                          ContainsSubstring("(2, 3)"));
}

TEST_CASE("shape mismatches name the op and both shapes", "[autograd][engine]") {
    Tensor a = Tensor::ones({4, 64, 128});
    Tensor b = Tensor::ones({256, 512});
    REQUIRE_THROWS_WITH(matmul(a, b), "[matmul] inner dims differ: a (4, 64, 128) vs b (256, 512) (expected "
                                      "(..., M, K) x (K, N) or (..., M, K) x (..., K, N))");
    REQUIRE_THROWS_WITH(add(Tensor::ones({2, 3}), Tensor::ones({2})),
                        ContainsSubstring("[add] shapes do not broadcast: a (2, 3) vs b (2,)"));
}

TEST_CASE("copies alias, clone copies, detach drops the graph", "[autograd][engine]") {
    Tensor a = Tensor::zeros({2});
    Tensor alias = a;
    Tensor copy = a.clone();
    a.data()[0] = 5.0f;
    CHECK(alias.data()[0] == 5.0f);
    CHECK(copy.data()[0] == 0.0f);
    Tensor x = Tensor::ones({2}, true);
    Tensor d = (x * 2.0f).detach();
    CHECK_FALSE(d.requires_grad());
    CHECK(d.data()[0] == 2.0f);
}

TEST_CASE("a tensor prints its label, shape and first values", "[autograd][engine]") {
    Tensor t = Tensor::arange(8).set_label("ids");
    CHECK(fmt::format("{}", t) == "Tensor 'ids' (8,) [0.0000, 1.0000, 2.0000, 3.0000, 4.0000, 5.0000, ...]");
    Tensor p = Tensor::ones({1, 2}, true);
    CHECK(fmt::format("{}", p) == "Tensor (1, 2) [1.0000, 1.0000] requires_grad");
}

TEST_CASE("the buffer pool reuses freed sizes, keeps a step's worth idle, and gives stale buffers back",
          "[autograd][engine]") {
    buffer_pool_trim();
    REQUIRE(buffer_pool_bytes() == 0);
    // More than the pool keeps idle after a miss (64 MiB), and more than anything in use so far.
    const int64_t big = std::max<int64_t>(int64_t{80} << 20, buffer_peak_bytes()) / 4 + 1024;
    { Tensor t = Tensor::empty({big}); }
    if (buffer_pool_bytes() == 0) return;  // pooling is off (AddressSanitizer build): nothing to check
    CHECK(buffer_pool_bytes() == big * 4);
    { Tensor same = Tensor::empty({big}); CHECK(buffer_pool_bytes() == 0); }  // served from the pool
    CHECK(buffer_peak_bytes() >= big * 4);
    {
        // A size the pool cannot serve, but what it holds idle is no more than the program once had in use
        // (as a training step's activations wait for the next step): it keeps it.
        Tensor other = Tensor::empty({big + 16});
        CHECK(buffer_pool_bytes() == big * 4);
    }
    // Now twice the peak lies idle (the shapes keep changing, as in a decode without the KV cache): on the
    // next miss the stale buffers go back.
    Tensor third = Tensor::empty({big + 32});
    CHECK(buffer_pool_bytes() == 0);
}
