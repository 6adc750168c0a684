// Tensor handle: factories, element access, gradient buffers, printing, and grad mode.
#include "autograd/tensor.h"

#include "autograd/kernels.h"
#include "autograd/node.h"
#include "autograd/rng.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <unordered_map>

namespace bayun {

// ---- the buffer pool ---------------------------------------------------------------------------------------
namespace {
// A training step allocates the same sizes every time, so the buffers the last step freed serve the next one
// without asking the system. A request the pool cannot serve may mean the shapes have changed for good (a
// decode step without the KV cache grows the window by one position): then the idle buffers are probably
// stale. The pool lets them go on such a miss once it holds more idle memory than the program has ever had
// in use at once (and more than `flush_above`), so memory tracks what the work needs instead of every size
// ever seen. Training never gets there (its idle buffers are its own activations, waiting for the next step);
// giving them back on every miss would make each step fault its pages in again (5% of a step on M).
struct BufferPool {
    std::mutex mutex;
    std::unordered_map<size_t, std::vector<void*>> free_by_size;
    size_t held = 0;         // idle bytes, waiting to be reused
    size_t in_use = 0;       // bytes handed out and not yet released
    size_t peak_in_use = 0;  // the most ever handed out at once
    static constexpr size_t max_held = size_t{2} << 30;     // never hold more than 2 GiB idle
    static constexpr size_t flush_above = size_t{64} << 20;  // after a miss: at most this, or peak_in_use if larger

