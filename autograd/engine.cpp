// The backward engine, micrograd's three phases without recursion:
//   1. sort the graph topologically (an explicit stack, so a 10,000-op chain is fine),
//   2. seed d(loss)/d(loss) = 1,
//   3. walk the nodes in reverse order; each adds its inputs' gradients into their .grad.
// Then it frees the graph (nodes and the activations they saved), so memory does not grow per step.
#include "autograd/node.h"
#include "autograd/tensor.h"

#include <unordered_set>
#include <utility>

namespace bayun {

void Tensor::backward() {
    if (numel() != 1)
        fail("backward", "expected a scalar loss (one element), found shape {} (reduce it first, e.g. mean())",
             shape_str(shape()));
    if (!requires_grad())
        fail("backward", "'{}' does not require grad: no input of the graph had requires_grad set, or it was "
             "computed under NoGradGuard", label().empty() ? std::string("tensor") : label());

    // Phase 1: topological order (every tensor after all tensors it depends on), by iterative DFS.
    std::vector<Tensor> order;
    std::unordered_set<TensorImpl*> visited;
    std::vector<std::pair<Tensor, size_t>> stack;  // (tensor, index of the next input to visit)
    stack.emplace_back(*this, 0);
    visited.insert(impl());
    while (!stack.empty()) {
        auto& [tensor, next] = stack.back();
        const std::shared_ptr<Node>& node = tensor.grad_fn();
        if (node && next < node->inputs.size()) {
            const Tensor& input = node->inputs[next++];
            if (input.requires_grad() && visited.insert(input.impl()).second) stack.emplace_back(input, 0);
        } else {
            order.push_back(tensor);
            stack.pop_back();
        }
    }

    // Phase 2: seed.
    grad_data()[0] += 1.0f;  // d(loss)/d(loss) = 1, added like every gradient (a leaf loss accumulates)

    // Phase 3: reverse walk. `order` ends with the loss; producers of each tensor come before it.
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Tensor& tensor = *it;
        const std::shared_ptr<Node>& node = tensor.grad_fn();
        if (!node || !tensor.has_grad()) continue;
        node->backward(tensor.grad());
    }

    // Free the graph: drop every node (and what it saved) and the gradients of intermediate tensors.
    for (Tensor& tensor : order) {
        TensorImpl* impl = tensor.impl();
        if (!impl->grad_fn) continue;
        impl->grad_fn.reset();
        impl->requires_grad = false;  // it is now a plain value, detached from the freed graph
        if (!impl->retain_grad) impl->grad.reset();
    }
}

}  // namespace bayun
