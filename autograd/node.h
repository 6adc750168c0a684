// Node: one recorded op in the autograd graph (micrograd's idea in C++). A Node keeps its op name, the
// input tensors (the graph's edges), and exactly what its backward reads. Each op family defines its Node
// subclasses beside its kernels (ops_*.cpp). The engine (engine.cpp) calls backward in reverse
// topological order with the gradient of the node's output.
#pragma once

#include "autograd/tensor.h"

#include <string>
#include <vector>

namespace bayun {

struct Node {
    std::string op;              // "matmul", "layer_norm", ...
    std::vector<Tensor> inputs;  // the tensors this op read; gradients flow back into them

    Node(std::string op_name, std::vector<Tensor> op_inputs) : op(std::move(op_name)), inputs(std::move(op_inputs)) {}
    virtual ~Node() = default;

    // dout is d(loss)/d(output), shaped like the output. Adds each input's gradient into its .grad.
    virtual void backward(const Tensor& dout) = 0;

    // Where to accumulate input i's gradient, or nullptr when input i does not need one.
    float* dinput(size_t i) { return inputs[i].requires_grad() ? inputs[i].grad_data() : nullptr; }
    // The same for an op that writes every value of input i's gradient. The first op to reach a gradient
    // gets it uninitialised, with *fresh set, and writes (=); later ones find *fresh false and add (+=).
    // The big activation gradients of a training step are then never zeroed only to be added to.
    float* dinput(size_t i, bool* fresh) { return inputs[i].requires_grad() ? inputs[i].grad_data(fresh) : nullptr; }
};

bool any_requires_grad(const std::vector<Tensor>& inputs);
// Makes `node` the producer of `out`: out now requires grad and backward will visit node.
void attach(Tensor& out, std::shared_ptr<Node> node);

// Usage inside an op:   if (needs_graph({a, b})) attach(out, std::make_shared<AddNode>(a, b));
inline bool needs_graph(const std::vector<Tensor>& inputs) { return grad_enabled() && any_requires_grad(inputs); }

}  // namespace bayun
