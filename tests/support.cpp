// Shared test helpers (see support.h).
#include "support.h"

#include "autograd/rng.h"

#include <cmath>
#include <cstdio>
#include <fstream>
#include <sys/wait.h>

namespace bayun::test {

Tensor random_tensor(const Shape& shape, uint64_t seed, bool requires_grad, float low, float high) {
    Rng rng(seed);
    return Tensor::uniform(shape, rng, low, high, requires_grad);
}

void require_close(const Tensor& actual, const std::vector<float>& expected, double rtol, double atol,
                   const std::string& what) {
    INFO(what);
    REQUIRE(actual.numel() == static_cast<int64_t>(expected.size()));
    int64_t worst = -1;
    double worst_excess = 0.0;
    for (int64_t i = 0; i < actual.numel(); ++i) {
        const double a = actual.data()[i], e = expected[i];
        const double excess = std::abs(a - e) - (atol + rtol * std::abs(e));
        if (!(excess <= worst_excess)) {  // also catches NaN
            worst_excess = std::isnan(excess) ? 1e30 : excess;
            worst = i;
        }
    }
    if (worst >= 0) {
        FAIL(fmt::format("{}: element {} is {} but expected {} (rtol {}, atol {}); shape {}", what, worst,
                         actual.data()[worst], expected[worst], rtol, atol, shape_str(actual.shape())));
    }
    SUCCEED();
}

void require_close(const Tensor& actual, const Tensor& expected, double rtol, double atol, const std::string& what) {
    INFO(what);
    REQUIRE(shape_str(actual.shape()) == shape_str(expected.shape()));
    require_close(actual, expected.to_vector(), rtol, atol, what);
}

void require_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs,
                       const GradcheckOptions& options) {
    const auto results = gradcheck(f, inputs, options);
    INFO(describe(results));
    REQUIRE(!results.empty());
    for (const auto& r : results) REQUIRE(r.checked > 0);
    REQUIRE(all_passed(results));
}

std::filesystem::path fresh_dir(const std::string& name) {
    const std::filesystem::path dir = std::filesystem::path(BAYUN_BINARY_DIR) / "test-files" / name;
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
    return dir;
}

CommandResult run_bayun(const std::string& args) {
    const std::string command = std::string(BAYUN_BINARY_DIR) + "/bayun " + args + " 2>&1";
    FILE* pipe = popen(command.c_str(), "r");
    REQUIRE(pipe != nullptr);
    std::string output;
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
    const int status = pclose(pipe);
    return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

nlohmann::json load_golden(const std::string& name) {
    const std::string path = std::string(BAYUN_TEST_DATA_DIR) + "/" + name;
    std::ifstream in(path);
    if (!in) FAIL("golden file missing: " << path << " (regenerate with the script in tools/)");
    return nlohmann::json::parse(in);
}

Tensor tensor_from_json(const nlohmann::json& j) {
    Shape shape = j.at("shape").get<Shape>();
    std::vector<float> data = j.at("data").get<std::vector<float>>();
    return Tensor::from(std::move(data), shape);
}

}  // namespace bayun::test
