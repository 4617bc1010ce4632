#include <algorithm>
#include <cmath>

#include "fastmlp/simd_clones.hpp"
#include "optim/optimizer.hpp"

namespace fastmlp {
namespace {

FASTMLP_VECTOR_CLONES
double sum_of_squares(const float* g, index_t n) {
  // Squares of floats are exact in double; 8 independent double accumulators keep the loop
  // vectorisable without reassociation (the result does not depend on the instruction set).
  constexpr int kLanes = 8;
  double acc[kLanes] = {};
  index_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int l = 0; l < kLanes; ++l) {
      const double x = g[i + l];
      acc[l] += x * x;
    }
  for (; i < n; ++i) {
    const double x = g[i];
    acc[0] += x * x;
  }
  double total = 0.0;
  for (double a : acc) total += a;
  return total;
}

FASTMLP_VECTOR_CLONES
void scale(float* g, index_t n, float factor) {
  for (index_t i = 0; i < n; ++i) g[i] *= factor;
}

}  // namespace

double clip_grad_norm(float* grads, index_t n, float max_norm) {
  const double total = std::sqrt(sum_of_squares(grads, n));
  const double coef = static_cast<double>(max_norm) / (total + 1e-6);
  if (coef < 1.0) scale(grads, n, static_cast<float>(coef));
  return total;
}

FASTMLP_VECTOR_CLONES
void clip_grad_value(float* grads, index_t n, float clip_value) {
  const float lo = -clip_value, hi = clip_value;
  for (index_t i = 0; i < n; ++i) grads[i] = std::min(std::max(grads[i], lo), hi);
}

}  // namespace fastmlp
