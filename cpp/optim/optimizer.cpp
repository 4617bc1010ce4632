#include "optim/optimizer.hpp"

#include <algorithm>

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

Optimizer Optimizer::make_rmsprop(const RmspropConfig& cfg) {
  Optimizer o;
  o.kind_ = Kind::RMSprop;
  o.rmsprop_ = cfg;
  return o;
}

Optimizer Optimizer::make_adagrad(const AdagradConfig& cfg) {
  Optimizer o;
  o.kind_ = Kind::Adagrad;
  o.adagrad_ = cfg;
  return o;
}

void Optimizer::reset_state(index_t n) {
  steps_ = 0;
  index_t n1 = 0, n2 = 0, n3 = 0;
  switch (kind_) {
    case Kind::SGD:
      n1 = sgd_.momentum != 0.0f ? n : 0;
      break;
    case Kind::Adam:
      n1 = n2 = n;
      n3 = adam_.amsgrad ? n : 0;
      break;
    case Kind::RMSprop:
      n1 = n;
      n2 = rmsprop_.momentum > 0.0f ? n : 0;
      n3 = rmsprop_.centered ? n : 0;
      break;
    case Kind::Adagrad:
      n1 = n;
      break;
  }
  state1_.reset(n1);
  state2_.reset(n2);
  state3_.reset(n3);
  if (kind_ == Kind::Adagrad) std::fill(state1_.data(), state1_.data() + n1, adagrad_.initial_accumulator_value);
}

namespace {
float* at(AlignedBuffer<float>& b, index_t offset) { return b.data() ? b.data() + offset : nullptr; }
}  // namespace

void Optimizer::update(index_t offset, index_t n, float* params, const float* grads) {
  float* p = params + offset;
  const float* g = grads + offset;
  switch (kind_) {
    case Kind::SGD:
      sgd_step(sgd_, n, p, g, at(state1_, offset), steps_ == 1);
      break;
    case Kind::Adam:
      adam_step(adam_, n, p, g, at(state1_, offset), at(state2_, offset), at(state3_, offset), steps_);
      break;
    case Kind::RMSprop:
      rmsprop_step(rmsprop_, n, p, g, at(state1_, offset), at(state2_, offset), at(state3_, offset));
      break;
    case Kind::Adagrad:
      adagrad_step(adagrad_, n, p, g, at(state1_, offset), steps_);
      break;
  }
}

float Optimizer::learning_rate() const {
  switch (kind_) {
    case Kind::SGD: return sgd_.lr;
    case Kind::Adam: return adam_.lr;
    case Kind::RMSprop: return rmsprop_.lr;
    case Kind::Adagrad: return adagrad_.lr;
  }
  return 0.0f;
}

void Optimizer::set_learning_rate(float lr) {
  switch (kind_) {
    case Kind::SGD: sgd_.lr = lr; break;
    case Kind::Adam: adam_.lr = lr; break;
    case Kind::RMSprop: rmsprop_.lr = lr; break;
    case Kind::Adagrad: adagrad_.lr = lr; break;
  }
}

bool Optimizer::has_momentum() const {
  switch (kind_) {
    case Kind::SGD: return state1_.data() != nullptr;
    case Kind::Adam: return true;
    case Kind::RMSprop: return state2_.data() != nullptr;
    case Kind::Adagrad: return false;
  }
  return false;
}

void Optimizer::set_momentum(float momentum) {
  if (!has_momentum()) return;
  switch (kind_) {
    case Kind::SGD: sgd_.momentum = momentum; break;
    case Kind::Adam: adam_.beta1 = momentum; break;
    case Kind::RMSprop: rmsprop_.momentum = momentum; break;
    case Kind::Adagrad: break;
  }
}

std::vector<Optimizer::StateBuffer> Optimizer::state_buffers() {
  std::vector<StateBuffer> out;
  auto add = [&out](const char* name, AlignedBuffer<float>& b) {
    if (b.data()) out.push_back({name, &b});
  };
  switch (kind_) {
    case Kind::SGD:
      add("momentum_buffer", state1_);
      break;
    case Kind::Adam:
      add("exp_avg", state1_);
      add("exp_avg_sq", state2_);
      add("max_exp_avg_sq", state3_);
      break;
    case Kind::RMSprop:
      add("square_avg", state1_);
      add("momentum_buffer", state2_);
      add("grad_avg", state3_);
      break;
    case Kind::Adagrad:
      add("sum", state1_);
      break;
  }
  return out;
}

}  // namespace fastmlp
