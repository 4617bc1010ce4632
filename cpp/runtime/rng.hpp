#pragma once
// The model's seeded random generator: xoshiro256** seeded through splitmix64. Small, fast,
// with a state that can be saved; every random draw of a model (initialisation, shuffling,
// dropout) comes from generators like this one, never from global state.
#include <array>
#include <cmath>
#include <cstdint>

namespace fastmlp {

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 0) { reseed(seed); }

  void reseed(std::uint64_t seed) {
    for (auto& word : state_) word = splitmix64(seed);
  }

  std::uint64_t next_u64() {
    const std::uint64_t result = rotl(state_[1] * 5, 7) * 9;
    const std::uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

  // Uniform in [0, 1) with 24 random bits: every value is exactly representable as a float.
  float uniform() { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

  // Uniform in (0, 1) with 53 random bits: never 0, so its logarithm is finite.
  double uniform_open() { return (static_cast<double>(next_u64() >> 11) + 0.5) * 0x1.0p-53; }

  // Standard normal (Box-Muller; one value per call, the second is dropped so that every draw
  // consumes the same two words whatever was drawn before).
  double normal() {
    const double radius = std::sqrt(-2.0 * std::log(uniform_open()));
    return radius * std::cos(6.283185307179586 * uniform_open());
  }

  // Uniform in [-bound, bound).
  float uniform_symmetric(float bound) { return bound * (2.0f * uniform() - 1.0f); }

  // Uniform integer in [0, n), without modulo bias (Lemire's multiply-and-reject).
  std::uint64_t below(std::uint64_t n) {
    __extension__ typedef unsigned __int128 u128;
    u128 product = static_cast<u128>(next_u64()) * n;
    std::uint64_t low = static_cast<std::uint64_t>(product);
    if (low < n) {
      const std::uint64_t threshold = -n % n;
      while (low < threshold) {
        product = static_cast<u128>(next_u64()) * n;
        low = static_cast<std::uint64_t>(product);
      }
    }
    return static_cast<std::uint64_t>(product >> 64);
  }

  using State = std::array<std::uint64_t, 4>;
  const State& state() const { return state_; }
  // Any state but all zeros (xoshiro's one fixed point) is valid.
  void set_state(const State& state) { state_ = state; }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  static std::uint64_t splitmix64(std::uint64_t& x) {
    std::uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  std::array<std::uint64_t, 4> state_{};
};

}  // namespace fastmlp
