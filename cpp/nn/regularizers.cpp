#include "nn/regularizers.hpp"

#include <cmath>

namespace fastmlp {

double weight_penalty(index_t n, const float* w, float l1, float l2, float* grad) {
  double abs_sum = 0.0;
  double sq_sum = 0.0;
  for (index_t i = 0; i < n; ++i) {
    const double v = w[i];
    abs_sum += std::fabs(v);
    sq_sum += v * v;
  }
  if (grad) {
    const float two_l2 = 2.0f * l2;
    for (index_t i = 0; i < n; ++i) {
      const float sign = w[i] > 0.0f ? 1.0f : (w[i] < 0.0f ? -1.0f : 0.0f);
      grad[i] += l1 * sign + two_l2 * w[i];
    }
  }
  return static_cast<double>(l1) * abs_sum + static_cast<double>(l2) * sq_sum;
}

}  // namespace fastmlp
