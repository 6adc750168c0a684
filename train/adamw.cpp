// AdamW and SGD with momentum (see adamw.h): the per-element update loops, weight-decay groups, and the
// export / restore of optimizer state for checkpoints.
#include "train/adamw.h"

#include "autograd/kernels.h"

#include <cmath>
#include <set>

namespace bayun {

namespace {

std::string with_commas(int64_t n) {
    std::string digits = std::to_string(n), out;
    for (size_t i = 0; i < digits.size(); ++i) {
        if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
        out += digits[i];
    }
    return out;
}

}  // namespace

// ---- the shared part ----------------------------------------------------------------------------------------

Optimizer::Optimizer(std::vector<NamedTensor> params, const char* name) : params_(std::move(params)), name_(name) {
    std::set<std::string> seen;
    for (const NamedTensor& p : params_) {
        if (!p.tensor.defined()) fail(name_, "parameter '{}' is an undefined tensor", p.name);
        if (!seen.insert(p.name).second)
            fail(name_, "parameter '{}' appears twice in the parameter list (names must be unique)", p.name);
        // Matrices (linear and embedding weights) decay; vectors (biases, layer-norm gains) do not.
        decay_.push_back(p.tensor.dim() >= 2);
    }
}

void Optimizer::zero_grad() {
    for (NamedTensor& p : params_) p.tensor.zero_grad();
}

std::string Optimizer::describe() const {
    int64_t tensors[2] = {0, 0}, values[2] = {0, 0};
    for (size_t i = 0; i < params_.size(); ++i) {
        tensors[decay_[i]] += 1;
        values[decay_[i]] += params_[i].tensor.numel();
    }
    return fmt::format("decayed: {} tensors, {} values; not decayed: {} tensors, {} values", tensors[1],
                       with_commas(values[1]), tensors[0], with_commas(values[0]));
}

std::vector<NamedTensor> Optimizer::export_buffers(const std::vector<std::string>& suffixes,
                                                   const std::vector<const std::vector<Tensor>*>& buffers) const {
    std::vector<NamedTensor> out;
    for (size_t i = 0; i < params_.size(); ++i)
        for (size_t b = 0; b < buffers.size(); ++b) out.push_back({params_[i].name + "." + suffixes[b], (*buffers[b])[i]});
    return out;
}

void Optimizer::load_buffers(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                             const std::string& source, const std::vector<std::string>& suffixes,
                             const std::vector<std::vector<Tensor>*>& buffers) {
    // 1. The kind of optimizer and its step count.
    auto kind = metadata.find("optimizer");
    if (kind == metadata.end() || kind->second != name_)
        fail(name_, "'{}' holds {} state, but this run uses {} (resume with the same optimizer, or start fresh)",
             source, kind == metadata.end() ? "no optimizer" : kind->second, name_);
    auto step = metadata.find("step");
    int64_t step_value = -1;
    if (step != metadata.end()) {
        try {
            size_t used = 0;
            step_value = std::stoll(step->second, &used);
            if (used != step->second.size()) step_value = -1;
        } catch (const std::exception&) {
            step_value = -1;
        }
    }
    if (step_value < 0)
        fail(name_, "'{}': metadata \"step\" is {}, expected a non-negative integer (corrupt optimizer state?)", source,
             step == metadata.end() ? "missing" : "'" + step->second + "'");

    // 2. Names and shapes: every buffer of every parameter, and nothing else.
    std::map<std::string, const Tensor*> found;
    for (const NamedTensor& t : tensors) found[t.name] = &t.tensor;
    std::vector<std::string> missing, mismatched;
    size_t matched = 0;
    for (size_t i = 0; i < params_.size(); ++i) {
        for (const std::string& suffix : suffixes) {
            const std::string name = params_[i].name + "." + suffix;
            auto it = found.find(name);
            if (it == found.end()) { missing.push_back(name); continue; }
            ++matched;
            if (it->second->shape() != params_[i].tensor.shape())
                mismatched.push_back(fmt::format("{} expected {} found {}", name, shape_str(params_[i].tensor.shape()),
                                                 shape_str(it->second->shape())));
        }
    }
    const size_t unexpected = found.size() - matched;
    if (!missing.empty() || !mismatched.empty() || unexpected > 0) {
        std::vector<std::string> unexpected_names;
        std::set<std::string> wanted;
        for (const NamedTensor& p : params_)
            for (const std::string& suffix : suffixes) wanted.insert(p.name + "." + suffix);
        for (const auto& [name, t] : found)
            if (!wanted.contains(name)) unexpected_names.push_back(name);
        auto first = [](const std::vector<std::string>& names) {
            std::string out;
            for (size_t i = 0; i < std::min<size_t>(names.size(), 5); ++i) out += (i ? ", " : "") + names[i];
            if (names.size() > 5) out += fmt::format(", ... and {} more", names.size() - 5);
            return out;
        };
        std::vector<std::string> problems;
        if (!missing.empty()) problems.push_back(fmt::format("{} missing ({})", missing.size(), first(missing)));
        if (!unexpected_names.empty())
            problems.push_back(fmt::format("{} unexpected ({})", unexpected_names.size(), first(unexpected_names)));
        if (!mismatched.empty())
            problems.push_back(fmt::format("{} with a different shape ({})", mismatched.size(), first(mismatched)));
        fail(name_, "'{}' does not match the model's parameters: {} (was it saved with a different model "
             "configuration?)", source, fmt::join(problems, "; "));
    }

    // 3. Copy into fresh buffers (not aliases of the caller's tensors).
    for (size_t b = 0; b < buffers.size(); ++b)
        for (size_t i = 0; i < params_.size(); ++i)
            (*buffers[b])[i] = found.at(params_[i].name + "." + suffixes[b])->clone();
    step_ = step_value;
}

// ---- AdamW --------------------------------------------------------------------------------------------------

void adamw_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, double bias_correction1,
                  double bias_correction2) {
    // The per-step scalars are computed in double and rounded once, as PyTorch does with its Python floats.
    // The element-wise arithmetic follows torch's kernels operation by operation: m's update is one fused
    // multiply-add (torch's add_(g, alpha) is fmadd), and this file is compiled with -ffp-contract=off (see
    // train/CMakeLists.txt) so no other a * b + c gets fused differently in Release and Debug builds.
    const float decay = static_cast<float>(1.0 - static_cast<double>(lr) * weight_decay);  // 1 when wd = 0
    const float one_minus_beta1 = static_cast<float>(1.0 - static_cast<double>(beta1));
    const float one_minus_beta2 = static_cast<float>(1.0 - static_cast<double>(beta2));
    const float step_size = static_cast<float>(lr / bias_correction1);
    const float bias_correction2_sqrt = static_cast<float>(std::sqrt(bias_correction2));
    parallel_for(n, go_parallel(n), [&](int64_t i) {
        const float g = grad[i];
        param[i] *= decay;                                                          // decoupled weight decay
        exp_avg[i] = std::fma(one_minus_beta1, g, beta1 * exp_avg[i]);             // m: mean of g
        exp_avg_sq[i] = beta2 * exp_avg_sq[i] + one_minus_beta2 * g * g;           // v: mean of g^2
        const float denom = std::sqrt(exp_avg_sq[i]) / bias_correction2_sqrt + eps;  // sqrt(v_hat) + eps
        param[i] -= step_size * exp_avg[i] / denom;                                 // p -= lr * m_hat / denom
    });
}

