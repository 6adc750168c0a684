// Helpers shared by the op tests in tests/autograd/: inputs kept away from kinks and poles, and one
// forward + backward run of an op that the tests use to compare the fast kernels with the reference ones.
#pragma once

#include "autograd/kernels.h"
#include "autograd/ops.h"
#include "autograd/rng.h"
#include "support.h"

#include <functional>
#include <string>
#include <vector>

namespace bayun::test {

using OpFn = std::function<Tensor(const std::vector<Tensor>&)>;

// Values with magnitude in [low, high) and a random sign: finite differences with a 1e-2 step then never
// straddle relu's kink at 0, and 1/x or log(x) (with positive = true) stay far from their pole.
inline Tensor away_from_zero(const Shape& shape, uint64_t seed, float low = 0.1f, float high = 1.0f,
                             bool positive = false) {
    Rng rng(seed);
    Tensor t = Tensor::empty(shape);
    for (float& v : t.values()) {
        const float magnitude = low + (high - low) * rng.uniform();
        v = (!positive && rng.uniform() < 0.5f) ? -magnitude : magnitude;
    }
    t.set_requires_grad(true);
    return t;
}

struct ForwardBackward {
    Tensor out;                // f(inputs)
    std::vector<Tensor> grads; // d(sum(out * R))/d(input i), undefined where input i got no gradient
};

// Runs f on the inputs and backward of sum(f(inputs) * R) for a fixed random R; copies out the gradients.
inline ForwardBackward forward_backward(const OpFn& f, const std::vector<Tensor>& inputs, uint64_t seed = 11) {
    for (Tensor input : inputs) input.zero_grad();
    ForwardBackward result;
    result.out = f(inputs);
    Tensor r = random_tensor(result.out.shape(), seed, false);
    sum(mul(result.out, r)).backward();
    for (const Tensor& input : inputs) result.grads.push_back(input.has_grad() ? input.grad().clone() : Tensor());
    return result;
}

// The fast kernels (threads, blocking) and the reference loops give the same output and gradients.
inline void require_kernels_agree(const OpFn& f, const std::vector<Tensor>& inputs, double rtol = 1e-6,
                                  double atol = 1e-7) {
    const ForwardBackward fast = forward_backward(f, inputs);
    ForwardBackward reference;
    {
        ReferenceKernelsGuard guard;
        reference = forward_backward(f, inputs);
    }
    require_close(fast.out, reference.out, rtol, atol, "output, fast vs reference");
    for (size_t i = 0; i < inputs.size(); ++i) {
        REQUIRE(fast.grads[i].defined() == reference.grads[i].defined());
        if (fast.grads[i].defined())
            require_close(fast.grads[i], reference.grads[i], rtol, atol,
                          fmt::format("gradient of input {}, fast vs reference", i));
    }
}

}  // namespace bayun::test
