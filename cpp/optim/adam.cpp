#include <cmath>

#include "fastmlp/simd_clones.hpp"
#include "optim/optimizer.hpp"

namespace fastmlp {

FASTMLP_VECTOR_CLONES
void adam_step(const AdamConfig& cfg, index_t n, float* params, const float* grads, float* exp_avg,
               float* exp_avg_sq, std::int64_t step) {
  const double t = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(static_cast<double>(cfg.beta1), t);
  const double bias_correction2 = 1.0 - std::pow(static_cast<double>(cfg.beta2), t);
  const float step_size = static_cast<float>(cfg.lr / bias_correction1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bias_correction2));
  const float one_minus_b1 = 1.0f - cfg.beta1, b2 = cfg.beta2, one_minus_b2 = 1.0f - cfg.beta2;
  const float wd = cfg.weight_decay, eps = cfg.eps;
  for (index_t i = 0; i < n; ++i) {
    const float g = grads[i] + wd * params[i];
    const float m = exp_avg[i] + one_minus_b1 * (g - exp_avg[i]);
    const float v = b2 * exp_avg_sq[i] + one_minus_b2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    params[i] -= step_size * (m / (std::sqrt(v) * inv_sqrt_bc2 + eps));
  }
}

}  // namespace fastmlp
