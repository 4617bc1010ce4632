#include "nn/regularizers.hpp"

#include <cmath>

#include "fastmlp/simd_clones.hpp"

namespace fastmlp {
namespace {

constexpr index_t kLanes = 8;  // independent partial sums: a fixed order, so results are deterministic

}  // namespace

// One pass over w (and grad): the sums and the gradient used to take a pass each, and a wide
// first layer (5M weights) is read from memory every step. A penalty whose factor is zero skips
// its sum: 0 * sum is exactly 0, so the total is the same.
template <bool L1, bool L2, bool Grad>
__attribute__((always_inline)) inline double penalty_pass(index_t n, const float* w, float l1, float l2,
                                                          float* grad) {
  // Eight partial sums in double break the dependency chain of one running sum (and vectorise)
  // while keeping the summation order fixed: the result does not depend on the machine.
  double abs_acc[kLanes] = {};
  double sq_acc[kLanes] = {};
  const float two_l2 = 2.0f * l2;
  const auto visit = [&](index_t i, index_t lane) {
    const float x = w[i];
    const double v = x;
    if (L1) abs_acc[lane] += std::fabs(v);
    if (L2) sq_acc[lane] += v * v;
    if (Grad) {
      const float sign = static_cast<float>(x > 0.0f) - static_cast<float>(x < 0.0f);  // sign(0) = 0
      grad[i] += l1 * sign + two_l2 * x;
    }
  };
  const index_t full = n - n % kLanes;
  for (index_t i = 0; i < full; i += kLanes)
    for (index_t k = 0; k < kLanes; ++k) visit(i + k, k);
  for (index_t i = full; i < n; ++i) visit(i, 0);  // the tail into lane 0, in order
  double abs_sum = 0.0;
  double sq_sum = 0.0;
  for (index_t k = 0; k < kLanes; ++k) {
    abs_sum += abs_acc[k];
    sq_sum += sq_acc[k];
  }
  return static_cast<double>(l1) * abs_sum + static_cast<double>(l2) * sq_sum;
}

template <bool Grad>
__attribute__((always_inline)) inline double penalty_dispatch(index_t n, const float* w, float l1, float l2,
                                                              float* grad) {
  if (l1 != 0.0f && l2 != 0.0f) return penalty_pass<true, true, Grad>(n, w, l1, l2, grad);
  if (l1 != 0.0f) return penalty_pass<true, false, Grad>(n, w, l1, l2, grad);
  if (l2 != 0.0f) return penalty_pass<false, true, Grad>(n, w, l1, l2, grad);
  return penalty_pass<false, false, Grad>(n, w, l1, l2, grad);
}

FASTMLP_VECTOR_CLONES
double weight_penalty(index_t n, const float* w, float l1, float l2, float* grad) {
  return grad != nullptr ? penalty_dispatch<true>(n, w, l1, l2, grad) : penalty_dispatch<false>(n, w, l1, l2, grad);
}

}  // namespace fastmlp
