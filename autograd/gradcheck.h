// Gradient checking: compares the gradients backward computes with central finite differences,
//   dL/dx[i] ~ (L(x[i] + eps) - L(x[i] - eps)) / (2 eps),
// on every element of every input (or a sample of them, for big tensors). Used by the tests and by
// `bayun gradcheck`, so that learners can see for themselves that backpropagation is right.
#pragma once

#include "autograd/tensor.h"

#include <functional>
#include <string>
#include <vector>

namespace bayun {

struct GradcheckOptions {
    float eps = 1e-2f;             // step; float32 rounding favours a larger step than float64 would
    double atol = 1e-3;            // pass when |analytic - numeric| <= atol + rtol * |numeric|
    double rtol = 1e-2;
    int64_t max_elements = 4096;   // per input; larger inputs are checked at evenly spaced elements
    uint64_t seed = 7;             // for the random projection that makes a non-scalar output a loss
};

struct GradcheckResult {
    std::string name;         // the input's label (or "input 0", ...)
    Shape shape;
    int64_t checked = 0;      // elements compared
    double max_abs_error = 0;
    double max_rel_error = 0; // max of |a - n| / max(|a|, |n|, 1e-3)
    int64_t worst_index = -1;
    bool passed = true;
};

// f maps the inputs to any tensor; the checker turns it into the scalar loss sum(f(inputs) * R) with a
// fixed random R, so every output element matters. Only inputs with requires_grad are checked.
std::vector<GradcheckResult> gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                                       const std::vector<Tensor>& inputs, const GradcheckOptions& options = {});

bool all_passed(const std::vector<GradcheckResult>& results);
std::string describe(const std::vector<GradcheckResult>& results);  // a table, one line per input

}  // namespace bayun
