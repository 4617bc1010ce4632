#include "optim/optimizer.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

#include "runtime/finite.hpp"

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
  index_t momentum = 0, grad_avg = 0, sq_avg = 0, max_sq_avg = 0;  // sizes
  switch (kind_) {
    case Kind::SGD:
      momentum = sgd_.momentum != 0.0f ? n : 0;
      break;
    case Kind::Adam:
      grad_avg = sq_avg = n;
      max_sq_avg = adam_.amsgrad ? n : 0;
      break;
    case Kind::RMSprop:
      sq_avg = n;
      momentum = rmsprop_.momentum > 0.0f ? n : 0;
      grad_avg = rmsprop_.centered ? n : 0;
      break;
    case Kind::Adagrad:
      sq_avg = n;
      break;
  }
  momentum_buf_.reset(momentum);
  grad_avg_.reset(grad_avg);
  sq_avg_.reset(sq_avg);
  max_sq_avg_.reset(max_sq_avg);
  if (kind_ == Kind::Adagrad) std::fill(sq_avg_.data(), sq_avg_.data() + sq_avg, adagrad_.initial_accumulator_value);
}

namespace {
float* at(AlignedBuffer<float>& b, index_t offset) { return b.data() ? b.data() + offset : nullptr; }
}  // namespace

void Optimizer::update(index_t offset, index_t n, float* params, const float* grads) {
  float* p = params + offset;
  const float* g = grads + offset;
  switch (kind_) {
    case Kind::SGD:
      sgd_step(sgd_, n, p, g, at(momentum_buf_, offset), steps_ == 1);
      break;
    case Kind::Adam:
      adam_step(adam_, n, p, g, at(grad_avg_, offset), at(sq_avg_, offset), at(max_sq_avg_, offset), steps_);
      break;
    case Kind::RMSprop:
      rmsprop_step(rmsprop_, n, p, g, at(sq_avg_, offset), at(momentum_buf_, offset), at(grad_avg_, offset));
      break;
    case Kind::Adagrad:
      adagrad_step(adagrad_, n, p, g, at(sq_avg_, offset), steps_);
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
    case Kind::SGD: return momentum_buf_.data() != nullptr;
    case Kind::Adam: return true;
    case Kind::RMSprop: return momentum_buf_.data() != nullptr;
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

template <typename Self, typename Fn>
void Optimizer::for_each_state_buffer(Self& self, Fn fn) {
  auto add = [&fn](const char* name, auto& buffer) {
    if (buffer.data()) fn(name, buffer);
  };
  switch (self.kind_) {
    case Kind::SGD:
      add("momentum_buffer", self.momentum_buf_);
      break;
    case Kind::Adam:
      add("exp_avg", self.grad_avg_);
      add("exp_avg_sq", self.sq_avg_);
      add("max_exp_avg_sq", self.max_sq_avg_);
      break;
    case Kind::RMSprop:
      add("square_avg", self.sq_avg_);
      add("momentum_buffer", self.momentum_buf_);
      add("grad_avg", self.grad_avg_);
      break;
    case Kind::Adagrad:
      add("sum", self.sq_avg_);
      break;
  }
}

std::vector<Optimizer::StateBuffer> Optimizer::state_buffers() const {
  std::vector<StateBuffer> out;
  for_each_state_buffer(*this, [&out](const char* name, const AlignedBuffer<float>& b) { out.push_back({name, &b}); });
  return out;
}

void Optimizer::set_state(std::optional<std::int64_t> step, const std::vector<SavedBuffer>& buffers) {
  struct Target {
    const char* name;
    AlignedBuffer<float>* buffer;
    const float* source = nullptr;
  };
  std::vector<Target> own;
  for_each_state_buffer(*this, [&own](const char* name, AlignedBuffer<float>& b) { own.push_back({name, &b}); });
  std::string expected = "'step'";
  for (const Target& t : own) expected += std::string(", '") + t.name + "'";
  if (!step || buffers.size() != own.size()) {
    std::string got = step ? "'step'" : "";
    for (const SavedBuffer& b : buffers) got += (got.empty() ? "'" : ", '") + b.name + "'";
    throw std::invalid_argument("optimizer state must have exactly the keys " + expected +
                                " for this optimizer, got [" + got + "]");
  }
  if (*step < 0) throw std::invalid_argument("optimizer state 'step' must be >= 0, got " + std::to_string(*step));
  for (Target& t : own) {
    const index_t n = t.buffer->size();
    const auto given =
        std::find_if(buffers.begin(), buffers.end(), [&t](const SavedBuffer& b) { return b.name == t.name; });
    if (given == buffers.end())
      throw std::invalid_argument("optimizer state must have exactly the keys " + expected + " for this optimizer; '" +
                                  t.name + "' is missing");
    if (!given->data || given->size != n)
      throw std::invalid_argument(std::string("optimizer state '") + t.name + "' must be a 1-D float array of " +
                                  std::to_string(n) + " values (one per parameter)");
    if (!all_finite(given->data, n))
      throw std::invalid_argument(std::string("optimizer state '") + t.name + "' contains NaN or infinite values");
    t.source = given->data;
  }
  // All checked: now copy, so that a bad entry leaves the state as it was.
  for (const Target& t : own) std::copy(t.source, t.source + t.buffer->size(), t.buffer->data());
  steps_ = *step;
}

}  // namespace fastmlp
