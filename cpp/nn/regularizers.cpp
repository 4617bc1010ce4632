#include "nn/regularizers.hpp"

#include <cmath>

#include "fastmlp/simd_clones.hpp"

namespace fastmlp {
namespace {

constexpr index_t kLanes = 8;  // independent partial sums: a fixed order, so results are deterministic

}  // namespace

FASTMLP_VECTOR_CLONES
double weight_penalty(index_t n, const float* w, float l1, float l2, float* grad) {
  // Eight partial sums in double break the dependency chain of one running sum (and vectorise)
  // while keeping the summation order fixed: the result does not depend on the machine.
  double abs_acc[kLanes] = {};
  double sq_acc[kLanes] = {};
  const index_t full = n - n % kLanes;
  for (index_t i = 0; i < full; i += kLanes) {
    for (index_t k = 0; k < kLanes; ++k) {
      const double v = w[i + k];
      abs_acc[k] += std::fabs(v);
      sq_acc[k] += v * v;
    }
  }
  for (index_t i = full; i < n; ++i) {
    const double v = w[i];
    abs_acc[0] += std::fabs(v);
    sq_acc[0] += v * v;
  }
  double abs_sum = 0.0;
  double sq_sum = 0.0;
  for (index_t k = 0; k < kLanes; ++k) {
    abs_sum += abs_acc[k];
    sq_sum += sq_acc[k];
  }
  if (grad) {
    const float two_l2 = 2.0f * l2;
    for (index_t i = 0; i < n; ++i) {
      const float sign = static_cast<float>(w[i] > 0.0f) - static_cast<float>(w[i] < 0.0f);  // sign(0) = 0
      grad[i] += l1 * sign + two_l2 * w[i];
    }
  }
  return static_cast<double>(l1) * abs_sum + static_cast<double>(l2) * sq_sum;
}

}  // namespace fastmlp
