// Rng: a small, seeded, reproducible random number generator (xoshiro256** seeded by splitmix64) whose
// whole state is four integers, so checkpoints can save it and a resumed run draws the same numbers.
// Used for weight initialisation, dropout masks, batch sampling and token sampling.
#pragma once

#include <array>
#include <cstdint>

namespace bayun {

class Rng {
public:
    explicit Rng(uint64_t seed = 1337) { reseed(seed); }
    void reseed(uint64_t seed);

    uint64_t next_u64();
    float uniform();                          // [0, 1) with 24 bits of randomness
    float normal();                           // standard normal (Box-Muller)
    uint64_t below(uint64_t n);               // uniform integer in [0, n), unbiased

    std::array<uint64_t, 4> state() const { return s_; }
    void set_state(const std::array<uint64_t, 4>& s) { s_ = s; }

private:
    std::array<uint64_t, 4> s_{};
};

}  // namespace bayun
