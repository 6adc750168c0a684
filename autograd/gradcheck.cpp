// Central finite differences against backward, in float32 with a double-precision loss reduction.
#include "autograd/gradcheck.h"

#include "autograd/ops.h"
#include "autograd/rng.h"

#include <cmath>

namespace bayun {

namespace {
// loss = sum(out * R), accumulated in double so the finite difference keeps its digits.
double project(const Tensor& out, const std::vector<float>& r) {
    double total = 0.0;
    for (int64_t i = 0; i < out.numel(); ++i) total += static_cast<double>(out.data()[i]) * r[i];
    return total;
}
}  // namespace

std::vector<GradcheckResult> gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                       const std::vector<Tensor>& inputs, const GradcheckOptions& options) {
    // Analytic gradients: one backward through sum(f(x) * R).
    for (Tensor input : inputs)
        if (input.requires_grad()) input.zero_grad();
    Tensor out = f(inputs);
    Rng rng(options.seed);
    std::vector<float> r(static_cast<size_t>(out.numel()));
    for (float& v : r) v = rng.uniform() * 2.0f - 1.0f;
    Tensor loss = sum(mul(out, Tensor::from(r, out.shape())));
    loss.backward();

    std::vector<GradcheckResult> results;
    for (size_t n = 0; n < inputs.size(); ++n) {
        Tensor input = inputs[n];
        if (!input.requires_grad()) continue;
        GradcheckResult result;
        result.name = input.label().empty() ? fmt::format("input {}", n) : input.label();
        result.shape = input.shape();
        const int64_t count = input.numel();
        const int64_t stride = std::max<int64_t>(1, count / options.max_elements);
        std::vector<float> analytic(count, 0.0f);
        if (input.has_grad()) analytic = input.grad().to_vector();
        NoGradGuard no_grad;
        for (int64_t i = 0; i < count; i += stride) {
            float& x = input.data()[i];
            const float original = x;
            x = original + options.eps;
            const double plus = project(f(inputs), r);
            x = original - options.eps;
            const double minus = project(f(inputs), r);
            x = original;
            const double numeric = (plus - minus) / (2.0 * options.eps);
            const double a = analytic[i];
            const double abs_error = std::abs(a - numeric);
            const double rel_error = abs_error / std::max({std::abs(a), std::abs(numeric), 1e-3});
            if (abs_error > options.atol + options.rtol * std::abs(numeric)) result.passed = false;
            if (abs_error > result.max_abs_error) {
                result.max_abs_error = abs_error;
                result.worst_index = i;
            }
            result.max_rel_error = std::max(result.max_rel_error, rel_error);
            ++result.checked;
        }
        results.push_back(result);
    }
    return results;
}

bool all_passed(const std::vector<GradcheckResult>& results) {
    for (const auto& r : results)
        if (!r.passed) return false;
    return true;
}

std::string describe(const std::vector<GradcheckResult>& results) {
    std::string text = fmt::format("{:<44} {:>16} {:>8} {:>12} {:>12}  {}\n", "parameter", "shape", "checked",
                                   "max abs err", "max rel err", "verdict");
    for (const auto& r : results)
        text += fmt::format("{:<44} {:>16} {:>8} {:>12.3e} {:>12.3e}  {}\n", r.name, shape_str(r.shape), r.checked,
                            r.max_abs_error, r.max_rel_error, r.passed ? "ok" : "FAIL");
    return text;
}

}  // namespace bayun
