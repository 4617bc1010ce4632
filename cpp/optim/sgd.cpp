#include "fastmlp/simd_clones.hpp"
#include "optim/optimizer.hpp"

namespace fastmlp {

FASTMLP_VECTOR_CLONES
void sgd_step(const SgdConfig& cfg, index_t n, float* params, const float* grads, float* momentum_buf,
              bool first_step) {
  const float lr = cfg.lr, wd = cfg.weight_decay, mu = cfg.momentum;
  const float keep = 1.0f - cfg.dampening;
  if (mu == 0.0f) {
    for (index_t i = 0; i < n; ++i) params[i] -= lr * (grads[i] + wd * params[i]);
    return;
  }
  for (index_t i = 0; i < n; ++i) {
    const float g = grads[i] + wd * params[i];
    const float buf = first_step ? g : mu * momentum_buf[i] + keep * g;
    momentum_buf[i] = buf;
    params[i] -= lr * (cfg.nesterov ? g + mu * buf : buf);
  }
}

}  // namespace fastmlp
