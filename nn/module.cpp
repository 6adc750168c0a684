// Module registration, parameter listing and the recursive switches.
#include "nn/module.h"

#include "autograd/error.h"

#include <fmt/format.h>

#include <unordered_set>

namespace bayun::nn {

Tensor& Module::register_parameter(const std::string& name, Tensor tensor) {
    params_.push_back({name, std::move(tensor)});
    return params_.back().tensor;
}

void Module::replace_parameter(const std::string& name, Tensor tensor) {
    for (Param& p : params_) {
        if (p.name != name) continue;
        if (p.tensor.shape() != tensor.shape())
            fail("module", "cannot replace parameter '{}' of shape {} with shape {}", name, shape_str(p.tensor.shape()),
                 shape_str(tensor.shape()));
        p.tensor = std::move(tensor);
        return;
    }
    fail("module", "no parameter named '{}' to replace", name);
}

void Module::register_module(const std::string& name, Module& child) { children_.push_back({name, &child}); }

void Module::collect(const std::string& prefix, std::vector<NamedTensor>& out) const {
    for (const Param& p : params_) out.push_back({prefix + p.name, p.tensor});
    for (const Child& c : children_) c.module->collect(prefix + c.name + ".", out);
}

std::vector<NamedTensor> Module::named_parameters() const {
    std::vector<NamedTensor> all;
    collect("", all);
    std::vector<NamedTensor> unique;
    std::unordered_set<const TensorImpl*> seen;
    for (NamedTensor& p : all)
        if (seen.insert(p.tensor.impl()).second) unique.push_back(std::move(p));
    return unique;
}

int64_t Module::parameter_count() const {
    int64_t n = 0;
    for (const NamedTensor& p : named_parameters()) n += p.tensor.numel();
    return n;
}

void Module::train(bool on) {
    training_ = on;
    for (const Child& c : children_) c.module->train(on);
}

void Module::set_observer(Observer* observer, int layer) {
    observer_ = observer;
    layer_ = layer;
    for (const Child& c : children_) c.module->set_observer(observer, layer);
}

void Module::describe_into(const std::string& name, int depth, std::string& out) const {
    const std::string indent(static_cast<size_t>(depth) * 2, ' ');
    int64_t count = 0;
    std::vector<NamedTensor> mine;
    collect("", mine);
    for (const NamedTensor& p : mine) count += p.tensor.numel();
    out += fmt::format("{}{} ({} parameters)\n", indent, name, count);
    for (const Param& p : params_) out += fmt::format("{}  {} {}\n", indent, p.name, shape_str(p.tensor.shape()));
    for (const Child& c : children_) c.module->describe_into(c.name, depth + 1, out);
}

std::string Module::describe() const {
    std::string out;
    describe_into("model", 0, out);
    return out;
}

}  // namespace bayun::nn
