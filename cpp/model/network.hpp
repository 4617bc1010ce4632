#pragma once
// The network: a stack of dense, dropout, normalisation and activation layers over one flat parameter block,
// one flat gradient block (same layout), one flat block of non-trainable buffers (BatchNorm's
// running statistics) and one optimizer, plus the C++ training loop.
#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "fastmlp/types.hpp"
#include "model/batching.hpp"
#include "model/input.hpp"
#include "model/layer_spec.hpp"
#include "nn/activations.hpp"
#include "nn/losses.hpp"
#include "optim/optimizer.hpp"
#include "runtime/aligned_buffer.hpp"
#include "runtime/fp_mode.hpp"
#include "runtime/rng.hpp"

namespace fastmlp {

// Where one parameter tensor lives in the flat block: `rows * cols` floats at `offset`, row-major.
// Layout per dense layer: weight (out, in), then bias (out,); per affine LayerNorm/BatchNorm layer:
// gamma (width,), then beta (width,). Buffers use the same description over the buffer block:
// running_mean (width,), then running_var (width,), then, for a BatchNorm with a cumulative
// average (momentum=None), its num_batches_tracked: ndim 0, one int64 at `offset` of the counter
// block (counters()), not of the float buffer block.
struct ParamTensor {
  int ndim;  // 2: a (rows, cols) matrix (a Dense weight); 1: a (rows,) vector (cols == 1); 0: an int64 counter
  index_t offset;
  index_t rows;
  index_t cols;
};

struct StepResult {
  LossStats stats;        // of the batch, before the update
  bool diverged = false;  // the loss or a gradient was NaN or Inf: nothing was updated
};

struct EpochResult {
  LossStats stats;         // of the steps that updated: stats.samples < n when interrupted or diverged
  index_t steps = 0;       // steps taken, the diverging one included
  bool interrupted = false;
  bool diverged = false;   // the last step diverged (see StepResult): it made no update, the epoch stopped
};

class Network {
 public:
  // Builds the layers and draws the initial Dense weights and biases from `seed` with each layer's
  // initialisers (by default as PyTorch's nn.Linear: uniform in [-1/sqrt(in), 1/sqrt(in)); see
  // nn/initializers.hpp), layer by layer, weight then bias. Normalisation layers start at gamma 1,
  // beta 0, running_mean 0 and running_var 1 and draw nothing. Throws std::invalid_argument for an
  // invalid spec (a hidden softmax, units <= 0, a rate outside [0, 1), ...).
  Network(index_t input_dim, const std::vector<LayerSpec>& specs, std::uint64_t seed);

  index_t input_dim() const { return input_dim_; }
  index_t output_dim() const { return output_dim_; }
  index_t num_params() const { return params_.size(); }
  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }
  const std::vector<ParamTensor>& param_tensors() const { return tensors_; }
  // Non-trainable state (BatchNorm running statistics), saved with the model.
  float* buffers() { return buffers_.data(); }
  // BatchNorm num_batches_tracked counters (momentum=None layers only), described by the ndim-0
  // entries of buffer_tensors().
  std::int64_t* counters() { return counters_.data(); }
  const std::vector<ParamTensor>& buffer_tensors() const { return buffer_tensors_; }

  // The shuffling and dropout generators' states, for checkpoints: restoring them makes training
  // continue exactly as it would have without a save and load.
  std::array<std::uint64_t, 8> rng_state() const;
  // Restores what rng_state() returned. Throws std::invalid_argument unless `words` are 8 words and
  // neither generator's four are all zeros.
  void set_rng_state(const std::vector<std::uint64_t>& words);

  // Throws std::invalid_argument unless huber_delta is positive and finite and label_smoothing in [0, 1].
  void set_loss(const LossSpec& loss);
  const LossSpec& loss() const { return loss_; }
  // Installs the optimizer with fresh (zero) state.
  void set_optimizer(Optimizer opt);
  Optimizer& optimizer() { return optimizer_; }
  // Gradient clipping between the finiteness check and the update (0 = off): first by the global
  // L2 norm (clip_grad_norm_), then by value (clip_grad_value_).
  void set_gradient_clipping(float clip_norm, float clip_value) {
    UseGuard guard(*this);
    clip_norm_ = clip_norm;
    clip_value_ = clip_value;
  }