    void release_all() {
        for (auto& [bytes, buffers] : free_by_size)
            for (void* buffer : buffers) ::operator delete(buffer, std::align_val_t{64});
        free_by_size.clear();
        held = 0;
    }
};
BufferPool& pool() {
    static BufferPool* instance = new BufferPool();  // never destroyed: tensors may outlive static destructors
    return *instance;
}
#if defined(__SANITIZE_ADDRESS__)
constexpr bool pooling = false;  // AddressSanitizer should see every use after free
#else
constexpr bool pooling = true;
#endif
}  // namespace

void* buffer_allocate(size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (pooling) {
        BufferPool& p = pool();
        std::lock_guard lock(p.mutex);
        p.in_use += bytes;
        p.peak_in_use = std::max(p.peak_in_use, p.in_use);
        auto it = p.free_by_size.find(bytes);
        if (it != p.free_by_size.end() && !it->second.empty()) {
            void* buffer = it->second.back();
            it->second.pop_back();
            p.held -= bytes;
            return buffer;
        }
        if (p.held > std::max(BufferPool::flush_above, p.peak_in_use)) p.release_all();
    }
    return ::operator new(bytes, std::align_val_t{64});  // 64-byte aligned: whole cache lines, AVX friendly
}

void buffer_release(void* buffer, size_t bytes) {
    if (bytes == 0) bytes = 1;
    if (pooling) {
        BufferPool& p = pool();
        std::lock_guard lock(p.mutex);
        p.in_use -= bytes;
        if (p.held + bytes <= BufferPool::max_held) {
            p.free_by_size[bytes].push_back(buffer);
            p.held += bytes;
            return;
        }
    }
    ::operator delete(buffer, std::align_val_t{64});
}

int64_t buffer_pool_bytes() {
    BufferPool& p = pool();
    std::lock_guard lock(p.mutex);
    return static_cast<int64_t>(p.held);
}

int64_t buffer_peak_bytes() {
    BufferPool& p = pool();
    std::lock_guard lock(p.mutex);
    return static_cast<int64_t>(p.peak_in_use);
}

void buffer_pool_trim() {
    BufferPool& p = pool();
    std::lock_guard lock(p.mutex);
    p.release_all();
}

std::string shape_str(const Shape& shape) {
    if (shape.size() == 1) return fmt::format("({},)", shape[0]);
    return fmt::format("({})", fmt::join(shape, ", "));
}

int64_t shape_numel(const Shape& shape) {
    int64_t n = 1;
    for (int64_t d : shape) n *= d;
    return n;
}

namespace {
void check_shape(const Shape& shape) {
    if (shape.size() > 4) fail("tensor", "rank {} is not supported: shape {} (bayun tensors have rank 0 to 4)",
                               shape.size(), shape_str(shape));
    for (int64_t d : shape)
        if (d < 0) fail("tensor", "negative dimension in shape {}", shape_str(shape));
}
}  // namespace

// Destroying the last handle to the end of a long graph would otherwise destroy Node -> input ->
// Node -> ... recursively and overflow the stack. Instead, producers waiting to be released go on a
// thread-local list that the outermost destructor drains in a loop.
TensorImpl::~TensorImpl() {
    if (!grad_fn) return;
    thread_local std::vector<std::shared_ptr<Node>> pending;
    thread_local bool draining = false;
    pending.push_back(std::move(grad_fn));
    if (draining) return;
    draining = true;
    while (!pending.empty()) {
        std::shared_ptr<Node> node = std::move(pending.back());
        pending.pop_back();
        node.reset();  // may destroy inputs, whose destructors push their producers onto `pending`
    }
    draining = false;
}

Tensor Tensor::make(const Shape& shape, std::shared_ptr<Storage> storage) {
    check_shape(shape);
    BAYUN_ASSERT(storage && static_cast<int64_t>(storage->values.size()) == shape_numel(shape),
                 "storage size must match the shape");
    Tensor t;
    t.impl_ = std::make_shared<TensorImpl>();
    t.impl_->storage = std::move(storage);
    t.impl_->shape = shape;
    return t;
}

Tensor Tensor::empty(const Shape& shape) {
    check_shape(shape);
    auto storage = std::make_shared<Storage>();
    storage->values.resize(static_cast<size_t>(shape_numel(shape)));
    return make(shape, std::move(storage));
}

Tensor Tensor::zeros(const Shape& shape, bool requires_grad) { return full(shape, 0.0f, requires_grad); }
Tensor Tensor::ones(const Shape& shape, bool requires_grad) { return full(shape, 1.0f, requires_grad); }

Tensor Tensor::full(const Shape& shape, float value, bool requires_grad) {
    Tensor t = empty(shape);
    std::fill(t.impl_->storage->values.begin(), t.impl_->storage->values.end(), value);
    t.impl_->requires_grad = requires_grad;
    return t;
}

Tensor Tensor::from(std::vector<float> values, const Shape& shape, bool requires_grad) {
    check_shape(shape);
    if (static_cast<int64_t>(values.size()) != shape_numel(shape))
        fail("tensor", "{} values do not fill shape {} (which holds {})", values.size(), shape_str(shape),
             shape_numel(shape));
    auto storage = std::make_shared<Storage>();
    storage->values.assign(values.begin(), values.end());
    Tensor t = make(shape, std::move(storage));
    t.impl_->requires_grad = requires_grad;
    return t;
}

Tensor Tensor::scalar(float value, bool requires_grad) { return full({}, value, requires_grad); }

Tensor Tensor::randn(const Shape& shape, Rng& rng, float std, bool requires_grad) {
    Tensor t = empty(shape);
    for (float& v : t.impl_->storage->values) v = std * rng.normal();
    t.impl_->requires_grad = requires_grad;
    return t;
}

Tensor Tensor::uniform(const Shape& shape, Rng& rng, float low, float high, bool requires_grad) {
    Tensor t = empty(shape);
    for (float& v : t.impl_->storage->values) v = low + (high - low) * rng.uniform();
    t.impl_->requires_grad = requires_grad;
    return t;
}

Tensor Tensor::arange(int64_t n) {
    Tensor t = empty({n});
    for (int64_t i = 0; i < n; ++i) t.impl_->storage->values[i] = static_cast<float>(i);
    return t;
}

const TensorImpl& Tensor::checked() const {
    if (!impl_) fail("tensor", "use of an undefined tensor (default-constructed handle; assign a tensor first)");
    return *impl_;
}
TensorImpl& Tensor::checked() {
    if (!impl_) fail("tensor", "use of an undefined tensor (default-constructed handle; assign a tensor first)");
    return *impl_;
}

const Shape& Tensor::shape() const { return checked().shape; }

int64_t Tensor::size(int d) const {
    const int rank = dim();
    const int index = d < 0 ? d + rank : d;
    if (index < 0 || index >= rank) fail("tensor", "dimension {} is out of range for shape {}", d, shape_str(shape()));
    return shape()[index];
}

int64_t Tensor::numel() const { return shape_numel(shape()); }
float* Tensor::data() { return checked().storage->values.data(); }
const float* Tensor::data() const { return checked().storage->values.data(); }
std::span<float> Tensor::values() { return checked().storage->values; }
std::span<const float> Tensor::values() const { return checked().storage->values; }
std::vector<float> Tensor::to_vector() const {
    const FloatBuffer& v = checked().storage->values;
    return {v.begin(), v.end()};
}

float Tensor::item() const {
    if (numel() != 1) fail("item", "expected a tensor with one element, found shape {}", shape_str(shape()));
    return data()[0];
}

float Tensor::at(std::initializer_list<int64_t> index) const {
    if (static_cast<int>(index.size()) != dim())
        fail("at", "{} indices given for a tensor of shape {}", index.size(), shape_str(shape()));
    int64_t flat = 0;
    int d = 0;
    for (int64_t i : index) {
        if (i < 0 || i >= shape()[d]) fail("at", "index {} out of range in dim {} of shape {}", i, d, shape_str(shape()));
        flat = flat * shape()[d] + i;
        ++d;
    }
    return data()[flat];
}

bool Tensor::requires_grad() const { return checked().requires_grad; }

Tensor& Tensor::set_requires_grad(bool on) {
    if (checked().grad_fn) fail("tensor", "requires_grad can only be set on leaves; '{}' was produced by {}",
                                label(), impl_->grad_fn->op);
    impl_->requires_grad = on;
    return *this;
}

bool Tensor::is_leaf() const { return checked().grad_fn == nullptr; }
bool Tensor::has_grad() const { return checked().grad != nullptr; }

Tensor Tensor::grad() const {
    if (!has_grad()) return Tensor();
    return make(shape(), impl_->grad);
}

namespace {
// Sets every value to 0: by all threads when there are many (a gradient of M's FFN is 3M values).
void fill_zero(FloatBuffer& values) {
    const int64_t n = static_cast<int64_t>(values.size()), chunk = int64_t{1} << 15;
    parallel_for((n + chunk - 1) / chunk, n >= 4 * chunk, [&](int64_t c) {
        std::fill(values.begin() + c * chunk, values.begin() + std::min(n, (c + 1) * chunk), 0.0f);
    });
}
}  // namespace

float* Tensor::grad_data(bool* fresh) {
    TensorImpl& impl = checked();
    if (fresh) *fresh = !impl.grad;
    if (!impl.grad) {
        impl.grad = std::make_shared<Storage>();
        impl.grad->values.resize(impl.storage->values.size());  // uninitialised
        if (!fresh) fill_zero(impl.grad->values);
    }
    return impl.grad->values.data();
}

void Tensor::zero_grad() {
    if (has_grad()) fill_zero(impl_->grad->values);
}

Tensor& Tensor::retain_grad() {
    checked().retain_grad = true;
    return *this;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const { return checked().grad_fn; }

Tensor Tensor::detach() const {
    Tensor t = make(shape(), checked().storage);
    t.impl_->label = impl_->label;
    return t;
}

Tensor Tensor::clone() const {
    auto storage = std::make_shared<Storage>(*checked().storage);
    Tensor t = make(shape(), std::move(storage));
    t.impl_->label = impl_->label;
    return t;
}

Tensor& Tensor::copy_from(const Tensor& other) {
    if (shape() != other.shape())
        fail("copy_from", "shapes differ: destination {} vs source {}", shape_str(shape()), shape_str(other.shape()));
    std::copy(other.values().begin(), other.values().end(), values().begin());
    return *this;
}

const std::string& Tensor::label() const { return checked().label; }
Tensor& Tensor::set_label(std::string label) {
    checked().label = std::move(label);
    return *this;
}

bool any_requires_grad(const std::vector<Tensor>& inputs) {
    return std::any_of(inputs.begin(), inputs.end(), [](const Tensor& t) { return t.requires_grad(); });
}

void attach(Tensor& out, std::shared_ptr<Node> node) {
    out.impl()->requires_grad = true;
    out.impl()->grad_fn = std::move(node);
}

namespace {
thread_local bool grad_mode = true;
}
bool grad_enabled() { return grad_mode; }
NoGradGuard::NoGradGuard() : previous_(grad_mode) { grad_mode = false; }
NoGradGuard::~NoGradGuard() { grad_mode = previous_; }

}  // namespace bayun

auto fmt::formatter<bayun::Tensor>::format(const bayun::Tensor& t, fmt::format_context& ctx) const
    -> decltype(ctx.out()) {
    if (!t.defined()) return fmt::format_to(ctx.out(), "Tensor(undefined)");
    constexpr int64_t shown = 6;
    std::string values;
    const int64_t n = t.numel();
    for (int64_t i = 0; i < std::min(n, shown); ++i) values += fmt::format("{}{:.4f}", i ? ", " : "", t.data()[i]);
    if (n > shown) values += ", ...";
    std::string name = t.label().empty() ? "" : fmt::format("'{}' ", t.label());
    std::string suffix;
    if (t.grad_fn()) suffix = fmt::format(" grad_fn={}", t.grad_fn()->op);
    else if (t.requires_grad()) suffix = " requires_grad";
    return fmt::format_to(ctx.out(), "Tensor {}{} [{}]{}", name, bayun::shape_str(t.shape()), values, suffix);
}
