#include "runtime/finite.hpp"

#include <cstdint>
#include <cstring>

#include "fastmlp/simd_clones.hpp"

namespace fastmlp {

FASTMLP_VECTOR_CLONES
bool all_finite(const float* data, index_t n) {
  // A float is NaN or Inf exactly when its exponent bits are all ones. Checking bits is an
  // integer OR-reduction, which vectorises without reassociating floating-point sums.
  constexpr std::uint32_t kExponent = 0x7f800000u;
  constexpr index_t kBlock = 4096;  // stop early on bad data without a branch per element
  for (index_t start = 0; start < n; start += kBlock) {
    const index_t end = n - start < kBlock ? n : start + kBlock;
    std::uint32_t bad = 0;
    for (index_t i = start; i < end; ++i) {
      std::uint32_t bits;
      std::memcpy(&bits, data + i, sizeof bits);
      bad |= static_cast<std::uint32_t>((bits & kExponent) == kExponent);
    }
    if (bad) return false;
  }
  return true;
}

}  // namespace fastmlp