  // X in the calls below is an Input: dense (rows, input_dim) row-major, or a CSR matrix whose rows
  // are read where they lie (a Dense first layer multiplies them as they are, bit for bit what the
  // dense rows would give; any other first layer gets each batch's rows densified).

  // Forward, loss, backward and update on one batch x: `rows` rows. Returns the loss
  // statistics of the batch before the update; grads() holds the batch's gradient afterwards.
  // When the loss or any gradient is not finite (divergence) nothing is updated: the weights and
  // the optimizer state stay as they were. Throws std::invalid_argument if a BatchNorm's
  // num_batches_tracked is negative (written so through its view).
  StepResult train_step(const Input& x, const Targets& targets, index_t rows);

  // One pass over X (n rows) in mini-batches (the last one may be short), reshuffled when
  // `shuffle`. `should_stop` is polled after every batch; returning true ends the epoch early.
  // A diverging step ends the epoch at once with `diverged` set (see train_step).
  // step_lrs / step_momenta, when given, hold one value per batch of the epoch: the optimizer's
  // learning rate (momentum, see Optimizer::set_momentum) for that step (per-batch schedules).
  // `progress`, when set, is called after every batch (before `should_stop`) with the samples
  // trained on so far and their summed statistics (for a progress display).
  EpochResult train_epoch(const Input& x, const Targets& targets, index_t n, index_t batch_size, bool shuffle,
                          const std::function<bool()>& should_stop, const float* step_lrs = nullptr,
                          const float* step_momenta = nullptr,
                          const std::function<void(index_t, const LossStats&)>& progress = {});

  // Forward in inference mode (dropout off), loss and backward on (x, targets): grads() receives
  // the gradient of the mean loss. No parameter or optimizer state changes (for gradient checks).
  LossStats compute_gradients(const Input& x, const Targets& targets, index_t rows);

  // out: (n, output_dim) = the network outputs in inference mode (dropout off).
  void predict(const Input& x, index_t n, float* out, const std::function<bool()>& should_stop);
  // The loss statistics over (x, targets) in inference mode.
  LossStats evaluate(const Input& x, const Targets& targets, index_t n, const std::function<bool()>& should_stop);

  // Raises std::runtime_error while another thread is inside a training or inference call, so
  // concurrent use of one model is an error instead of a data race.
  class UseGuard {
   public:
    explicit UseGuard(Network& net);
    ~UseGuard();
    UseGuard(const UseGuard&) = delete;
    UseGuard& operator=(const UseGuard&) = delete;

   private:
    Network& net_;
    FlushDenormalsGuard flush_denormals_;
  };

 private:
  struct Layer {
    LayerSpec::Kind kind;
    index_t in;
    index_t out;
    Activation activation;
    float rate;
    index_t weight_offset;  // Dense: W; affine LayerNorm/BatchNorm: gamma
    index_t bias_offset;    // Dense: b; affine LayerNorm/BatchNorm: beta
    float l1 = 0.0f, l2 = 0.0f;
    float eps = 0.0f;
    float momentum = 0.0f;
    bool affine = false;
    bool track = false;          // BatchNorm with running statistics
    bool cumulative = false;     // BatchNorm with running statistics and momentum=None
    index_t buffer_offset = 0;   // BatchNorm: running_mean, then running_var (width each)
    index_t counter_offset = 0;  // cumulative BatchNorm: its num_batches_tracked in counters_
  };

