#pragma once
// Optimizers: each rule is one pass over the flat parameter, gradient and state buffers,
// with PyTorch's semantics and defaults.
#include <cstdint>

#include "fastmlp/types.hpp"
#include "runtime/aligned_buffer.hpp"

namespace fastmlp {

struct SgdConfig {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

struct AdamConfig {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // L2 penalty added to the gradient (torch.optim.Adam), not decoupled
};

// torch.optim.SGD: g += wd * p; buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g;
// g = nesterov ? g + momentum * buf : buf; p -= lr * g.
void sgd_step(const SgdConfig& cfg, index_t n, float* params, const float* grads, float* momentum_buf,
              bool first_step);

// torch.optim.Adam; `step` counts from 1 (this update included).
void adam_step(const AdamConfig& cfg, index_t n, float* params, const float* grads, float* exp_avg,
               float* exp_avg_sq, std::int64_t step);

// An optimizer rule with its state buffers, sized for one flat parameter block.
class Optimizer {
 public:
  enum class Kind { SGD, Adam };

  static Optimizer make_sgd(const SgdConfig& cfg);
  static Optimizer make_adam(const AdamConfig& cfg);

  // Allocates zeroed state for n parameters and restarts the step count.
  void reset_state(index_t n);
  // One optimizer step is begin_step() followed by update() over every parameter range once, in
  // any order (the network makes one update over the whole flat buffer).
  void begin_step() { ++steps_; }
  // Updates params[offset, offset + n) from grads[offset, offset + n) and the matching state.
  void update(index_t offset, index_t n, float* params, const float* grads);

  // The learning rate of the installed rule; set_lr changes it without touching the state
  // (torch's `param_group["lr"] = lr`), for learning-rate schedules between steps.
  float lr() const { return kind_ == Kind::SGD ? sgd_.lr : adam_.lr; }
  void set_lr(float lr) { (kind_ == Kind::SGD ? sgd_.lr : adam_.lr) = lr; }

 private:
  Kind kind_ = Kind::SGD;
  SgdConfig sgd_;
  AdamConfig adam_;
  std::int64_t steps_ = 0;
  AlignedBuffer<float> state1_;  // SGD momentum buffer | Adam first moment
  AlignedBuffer<float> state2_;  // Adam second moment
};

}  // namespace fastmlp
