#pragma once
// The network: a stack of dense and dropout layers over one flat parameter block, one flat
// gradient block (same layout) and one optimizer, plus the C++ training loop.
#include <atomic>
#include <cstdint>
#include <functional>
#include <vector>

#include "fastmlp/types.hpp"
#include "nn/activations.hpp"
#include "nn/losses.hpp"
#include "optim/optimizer.hpp"
#include "runtime/aligned_buffer.hpp"
#include "runtime/fp_mode.hpp"
#include "runtime/rng.hpp"

namespace fastmlp {

struct LayerSpec {
  enum class Kind { Dense, Dropout };
  Kind kind = Kind::Dense;
  index_t units = 0;                       // Dense: output width
  Activation activation = Activation::Identity;  // Dense
  float rate = 0.0f;                       // Dropout: probability of zeroing a value
};

// Where one parameter tensor lives in the flat block: a (rows, cols) row-major matrix at
// `offset` floats (a bias is (out, 1)). Layout per dense layer: weight (out, in), then bias (out,).
struct ParamTensor {
  bool is_bias;
  index_t offset;
  index_t rows;
  index_t cols;
};

struct StepResult {
  LossStats stats;        // of the batch, before the update
  bool diverged = false;  // the loss or a gradient was NaN or Inf: nothing was updated
};

struct EpochResult {
  LossStats stats;
  index_t samples = 0;  // samples trained on (fewer than n when interrupted)
  index_t steps = 0;       // steps taken, the diverging one included
  bool interrupted = false;
  bool diverged = false;   // the last step diverged (see StepResult): it made no update, the epoch stopped
};

class Network {
 public:
  // Builds the layers and draws the initial weights from `seed` exactly like PyTorch's nn.Linear:
  // W and b uniform in [-1/sqrt(in), 1/sqrt(in)) (kaiming_uniform with a = sqrt(5)).
  Network(index_t input_dim, const std::vector<LayerSpec>& specs, std::uint64_t seed);

  index_t input_dim() const { return input_dim_; }
  index_t output_dim() const { return output_dim_; }
  index_t num_params() const { return params_.size(); }
  float* params() { return params_.data(); }
  float* grads() { return grads_.data(); }
  const std::vector<ParamTensor>& param_tensors() const { return tensors_; }

  void set_loss(Loss loss) { loss_ = loss; }
  Loss loss() const { return loss_; }
  // Installs the optimizer with fresh (zero) state.
  void set_optimizer(Optimizer opt);
  // The optimizer's learning rate, changeable between steps without resetting its state.
  float learning_rate() const { return optimizer_.lr(); }
  void set_learning_rate(float lr) { optimizer_.set_lr(lr); }

  // Forward, loss, backward and update on one batch x: (rows, input_dim). Returns the loss
  // statistics of the batch before the update; grads() holds the batch's gradient afterwards.
  // When the loss or any gradient is not finite (divergence) nothing is updated: the weights and
  // the optimizer state stay as they were.
  StepResult train_step(const float* x, const Targets& targets, index_t rows);

  // One pass over X: (n, input_dim) in mini-batches (the last one may be short), reshuffled when
  // `shuffle`. `should_stop` is polled after every batch; returning true ends the epoch early.
  // A diverging step ends the epoch at once with `diverged` set (see train_step).
  // `progress`, when set, is called after every batch (before `should_stop`) with the samples
  // trained on so far and their summed statistics (for a progress display).
  EpochResult train_epoch(const float* x, const Targets& targets, index_t n, index_t batch_size, bool shuffle,
                          const std::function<bool()>& should_stop,
                          const std::function<void(index_t, const LossStats&)>& progress = {});

  // Forward in inference mode (dropout off), loss and backward on (x, targets): grads() receives
  // the gradient of the mean loss. No parameter or optimizer state changes (for gradient checks).
  LossStats compute_gradients(const float* x, const Targets& targets, index_t rows);

  // out: (n, output_dim) = the network outputs in inference mode (dropout off).
  void predict(const float* x, index_t n, float* out, const std::function<bool()>& should_stop);
  // The loss statistics over (x, targets) in inference mode.
  LossStats evaluate(const float* x, const Targets& targets, index_t n, const std::function<bool()>& should_stop);

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
    index_t weight_offset;  // Dense only
    index_t bias_offset;    // Dense only
  };

  void ensure_workspace(index_t rows);
  // Runs the layers on x (rows, input_dim); returns the output (rows, output_dim).
  const float* forward(const float* x, index_t rows, bool training);
  // Backpropagates the gradient in grad_buffers_[0] (rows, output_dim) into grads_ (overwriting).
  // `training` must match the forward pass: dropout masks are applied only when it is true.
  void backward(index_t rows, bool training = true);
  StepResult step_on_batch(const float* x, const Targets& targets, index_t rows);

  index_t input_dim_ = 0;
  index_t output_dim_ = 0;
  index_t max_width_ = 0;
  index_t first_param_layer_ = -1;  // no input gradient is needed at or below this layer
  std::vector<Layer> layers_;
  std::vector<ParamTensor> tensors_;
  AlignedBuffer<float> params_;
  AlignedBuffer<float> grads_;
  Loss loss_ = Loss::MSE;
  Optimizer optimizer_;
  bool has_optimizer_ = false;
  Rng shuffle_rng_;
  Rng dropout_rng_;
  std::atomic<bool> in_use_{false};

  // Workspace, sized for `capacity_rows_` rows and grown (never per batch) when a call needs more.
  index_t capacity_rows_ = 0;
  std::vector<AlignedBuffer<float>> outputs_;       // per layer: (rows, out)
  std::vector<AlignedBuffer<float>> dropout_masks_; // per dropout layer: (rows, width) of 0 or 1/(1-rate)
  std::vector<const float*> layer_inputs_;          // per layer: what the last forward fed it
  AlignedBuffer<float> grad_buffers_[2];            // ping-pong (rows, max_width) gradients
  AlignedBuffer<float> batch_x_;                    // gathered shuffled batch (rows, input_dim)
  AlignedBuffer<float> batch_values_;               // gathered regression targets (rows, output_dim)
  std::vector<std::int64_t> batch_labels_;          // gathered class labels (rows,)
  std::vector<index_t> order_;                      // sample order of the current epoch
};

}  // namespace fastmlp
