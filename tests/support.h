// Helpers shared by all tests: random inputs, closeness checks, the finite-difference check, and the
// golden files (values produced by PyTorch with the scripts in tools/, committed under tests/golden/).
#pragma once

#include "autograd/gradcheck.h"
#include "autograd/tensor.h"
#include "catch.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <string>

namespace bayun::test {

// Uniform values in [low, high), reproducible for a seed.
Tensor random_tensor(const Shape& shape, uint64_t seed, bool requires_grad = true, float low = -1.0f,
                     float high = 1.0f);

// Every element within atol + rtol * |expected|; on failure, reports the worst element.
void require_close(const Tensor& actual, const Tensor& expected, double rtol = 1e-5, double atol = 1e-6,
                   const std::string& what = "");
void require_close(const Tensor& actual, const std::vector<float>& expected, double rtol = 1e-5,
                   double atol = 1e-6, const std::string& what = "");

// REQUIREs that backward agrees with central finite differences on every input that requires grad.
void require_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                       const GradcheckOptions& options = {});

// An empty directory for one test's files: BAYUN_BINARY_DIR/test-files/<name>, emptied first.
std::filesystem::path fresh_dir(const std::string& name);

// Runs the built `bayun` executable with `args` (a shell-quoted string), capturing stdout and stderr.
struct CommandResult {
    int exit_code;
    std::string output;  // stdout and stderr together
};
CommandResult run_bayun(const std::string& args);

// tests/golden/<name>: a JSON file written by a script in tools/.
nlohmann::json load_golden(const std::string& name);
Tensor tensor_from_json(const nlohmann::json& j);  // {"shape": [...], "data": [...]}

}  // namespace bayun::test
