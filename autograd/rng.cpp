// Rng implementation: xoshiro256** (Blackman and Vigna, https://prng.di.unimi.it/).
#include "autograd/rng.h"

#include <cmath>
#include <numbers>

namespace bayun {

namespace {
uint64_t splitmix64(uint64_t& x) {
    uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
}  // namespace

void Rng::reseed(uint64_t seed) {
    for (auto& word : s_) word = splitmix64(seed);
}

uint64_t Rng::next_u64() {
    const uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

float Rng::uniform() { return static_cast<float>(next_u64() >> 40) * (1.0f / 16777216.0f); }

float Rng::normal() {
    // Box-Muller: two uniforms give one normal (we drop the second so the state stays four integers).
    float u1 = uniform();
    float u2 = uniform();
    if (u1 < 1e-30f) u1 = 1e-30f;
    return std::sqrt(-2.0f * std::log(u1)) * std::cos(2.0f * std::numbers::pi_v<float> * u2);
}

uint64_t Rng::below(uint64_t n) {
    // Lemire's rejection: unbiased for any n.
    const uint64_t threshold = (0 - n) % n;
    for (;;) {
        const uint64_t r = next_u64();
        if (r >= threshold) return r % n;
    }
}

}  // namespace bayun
