// bayun's two kinds of error, as in the PyTorch C++ frontend:
// - bayun::Error is a user mistake (bad shapes, bad flags, missing or corrupt files). Its message names
//   the place in brackets, what was expected, what was found, and a hint:
//     [matmul] inner dims differ: a (4, 64, 128) vs b (256, 512)
//   The CLI catches it, prints that one line, and exits non-zero.
// - BAYUN_ASSERT guards internal invariants: when it fires, it is a bug in bayun, and it says so with file:line.
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>
#include <string_view>

namespace bayun {

class Error : public std::runtime_error {
public:
    // where: the op, module or subsystem ("matmul", "checkpoint"); message: expected, found, hint.
    Error(std::string_view where, std::string_view message)
        : std::runtime_error(fmt::format("[{}] {}", where, message)) {}
};

class InternalError : public std::logic_error {
public:
    using std::logic_error::logic_error;
};

// Throws bayun::Error with a fmt-formatted message: fail("matmul", "inner dims differ: {} vs {}", a, b).
template <typename... Args>
[[noreturn]] void fail(std::string_view where, fmt::format_string<Args...> format, Args&&... args) {
    throw Error(where, fmt::format(format, std::forward<Args>(args)...));
}

[[noreturn]] inline void internal_error(const char* file, int line, const char* condition, std::string_view what) {
    throw InternalError(fmt::format("internal error (this is a bug in bayun) at {}:{}: {} ({})", file, line, what,
                                    condition));
}

}  // namespace bayun

// Checks an internal invariant in every build type; a failure is a bug, never a user error.
#define BAYUN_ASSERT(condition, what)                                              \
    do {                                                                           \
        if (!(condition)) ::bayun::internal_error(__FILE__, __LINE__, #condition, what); \
    } while (0)
