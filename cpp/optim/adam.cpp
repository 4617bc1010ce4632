#include <algorithm>
#include <cmath>

#include "fastmlp/simd_clones.hpp"
#include "optim/optimizer.hpp"

namespace fastmlp {
namespace {

// The element-wise loop, specialised so that each variant is a branch-free vector loop; inlined
// into the multi-versioned entry point below, so every instruction-set clone gets its own copy.
template <bool kAmsgrad, bool kDecoupled>
__attribute__((always_inline)) inline void adam_loop(index_t n, float* params, const float* grads, float* exp_avg,
                                                     float* exp_avg_sq, float* max_exp_avg_sq, float wd, float keep,
                                                     float one_minus_b1, float b2, float one_minus_b2,
                                                     float step_size, float inv_sqrt_bc2, float eps) {
  for (index_t i = 0; i < n; ++i) {
    float p = params[i];
    float g = grads[i];
    if constexpr (kDecoupled)
      p *= keep;  // AdamW: param.mul_(1 - lr * weight_decay) before the Adam update
    else
      g += wd * p;  // Adam: L2 penalty in the gradient
    // exp_avg.lerp_(g, 1 - beta1) and exp_avg_sq.mul_(beta2).addcmul_(g, g, 1 - beta2), as torch
    const float m = exp_avg[i] + one_minus_b1 * (g - exp_avg[i]);
    const float v = b2 * exp_avg_sq[i] + one_minus_b2 * g * g;
    exp_avg[i] = m;
    exp_avg_sq[i] = v;
    float v_used = v;
    if constexpr (kAmsgrad) {
      v_used = std::max(max_exp_avg_sq[i], v);  // both finite and >= 0: no NaN rule needed, and vmaxps
      max_exp_avg_sq[i] = v_used;
    }
    params[i] = p - step_size * (m / (std::sqrt(v_used) * inv_sqrt_bc2 + eps));
  }
}

}  // namespace

FASTMLP_VECTOR_CLONES
void adam_step(const AdamConfig& cfg, index_t n, float* params, const float* grads, float* exp_avg,
               float* exp_avg_sq, float* max_exp_avg_sq, std::int64_t step) {
  const double t = static_cast<double>(step);
  const double bias_correction1 = 1.0 - std::pow(static_cast<double>(cfg.beta1), t);
  const double bias_correction2 = 1.0 - std::pow(static_cast<double>(cfg.beta2), t);
  const float step_size = static_cast<float>(cfg.lr / bias_correction1);
  const float inv_sqrt_bc2 = static_cast<float>(1.0 / std::sqrt(bias_correction2));
  const float one_minus_b1 = 1.0f - cfg.beta1, b2 = cfg.beta2, one_minus_b2 = 1.0f - cfg.beta2;
  const float eps = cfg.eps;
  const float wd = cfg.weight_decay;
  const float keep = static_cast<float>(1.0 - static_cast<double>(cfg.lr) * cfg.weight_decay);
  float* vmax = max_exp_avg_sq;
#define FASTMLP_ADAM_LOOP(AMS, DEC) \
  adam_loop<AMS, DEC>(n, params, grads, exp_avg, exp_avg_sq, vmax, wd, keep, one_minus_b1, b2, one_minus_b2, step_size, \
                      inv_sqrt_bc2, eps)
  if (cfg.amsgrad) {
    if (cfg.decoupled_weight_decay) FASTMLP_ADAM_LOOP(true, true); else FASTMLP_ADAM_LOOP(true, false);
  } else {
    if (cfg.decoupled_weight_decay) FASTMLP_ADAM_LOOP(false, true); else FASTMLP_ADAM_LOOP(false, false);
  }
#undef FASTMLP_ADAM_LOOP
}

}  // namespace fastmlp