AdamW::AdamW(std::vector<NamedTensor> params, AdamWOptions options)
    : Optimizer(std::move(params), "adamw"), options_(options) {
    const AdamWOptions& o = options_;
    if (!(o.beta1 >= 0.0f && o.beta1 < 1.0f) || !(o.beta2 >= 0.0f && o.beta2 < 1.0f))
        fail("adamw", "betas must be in [0, 1), found beta1 {} and beta2 {} (nanoGPT uses 0.9 and 0.95)", o.beta1,
             o.beta2);
    if (!(o.eps > 0.0f)) fail("adamw", "eps must be positive, found {} (the default is 1e-8)", o.eps);
    if (!(o.weight_decay >= 0.0f)) fail("adamw", "weight_decay must be >= 0, found {} (nanoGPT uses 0.1)", o.weight_decay);
    for (const NamedTensor& p : params_) {
        exp_avg_.push_back(Tensor::zeros(p.tensor.shape()));
        exp_avg_sq_.push_back(Tensor::zeros(p.tensor.shape()));
    }
}

void AdamW::step(float lr) {
    if (!(lr >= 0.0f) || !std::isfinite(lr)) fail("adamw", "learning rate must be finite and >= 0, found {}", lr);
    // NOTE: one step count for all parameters (PyTorch keeps one per parameter); they differ only for a
    // parameter that had no gradient in some step, which does not happen when training the whole model.
    ++step_;
    const double bias_correction1 = 1.0 - std::pow(static_cast<double>(options_.beta1), static_cast<double>(step_));
    const double bias_correction2 = 1.0 - std::pow(static_cast<double>(options_.beta2), static_cast<double>(step_));
    for (size_t i = 0; i < params_.size(); ++i) {
        Tensor& p = params_[i].tensor;
        if (!p.has_grad()) continue;
        Tensor g = p.grad();
        adamw_update(p.data(), g.data(), exp_avg_[i].data(), exp_avg_sq_[i].data(), p.numel(), lr, options_.beta1,
                     options_.beta2, options_.eps, decay_[i] ? options_.weight_decay : 0.0f, bias_correction1,
                     bias_correction2);
    }
}

