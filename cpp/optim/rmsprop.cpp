#include <cmath>

#include "fastmlp/simd_clones.hpp"
#include "optim/optimizer.hpp"

namespace fastmlp {
namespace {

template <bool kCentered, bool kMomentum>
__attribute__((always_inline)) inline void rmsprop_loop(const RmspropConfig& cfg, index_t n, float* params,
                                                        const float* grads, float* square_avg, float* momentum_buf,
                                                        float* grad_avg) {
  const float lr = cfg.lr, alpha = cfg.alpha, one_minus_alpha = 1.0f - cfg.alpha;
  const float wd = cfg.weight_decay, eps = cfg.eps, mu = cfg.momentum;
  for (index_t i = 0; i < n; ++i) {
    const float g = grads[i] + wd * params[i];
    // square_avg.mul_(alpha).addcmul_(g, g, value=1 - alpha)
    const float sq = alpha * square_avg[i] + one_minus_alpha * g * g;
    square_avg[i] = sq;
    float avg;
    if constexpr (kCentered) {
      // grad_avg.lerp_(g, 1 - alpha); avg = sqrt(square_avg - grad_avg^2) + eps
      const float ga = grad_avg[i] + one_minus_alpha * (g - grad_avg[i]);
      grad_avg[i] = ga;
      avg = std::sqrt(sq - ga * ga) + eps;
    } else {
      avg = std::sqrt(sq) + eps;
    }
    if constexpr (kMomentum) {
      const float buf = mu * momentum_buf[i] + g / avg;
      momentum_buf[i] = buf;
      params[i] -= lr * buf;
    } else {
      params[i] -= lr * (g / avg);
    }
  }
}

}  // namespace

FASTMLP_VECTOR_CLONES
void rmsprop_step(const RmspropConfig& cfg, index_t n, float* params, const float* grads, float* square_avg,
                  float* momentum_buf, float* grad_avg) {
  // torch decides by momentum > 0 at each step; the buffer exists exactly when it was > 0 at build time
  const bool momentum = momentum_buf != nullptr && cfg.momentum > 0.0f;
  if (cfg.centered) {
    if (momentum)
      rmsprop_loop<true, true>(cfg, n, params, grads, square_avg, momentum_buf, grad_avg);
    else
      rmsprop_loop<true, false>(cfg, n, params, grads, square_avg, momentum_buf, grad_avg);
  } else {
    if (momentum)
      rmsprop_loop<false, true>(cfg, n, params, grads, square_avg, momentum_buf, grad_avg);
    else
      rmsprop_loop<false, false>(cfg, n, params, grads, square_avg, momentum_buf, grad_avg);
  }
}

}  // namespace fastmlp
