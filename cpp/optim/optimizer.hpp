#pragma once
// Optimizers: each rule is one pass over the flat parameter, gradient and state buffers,
// with PyTorch's semantics and defaults (torch.optim, single-tensor code path).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

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
  float weight_decay = 0.0f;
  bool amsgrad = false;
  // false: L2 penalty added to the gradient (torch.optim.Adam); true: p *= 1 - lr * wd before the
  // update (torch.optim.AdamW, "decoupled" weight decay).
  bool decoupled_weight_decay = false;
};

struct RmspropConfig {
  float lr = 1e-2f;
  float alpha = 0.99f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;
  float momentum = 0.0f;
  bool centered = false;
};

struct AdagradConfig {
  float lr = 1e-2f;
  float lr_decay = 0.0f;
  float weight_decay = 0.0f;
  float initial_accumulator_value = 0.0f;
  float eps = 1e-10f;
};

// torch.optim.SGD: g += wd * p; buf = g on the first step, else buf = momentum * buf + (1 - dampening) * g;
// g = nesterov ? g + momentum * buf : buf; p -= lr * g.
void sgd_step(const SgdConfig& cfg, index_t n, float* params, const float* grads, float* momentum_buf,
              bool first_step);

// torch.optim.Adam / AdamW; `step` counts from 1 (this update included). max_exp_avg_sq is used
// (and must be non-null) only with amsgrad.
void adam_step(const AdamConfig& cfg, index_t n, float* params, const float* grads, float* exp_avg,
               float* exp_avg_sq, float* max_exp_avg_sq, std::int64_t step);

// torch.optim.RMSprop: g += wd * p; sq = alpha * sq + (1 - alpha) * g^2; centered: ga = lerp(ga, g, 1 - alpha),
// avg = sqrt(sq - ga^2) + eps, else avg = sqrt(sq) + eps; momentum > 0: buf = momentum * buf + g / avg,
// p -= lr * buf; else p -= lr * g / avg. momentum_buf / grad_avg may be null when unused.
void rmsprop_step(const RmspropConfig& cfg, index_t n, float* params, const float* grads, float* square_avg,
                  float* momentum_buf, float* grad_avg);

// torch.optim.Adagrad: g += wd * p; clr = lr / (1 + (step - 1) * lr_decay); sum += g^2;
// p -= clr * g / (sqrt(sum) + eps). `step` counts from 1.
void adagrad_step(const AdagradConfig& cfg, index_t n, float* params, const float* grads, float* sum,
                  std::int64_t step);

// torch.nn.utils.clip_grad_norm_ over one flat gradient: total = ||g||_2 (accumulated in double);
// if max_norm / (total + 1e-6) < 1, g *= that factor. Returns the total norm before clipping.
double clip_grad_norm(float* grads, index_t n, float max_norm);
// torch.nn.utils.clip_grad_value_: g = clamp(g, -clip_value, clip_value).
void clip_grad_value(float* grads, index_t n, float clip_value);

// An optimizer rule with its state buffers, sized for one flat parameter block.
class Optimizer {
 public:
  enum class Kind { SGD, Adam, RMSprop, Adagrad };

  static Optimizer make_sgd(const SgdConfig& cfg);
  static Optimizer make_adam(const AdamConfig& cfg);  // AdamW: cfg.decoupled_weight_decay = true
  static Optimizer make_rmsprop(const RmspropConfig& cfg);
  static Optimizer make_adagrad(const AdagradConfig& cfg);

  Kind kind() const { return kind_; }
  // Allocates the state for n parameters (zeros; Adagrad's sum = initial_accumulator_value) and
  // restarts the step count.
  void reset_state(index_t n);
  // One optimizer step is begin_step() followed by update() over every parameter range once, in
  // any order (the network makes one update over the whole flat buffer).
  void begin_step() { ++steps_; }
  // Updates params[offset, offset + n) from grads[offset, offset + n) and the matching state.
  void update(index_t offset, index_t n, float* params, const float* grads);

  // The learning rate, changeable between steps without touching the state (schedules).
  float learning_rate() const;
  void set_learning_rate(float lr);
  // The momentum-like coefficient that one-cycle schedules vary: SGD and RMSprop momentum, Adam's
  // beta1. False (and nothing changed) when the rule has none (Adagrad) or its momentum buffer was
  // not allocated (SGD or RMSprop built with momentum 0).
  bool has_momentum() const;
  void set_momentum(float momentum);

  // Checkpoint access: the state buffers by PyTorch's state names (each has the size given to
  // reset_state), in a fixed order per rule, and the number of steps taken.
  struct StateBuffer {
    const char* name;
    const AlignedBuffer<float>* buffer;
  };
  std::vector<StateBuffer> state_buffers() const;
  std::int64_t steps() const { return steps_; }

  // A saved state buffer to restore: its name and a 1-D float array (data null and size -1 when
  // the value given was not one).
  struct SavedBuffer {
    std::string name;
    const float* data;
    index_t size;
  };
  // Restores what state_buffers() and steps() described, for the same rule and configuration:
  // `step` (absent: nullopt) must be >= 0 and `buffers` must hold exactly this optimizer's state
  // names, each with one finite value per parameter. Otherwise throws std::invalid_argument naming
  // the problem and changes nothing: the state is copied only after every check passed.
  void set_state(std::optional<std::int64_t> step, const std::vector<SavedBuffer>& buffers);

 private:
  Kind kind_ = Kind::SGD;
  SgdConfig sgd_;
  AdamConfig adam_;
  RmspropConfig rmsprop_;
  AdagradConfig adagrad_;
  std::int64_t steps_ = 0;
  // Calls fn(name, buffer) for each state buffer in use, in the order of state_buffers(); Self is
  // Optimizer or const Optimizer.
  template <typename Self, typename Fn>
  static void for_each_state_buffer(Self& self, Fn fn);

  // The state, one value per parameter, each buffer empty when the rule does not use it:
  AlignedBuffer<float> momentum_buf_;  // SGD and RMSprop momentum_buffer (momentum != 0)
  AlignedBuffer<float> grad_avg_;      // running average of the gradient: Adam exp_avg, RMSprop grad_avg (centered)
  AlignedBuffer<float> sq_avg_;        // of the squared gradient: Adam exp_avg_sq, RMSprop square_avg; Adagrad sum
  AlignedBuffer<float> max_sq_avg_;    // Adam max_exp_avg_sq (amsgrad)
};

}  // namespace fastmlp
