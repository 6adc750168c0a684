// Module: the base of every layer, as in the PyTorch C++ frontend. A module registers its parameters
// and submodules by name, so that named_parameters() yields nanoGPT's dotted paths
// ("transformer.h.0.attn.c_attn.weight") and checkpoints map 1:1 onto PyTorch's state dict.
// It also carries the train/eval switch (dropout) and an optional Observer that sees the hidden state.
#pragma once

#include "autograd/tensor.h"

#include <string>
#include <string_view>
#include <vector>

namespace bayun::nn {

// Sees named intermediate values during forward without changing them: the residual stream (the hidden
// state) after each block, each head's attention weights, Q, K, V, the FFN's expansion, ... `layer` is the
// block index, or -1 outside the blocks (embeddings, ln_f, logits). See docs/TOUR.md for the names.
class Observer {
public:
    virtual ~Observer() = default;
    virtual void see(int layer, std::string_view what, const Tensor& value) = 0;
};

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;  // modules hold pointers to their children: they stay where they are built
    Module& operator=(const Module&) = delete;

    // Every parameter once, depth first in registration order, with its dotted path. A tensor registered
    // twice (a tied lm_head) is listed under its first name only, as torch's named_parameters() does.
    std::vector<NamedTensor> named_parameters() const;
    int64_t parameter_count() const;

    void train(bool on = true);  // reaches every submodule
    void eval() { train(false); }
    bool is_training() const { return training_; }

    virtual void set_observer(Observer* observer, int layer = -1);  // reaches every submodule
    std::string describe() const;  // the module tree with parameter shapes

protected:
    Tensor& register_parameter(const std::string& name, Tensor tensor);
    void replace_parameter(const std::string& name, Tensor tensor);  // same shape; for weight tying
    void register_module(const std::string& name, Module& child);
    void observe(std::string_view what, const Tensor& value) const {
        if (observer_) observer_->see(layer_, what, value);
    }
    bool observed() const { return observer_ != nullptr; }  // someone is watching: compute what they see

private:
    struct Param {
        std::string name;
        Tensor tensor;
    };
    struct Child {
        std::string name;
        Module* module;
    };
    std::vector<Param> params_;
    std::vector<Child> children_;
    bool training_ = true;
    Observer* observer_ = nullptr;
    int layer_ = -1;

    void collect(const std::string& prefix, std::vector<NamedTensor>& out) const;
    void describe_into(const std::string& name, int depth, std::string& out) const;
};

}  // namespace bayun::nn