  void ensure_workspace(index_t rows);
  // The activation a Dense or Activation layer applies in forward/backward: a softmax output layer trained with
  // cross_entropy, and a sigmoid output layer trained with binary_cross_entropy, run linear, because those losses
  // take logits (a stable log-softmax / log-sigmoid); predict applies the activation afterwards.
  Activation applied_activation(const Layer& layer) const;
  // Runs the layers on `rows` rows of x; returns the output (rows, output_dim).
  const float* forward(const InputRows& x, index_t rows, bool training);
  // Backpropagates the gradient in grad_buffers_[0] (rows, output_dim) into grads_ (overwriting).
  // `training` must match the forward pass: dropout masks are applied only when it is true.
  void backward(index_t rows, bool training);
  // Forward, loss, backward and kernel penalties on one batch: grads_ receives the gradient of
  // the batch's mean loss; returns its statistics (the penalties included in loss_sum).
  // `training` selects dropout and batch statistics. In training a non-finite loss returns at once,
  // before the backward pass (the step will not be taken; grads_ keep the last step's gradient).
  LossStats forward_backward(const InputRows& x, const Targets& targets, index_t rows, bool training);
  // A training step: forward_backward, then the update unless the loss or a gradient is not finite.
  StepResult step_on_batch(const InputRows& x, const Targets& targets, index_t rows);
  // Normalisation layers (see nn/layer_norm.hpp, nn/batch_norm.hpp).
  void norm_forward(std::size_t l, const float* x, index_t rows, bool training);
  void norm_backward(std::size_t l, index_t rows, const float* dy, float* dx);
  // BatchNorm: throws std::invalid_argument (ValueError) for a batch of one row where batch
  // statistics are needed, as PyTorch. `context` is appended to the message.
  void check_batch_rows(index_t rows, const std::string& context) const;
  // Moves the running statistics toward the last training batch's (after a successful step); a
  // cumulative BatchNorm first counts the batch and uses the factor 1/num_batches_tracked.
  void update_running_stats(index_t rows);
  // Throws std::invalid_argument if a num_batches_tracked counter is negative.
  void check_counters() const;
  // Sum of the Dense kernel penalties; when `add_gradient`, adds their gradients to grads_.
  double weight_penalties(bool add_gradient);
  // Rows predicted/evaluated per forward pass.
  index_t inference_chunk(index_t n) const;

  index_t input_dim_ = 0;
  index_t output_dim_ = 0;
  index_t max_width_ = 0;             // the widest layer output
  index_t first_param_layer_ = -1;  // no input gradient is needed at or below this layer
  std::vector<Layer> layers_;
  std::vector<ParamTensor> tensors_;
  AlignedBuffer<float> params_;
  AlignedBuffer<float> grads_;
  AlignedBuffer<float> buffers_;                    // non-trainable state, see buffer_tensors_
  std::vector<ParamTensor> buffer_tensors_;
  AlignedBuffer<std::int64_t> counters_;            // per cumulative BatchNorm: num_batches_tracked
  bool has_batch_norm_ = false;                     // batches of 1 row cannot be trained
  bool inference_batch_stats_ = false;              // a BatchNorm without running statistics
  bool has_penalty_ = false;                        // some Dense layer has a kernel penalty
  LossSpec loss_;
  Optimizer optimizer_;
  bool has_optimizer_ = false;
  float clip_norm_ = 0.0f;
  float clip_value_ = 0.0f;
  Rng shuffle_rng_;
  Rng dropout_rng_;
  std::atomic<bool> in_use_{false};

  // Workspace, sized for `capacity_rows_` rows and grown (never per batch) when a call needs more.
  index_t capacity_rows_ = 0;
  std::vector<AlignedBuffer<float>> outputs_;       // per layer: (rows, out)
  std::vector<AlignedBuffer<float>> dropout_masks_; // per dropout layer: (rows, width) of 0 or 1/(1-rate)
  std::vector<AlignedBuffer<float>> preacts_;       // per Dense layer whose activation_needs_input: (rows, out)
  std::vector<const float*> layer_inputs_;          // per layer: what the last forward fed it (null: sparse_input_)
  CsrRows sparse_input_;                            // the sparse rows the last forward fed a Dense first layer
  AlignedBuffer<float> densified_;                  // sparse rows densified for a first layer that is not Dense
  // Per normalisation layer: LayerNorm (2 * rows): row means, then 1/sqrt(var + eps);
  // BatchNorm (5 * width): batch mean, biased variance, 1/sqrt(var + eps), inference scale, shift.
  std::vector<AlignedBuffer<double>> norm_stats_;
  AlignedBuffer<double> norm_acc_;                  // (2 * max_width) BatchNorm column accumulators
  AlignedBuffer<float> grad_buffers_[2];            // ping-pong (rows, max_width) gradients
  Batching batching_;                               // the epoch's sample order and gathered batches
};

}  // namespace fastmlp