std::vector<NamedTensor> AdamW::state_tensors() const {
    return export_buffers({"exp_avg", "exp_avg_sq"}, {&exp_avg_, &exp_avg_sq_});
}

std::map<std::string, std::string> AdamW::state_metadata() const {
    return {{"optimizer", name_},
            {"step", std::to_string(step_)},
            {"beta1", fmt::format("{}", options_.beta1)},
            {"beta2", fmt::format("{}", options_.beta2)},
            {"eps", fmt::format("{}", options_.eps)},
            {"weight_decay", fmt::format("{}", options_.weight_decay)}};
}

void AdamW::load_state(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                       const std::string& source) {
    load_buffers(tensors, metadata, source, {"exp_avg", "exp_avg_sq"}, {&exp_avg_, &exp_avg_sq_});
}

// ---- SGD with momentum --------------------------------------------------------------------------------------

SgdMomentum::SgdMomentum(std::vector<NamedTensor> params, SgdMomentumOptions options)
    : Optimizer(std::move(params), "sgd_momentum"), options_(options) {
    if (!(options_.momentum >= 0.0f && options_.momentum < 1.0f))
        fail("sgd_momentum", "momentum must be in [0, 1), found {} (0.9 is usual)", options_.momentum);
    if (!(options_.weight_decay >= 0.0f))
        fail("sgd_momentum", "weight_decay must be >= 0, found {}", options_.weight_decay);
    for (const NamedTensor& p : params_) momentum_buffer_.push_back(Tensor::zeros(p.tensor.shape()));
}

void SgdMomentum::step(float lr) {
    if (!(lr >= 0.0f) || !std::isfinite(lr)) fail("sgd_momentum", "learning rate must be finite and >= 0, found {}", lr);
    ++step_;
    for (size_t i = 0; i < params_.size(); ++i) {
        Tensor& p = params_[i].tensor;
        if (!p.has_grad()) continue;
        Tensor g = p.grad();
        float* param = p.data();
        const float* grad = g.data();
        float* buffer = momentum_buffer_[i].data();
        const float wd = decay_[i] ? options_.weight_decay : 0.0f;
        const float momentum = options_.momentum;
        const int64_t n = p.numel();
        parallel_for(n, go_parallel(n), [&](int64_t j) {
            const float d = grad[j] + wd * param[j];    // L2 penalty folded into the gradient
            buffer[j] = momentum * buffer[j] + d;       // b <- momentum * b + g
            param[j] -= lr * buffer[j];                 // p <- p - lr * b
        });
    }
}

std::vector<NamedTensor> SgdMomentum::state_tensors() const {
    return export_buffers({"momentum_buffer"}, {&momentum_buffer_});
}

std::map<std::string, std::string> SgdMomentum::state_metadata() const {
    return {{"optimizer", name_},
            {"step", std::to_string(step_)},
            {"momentum", fmt::format("{}", options_.momentum)},
            {"weight_decay", fmt::format("{}", options_.weight_decay)}};
}

void SgdMomentum::load_state(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                             const std::string& source) {
    load_buffers(tensors, metadata, source, {"momentum_buffer"}, {&momentum_buffer_});
}

}  // namespace bayun
