#include <cmath>

#include "fastmlp/simd_clones.hpp"
#include "optim/optimizer.hpp"

namespace fastmlp {

FASTMLP_VECTOR_CLONES
void adagrad_step(const AdagradConfig& cfg, index_t n, float* params, const float* grads, float* sum,
                  std::int64_t step) {
  // clr = lr / (1 + (step - 1) * lr_decay), computed in double as torch does in Python
  const float clr = static_cast<float>(static_cast<double>(cfg.lr) /
                                       (1.0 + static_cast<double>(step - 1) * static_cast<double>(cfg.lr_decay)));
  const float wd = cfg.weight_decay, eps = cfg.eps;
  for (index_t i = 0; i < n; ++i) {
    const float g = grads[i] + wd * params[i];
    const float s = sum[i] + g * g;  // state_sum.addcmul_(g, g, value=1)
    sum[i] = s;
    params[i] -= clr * (g / (std::sqrt(s) + eps));  // param.addcdiv_(g, sqrt(sum) + eps, value=-clr)
  }
}

}  // namespace fastmlp
