#include "optim/optimizer.hpp"

namespace fastmlp {

Optimizer Optimizer::make_sgd(const SgdConfig& cfg) {
  Optimizer o;
  o.kind_ = Kind::SGD;
  o.sgd_ = cfg;
  return o;
}

Optimizer Optimizer::make_adam(const AdamConfig& cfg) {
  Optimizer o;
  o.kind_ = Kind::Adam;
  o.adam_ = cfg;
  return o;
}

void Optimizer::reset_state(index_t n) {
  steps_ = 0;
  const bool needs_buffer = kind_ == Kind::Adam || sgd_.momentum != 0.0f;
  state1_.reset(needs_buffer ? n : 0);
  state2_.reset(kind_ == Kind::Adam ? n : 0);
}

void Optimizer::update(index_t offset, index_t n, float* params, const float* grads) {
  if (kind_ == Kind::SGD)
    sgd_step(sgd_, n, params + offset, grads + offset, state1_.data() ? state1_.data() + offset : nullptr,
             steps_ == 1);
  else
    adam_step(adam_, n, params + offset, grads + offset, state1_.data() + offset, state2_.data() + offset, steps_);
}

}  // namespace fastmlp
