// The backward engine, micrograd's three phases without recursion:
//   1. sort the graph topologically (an explicit stack, so a 10,000-op chain is fine),
//   2. seed d(loss)/d(loss) = 1,
//   3. walk the nodes in reverse order; each adds its inputs' gradients into their .grad.
// Each node is freed (with the activations it saved) as soon as it has run, so memory falls as backward
// proceeds and does not grow per step.
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

    // Phase 3: reverse walk. `order` ends with the loss; producers of each tensor come before it, so
    // when a tensor's turn comes every consumer has already added into its gradient. Once its node has
    // passed that gradient on, neither is needed again: free them right away (PyTorch does the same),
    // so memory falls during backward instead of holding every activation and every gradient at once.
    const auto release = [](Tensor& tensor) {
        TensorImpl* impl = tensor.impl();
        if (impl->grad_fn) {
            impl->grad_fn.reset();        // the node and the activations it saved
            impl->requires_grad = false;  // it is now a plain value, detached from the freed graph
            if (!impl->retain_grad) impl->grad.reset();
        }
        tensor = Tensor();  // our handle; the caller's handles (the loss, retained tensors) stay valid
    };
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Tensor& tensor = *it;
        const std::shared_ptr<Node>& node = tensor.grad_fn();
        if (node && tensor.has_grad()) node->backward(tensor.grad());
        release(tensor);
    }
}

}  // namespace bayun
