// Optimizers: AdamW (what nanoGPT trains with) and SGD with momentum (the simplest thing that works, for
// comparison). Both take the model's parameter list, read each parameter's .grad after backward(), and update
// the values in place. Weight decay applies to matrices only (dim >= 2: the linear and embedding weights),
// never to biases or layer-norm gains, as in nanoGPT's configure_optimizers.
// Their state (step count and per-parameter buffers) exports as named tensors + metadata, which the checkpoint
// stores as a safetensors file, so a resumed run continues bit for bit.
#pragma once

#include "train/params.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace bayun {

// What every optimizer offers the trainer.
class Optimizer {
public:
    virtual ~Optimizer() = default;

    // One update with learning rate `lr` (from the schedule). Parameters without a gradient are skipped.
    virtual void step(float lr) = 0;
    // Zeroes every parameter's gradient (keeps the buffers), before the next forward/backward.
    void zero_grad();

    // The state, for checkpoints: tensors named "<param>.<buffer>" that alias the live buffers (save them
    // before the next step), and metadata {"optimizer": ..., "step": ...}.
    virtual std::vector<NamedTensor> state_tensors() const = 0;
    virtual std::map<std::string, std::string> state_metadata() const = 0;
    // Restores what state_tensors() / state_metadata() exported. Checks the optimizer kind, every name and
    // shape; `source` (a file name) is only for error messages.
    virtual void load_state(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                            const std::string& source) = 0;

    int64_t step_count() const { return step_; }
    const std::vector<NamedTensor>& params() const { return params_; }
    bool decays(size_t i) const { return decay_[i]; }  // does parameter i get weight decay?
    // "decayed: 26 tensors, 10,616,832 values; not decayed: 50 tensors, 19,200 values" (like nanoGPT's printout)
    std::string describe() const;

protected:
    explicit Optimizer(std::vector<NamedTensor> params, const char* name);
    // Shared by both load_state implementations: checks kind, names and shapes, then copies `buffers`.
    void load_buffers(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                      const std::string& source, const std::vector<std::string>& suffixes,
                      const std::vector<std::vector<Tensor>*>& buffers);
    std::vector<NamedTensor> export_buffers(const std::vector<std::string>& suffixes,
                                            const std::vector<const std::vector<Tensor>*>& buffers) const;

    std::vector<NamedTensor> params_;
    std::vector<bool> decay_;  // per parameter: dim >= 2
    int64_t step_ = 0;         // updates taken so far (AdamW's t starts at 1 on the first step)
    const char* name_;         // "adamw", "sgd_momentum": the "optimizer" metadata value
};

struct AdamWOptions {
    float lr = 1e-3f;            // default learning rate for step() without an argument
    float beta1 = 0.9f;          // decay of the running mean of gradients (momentum)
    float beta2 = 0.95f;         // decay of the running mean of squared gradients (nanoGPT: 0.95, PyTorch: 0.999)
    float eps = 1e-8f;           // keeps the division finite when a gradient has been ~0 for a long time
    float weight_decay = 0.1f;   // decoupled: each step multiplies matrices by (1 - lr * weight_decay)
};

// AdamW (Loshchilov & Hutter, "Decoupled Weight Decay Regularization"), exactly as torch.optim.AdamW:
//   p <- p * (1 - lr * wd)                      (matrices only)
//   m <- beta1 * m + (1 - beta1) * g            running mean of gradients
//   v <- beta2 * v + (1 - beta2) * g^2          running mean of squared gradients
//   p <- p - lr / (1 - beta1^t) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)
// The (1 - beta^t) factors undo the bias of m and v towards their zero start in the first steps.
class AdamW : public Optimizer {
public:
    explicit AdamW(std::vector<NamedTensor> params, AdamWOptions options = {});

    void step(float lr) override;
    void step() { step(options_.lr); }

    // "<param>.exp_avg" (m) and "<param>.exp_avg_sq" (v), PyTorch's names; metadata optimizer, step, betas.
    std::vector<NamedTensor> state_tensors() const override;
    std::map<std::string, std::string> state_metadata() const override;
    void load_state(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                    const std::string& source) override;

    const AdamWOptions& options() const { return options_; }

private:
    AdamWOptions options_;
    std::vector<Tensor> exp_avg_;     // m, one per parameter, same shape
    std::vector<Tensor> exp_avg_sq_;  // v, one per parameter, same shape
};

// The per-element AdamW update of one parameter tensor (n values), the loop both paths share: OpenMP spreads
// it over threads unless reference kernels are on (each element is independent, so results are identical).
// bias_correction1 = 1 - beta1^t and bias_correction2 = 1 - beta2^t are computed once per step in double.
void adamw_update(float* param, const float* grad, float* exp_avg, float* exp_avg_sq, int64_t n, float lr,
                  float beta1, float beta2, float eps, float weight_decay, double bias_correction1,
                  double bias_correction2);

struct SgdMomentumOptions {
    float lr = 1e-2f;            // default learning rate for step() without an argument
    float momentum = 0.9f;       // how much of the previous update carries over
    float weight_decay = 0.0f;   // L2 penalty added to the gradient (matrices only), as torch.optim.SGD
};

// SGD with momentum, as torch.optim.SGD (dampening 0, not Nesterov):
//   g <- g + wd * p                             (matrices only)
//   b <- momentum * b + g                       (b starts at 0, so the first step has b = g)
//   p <- p - lr * b
class SgdMomentum : public Optimizer {
public:
    explicit SgdMomentum(std::vector<NamedTensor> params, SgdMomentumOptions options = {});

    void step(float lr) override;
    void step() { step(options_.lr); }

    // "<param>.momentum_buffer" (PyTorch's name); metadata optimizer, step, momentum.
    std::vector<NamedTensor> state_tensors() const override;
    std::map<std::string, std::string> state_metadata() const override;
    void load_state(const std::vector<NamedTensor>& tensors, const std::map<std::string, std::string>& metadata,
                    const std::string& source) override;

    const SgdMomentumOptions& options() const { return options_; }

private:
    SgdMomentumOptions options_;
    std::vector<Tensor> momentum_buffer_;  // one per parameter, same shape
};

}  // namespace bayun
