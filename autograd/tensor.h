// Tensor: the one data type of bayun. A Tensor is a cheap handle (like MLX's array or torch::Tensor) to
// shared state: float32 values in contiguous row-major storage, a shape of rank 0 to 4, and, for training,
// a gradient and the Node that produced it. Copying a Tensor aliases it; clone() copies the values.
//
// Dimension legend, used in every shape comment of the project:
//   B batch, T positions (time), C channels (n_embd), H heads, D = C / H head size,
//   V vocabulary size, L layers.
#pragma once

#include "autograd/error.h"

#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace bayun {

using Shape = std::vector<int64_t>;

std::string shape_str(const Shape& shape);  // "(4, 64, 128)"
int64_t shape_numel(const Shape& shape);

class Rng;
struct Node;

// Tensor memory comes from a pool that keeps freed buffers by size: a training step allocates the same
// activations every time, so after the first step no op asks the system for memory (fresh pages from the
// kernel cost a page fault and a zero-fill each, 15% of a step before the pool).
void* buffer_allocate(size_t bytes);
void buffer_release(void* p, size_t bytes);
int64_t buffer_pool_bytes();  // bytes held for reuse
int64_t buffer_peak_bytes();  // the most tensor bytes ever in use at once
void buffer_pool_trim();      // gives every idle buffer back to the system

// An allocator that takes memory from that pool and leaves new floats uninitialised: every op writes its
// whole output, so zero-filling each fresh buffer first would only cost memory bandwidth.
template <typename T>
struct UninitializedAllocator : std::allocator<T> {
    using value_type = T;
    template <typename U>
    struct rebind {
        using other = UninitializedAllocator<U>;
    };
    UninitializedAllocator() = default;
    template <typename U>
    UninitializedAllocator(const UninitializedAllocator<U>&) {}
    T* allocate(size_t n) { return static_cast<T*>(buffer_allocate(n * sizeof(T))); }
    void deallocate(T* p, size_t n) { buffer_release(p, n * sizeof(T)); }
    template <typename U>
    void construct(U* p) {
        ::new (static_cast<void*>(p)) U;  // default-initialisation: no zeroing for float
    }
    template <typename U, typename... Args>
    void construct(U* p, Args&&... args) {
        ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
    }
};
using FloatBuffer = std::vector<float, UninitializedAllocator<float>>;

// The values of a tensor. Views (reshape, detach) share one Storage.
struct Storage {
    FloatBuffer values;
};

// What a Tensor handle points at. Learners see these fields in the debugger.
struct TensorImpl {
    std::shared_ptr<Storage> storage;  // the values, shared with views
    Shape shape;
    std::shared_ptr<Storage> grad;     // d(loss)/d(this), same shape; allocated by backward on first use
    bool requires_grad = false;        // leaves: set by the user; op results: some input requires grad
    bool retain_grad = false;          // keep .grad of a non-leaf after backward (for inspection)
    std::shared_ptr<Node> grad_fn;     // the op that produced this tensor (null for leaves)
    std::string label;                 // for printing and graph dumps: "h.0.attn.c_attn.weight", "logits"

    ~TensorImpl();  // releases long graphs iteratively (no recursion), see tensor.cpp
};

class Tensor {
public:
    Tensor() = default;  // an undefined handle; defined() is false

    // Factories. Every tensor starts without a graph; `requires_grad` makes it a trainable leaf.
    static Tensor zeros(const Shape& shape, bool requires_grad = false);
    static Tensor ones(const Shape& shape, bool requires_grad = false);
    static Tensor full(const Shape& shape, float value, bool requires_grad = false);
    static Tensor from(std::vector<float> values, const Shape& shape, bool requires_grad = false);
    static Tensor scalar(float value, bool requires_grad = false);
    static Tensor randn(const Shape& shape, Rng& rng, float std = 1.0f, bool requires_grad = false);
    static Tensor uniform(const Shape& shape, Rng& rng, float low, float high, bool requires_grad = false);
    static Tensor arange(int64_t n);  // 0, 1, ..., n-1 as floats (handy for tests)

    bool defined() const { return impl_ != nullptr; }
    const Shape& shape() const;
    int dim() const { return static_cast<int>(shape().size()); }
    int64_t size(int d) const;  // d may be negative: size(-1) is the last dimension
    int64_t numel() const;

    float* data();
    const float* data() const;
    std::span<float> values();
    std::span<const float> values() const;
    std::vector<float> to_vector() const;
    float item() const;                                  // the value of a one-element tensor
    float at(std::initializer_list<int64_t> index) const;  // bounds-checked element read

    // Autograd.
    bool requires_grad() const;
    Tensor& set_requires_grad(bool on = true);  // only for leaves
    bool is_leaf() const;
    bool has_grad() const;
    Tensor grad() const;        // aliases the gradient storage; undefined before any backward reached us
    // The gradient, allocated and zeroed on first use. With `fresh`, a first use returns it uninitialised
    // and sets *fresh: the caller must then write every value (=) rather than add to it (+=).
    float* grad_data(bool* fresh = nullptr);
    void zero_grad();           // sets the gradient to zero (keeps the buffer)
    Tensor& retain_grad();      // keep this non-leaf's gradient after backward
    const std::shared_ptr<Node>& grad_fn() const;
    void backward();            // this must be a scalar (one element): the loss

    Tensor detach() const;      // same values, no graph, no grad
    Tensor clone() const;       // a copy of the values, no graph
    Tensor& copy_from(const Tensor& other);  // in-place value copy, shapes must match

    const std::string& label() const;
    Tensor& set_label(std::string label);

    bool same(const Tensor& other) const { return impl_ == other.impl_; }
    TensorImpl* impl() const { return impl_.get(); }

    // Used by ops to build results: a fresh tensor sharing `storage` (views) or owning new storage.
    static Tensor make(const Shape& shape, std::shared_ptr<Storage> storage);
    static Tensor empty(const Shape& shape);  // values uninitialised-to-zero; the op writes them

private:
    std::shared_ptr<TensorImpl> impl_;
    const TensorImpl& checked() const;
    TensorImpl& checked();
};

// A tensor with its dotted name, as modules list their parameters and checkpoints store them:
// {"transformer.h.0.attn.c_attn.weight", (3*C, C) tensor}.
struct NamedTensor {
    std::string name;
    Tensor tensor;
};

// Grad mode: ops record Nodes only while it is on (the default). Evaluation and sampling turn it off.
bool grad_enabled();
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

}  // namespace bayun

// fmt support: `fmt::print("{}", t)` shows label, shape and the first values:
//   Tensor 'logits' (2, 3, 65) [0.0123, -0.4410, 0.0871, ... ] requires_grad
template <>
struct fmt::formatter<bayun::Tensor> : fmt::formatter<std::string_view> {
    auto format(const bayun::Tensor& t, fmt::format_context& ctx) const -> decltype(ctx.out());
};
