#include "model/network.hpp"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>
#include <string>
#include <utility>

#include "nn/batch_norm.hpp"
#include "nn/dense.hpp"
#include "nn/layer_norm.hpp"
#include "nn/regularizers.hpp"
#include "runtime/finite.hpp"
#include "runtime/thread_pool.hpp"

namespace fastmlp {
namespace {

// Threads share the optimizer update and the gradient check only for models with at least this
// many parameters per thread: below, waking a thread costs more than it saves. For wide models the
// update is a memory-bound pass over several flat buffers (Adam: parameters, gradients and two
// moments), a share of each step that would otherwise not scale with the threads.
constexpr std::int64_t kMinParamsPerThread = 1 << 16;
constexpr std::int64_t kParamsAlign = 16;  // one cache line of floats per range start

bool all_finite_parallel(const float* data, index_t n) {
  std::atomic<bool> finite{true};
  parallel_ranges(n, kMinParamsPerThread, kParamsAlign, [&](std::int64_t begin, std::int64_t end) {
    if (!all_finite(data + begin, end - begin)) finite.store(false, std::memory_order_relaxed);
  });
  return finite.load();
}

// Distinct streams for the three uses of randomness, so that e.g. adding dropout does not change
// the initial weights or the shuffling order.
constexpr std::uint64_t kShuffleStream = 0x53485546464c4553ULL;
constexpr std::uint64_t kDropoutStream = 0x44524f504f555453ULL;

// Rows predicted or evaluated per forward pass: large enough for efficient GEMMs, small enough
// that the activations of a wide network stay a few MiB.
constexpr index_t kInferenceRows = 256;

}  // namespace

Network::Network(index_t input_dim, const std::vector<LayerSpec>& specs, std::uint64_t seed)
    : input_dim_(input_dim), shuffle_rng_(seed ^ kShuffleStream), dropout_rng_(seed ^ kDropoutStream) {
  if (input_dim <= 0) throw std::invalid_argument("input_dim must be a positive integer");
  if (specs.empty()) throw std::invalid_argument("a network needs at least one layer");
  index_t width = input_dim;
  index_t n_params = 0;
  // The gradient buffers hold gradients w.r.t. layer outputs only (no layer below the first with
  // parameters gets an input gradient, and those below it keep their width), so the input's width
  // does not size them: a sparse X of a million features must not cost rows x a million floats.
  max_width_ = 0;
  index_t n_buffers = 0;
  index_t n_counters = 0;
  for (const LayerSpec& spec : specs) {
    if ((spec.kind == LayerSpec::Kind::Dense || spec.kind == LayerSpec::Kind::Activation) &&
        spec.activation.kind == Activation::Softmax && layers_.size() + 1 != specs.size())
      throw std::invalid_argument("layers[" + std::to_string(layers_.size()) +
                                  "]: softmax is only allowed on the last layer (the output layer)");
    Layer layer{spec.kind, width, width, spec.activation, spec.rate, 0, 0};
    const index_t index = static_cast<index_t>(layers_.size());
    switch (spec.kind) {
      case LayerSpec::Kind::Dense: {
        if (spec.units <= 0) throw std::invalid_argument("Dense units must be a positive integer");
        if (!(spec.l1 >= 0.0f && spec.l2 >= 0.0f && std::isfinite(spec.l1) && std::isfinite(spec.l2)))
          throw std::invalid_argument("Dense kernel penalties l1 and l2 must be finite and non-negative");
        layer.out = spec.units;
        layer.l1 = spec.l1;
        layer.l2 = spec.l2;
        has_penalty_ = has_penalty_ || spec.l1 > 0.0f || spec.l2 > 0.0f;
        layer.weight_offset = n_params;
        index_t layer_params = 0;
        if (__builtin_mul_overflow(layer.out, layer.in + 1, &layer_params) ||
            __builtin_add_overflow(n_params, layer_params, &n_params))
          throw std::bad_alloc();  // more parameters than memory can address: MemoryError in Python
        layer.bias_offset = layer.weight_offset + layer.out * layer.in;
        tensors_.push_back({2, layer.weight_offset, layer.out, layer.in});
        tensors_.push_back({1, layer.bias_offset, layer.out, 1});
        if (first_param_layer_ < 0) first_param_layer_ = index;
        break;
      }
      case LayerSpec::Kind::Dropout:
        if (!(spec.rate >= 0.0f && spec.rate < 1.0f)) throw std::invalid_argument("Dropout rate must be in [0, 1)");
        break;
      case LayerSpec::Kind::Activation:  // width unchanged, no parameters
        break;
      case LayerSpec::Kind::LayerNorm:
      case LayerSpec::Kind::BatchNorm:  // width unchanged
        if (!(spec.eps > 0.0f && std::isfinite(spec.eps)))
          throw std::invalid_argument("normalisation eps must be a positive finite number");
        layer.eps = spec.eps;
        layer.affine = spec.affine;
        if (spec.kind == LayerSpec::Kind::BatchNorm) {
          if (!spec.cumulative_average && !(spec.momentum >= 0.0f && spec.momentum <= 1.0f))
            throw std::invalid_argument("BatchNorm momentum must be in [0, 1]");
          layer.momentum = spec.momentum;
          layer.track = spec.track_running_stats;
          has_batch_norm_ = true;
          if (layer.track) {
            layer.buffer_offset = n_buffers;
            buffer_tensors_.push_back({1, n_buffers, width, 1});
            buffer_tensors_.push_back({1, n_buffers + width, width, 1});
            n_buffers += 2 * width;
            if (spec.cumulative_average) {
              layer.cumulative = true;
              layer.counter_offset = n_counters;
              buffer_tensors_.push_back({0, n_counters, 1, 1});
              n_counters += 1;
            }
          } else {
            inference_batch_stats_ = true;
          }
        }
        if (layer.affine) {
          layer.weight_offset = n_params;
          layer.bias_offset = n_params + width;
          tensors_.push_back({1, layer.weight_offset, width, 1});
          tensors_.push_back({1, layer.bias_offset, width, 1});
          n_params += 2 * width;
          if (first_param_layer_ < 0) first_param_layer_ = index;
        }
        break;
    }
    width = layer.out;
    max_width_ = std::max(max_width_, width);
    layers_.push_back(layer);
  }
  output_dim_ = width;
  params_.reset(n_params);
  grads_.reset(n_params);
  buffers_.reset(n_buffers);
  counters_.reset(n_counters);  // zeros: no batch tracked yet

  // One generator for all layers, weights then bias, layer by layer.
  Rng init(seed);
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    switch (layer.kind) {
      case LayerSpec::Kind::Dense:
        init_dense_weight(specs[l].kernel_init, layer.out, layer.in, params_.data() + layer.weight_offset, init);
        init_dense_bias(specs[l].bias_init, layer.out, layer.in, params_.data() + layer.bias_offset, init);
        break;
      case LayerSpec::Kind::LayerNorm:
      case LayerSpec::Kind::BatchNorm:
        // gamma 1, beta 0 (already zero); running_mean 0 (already zero), running_var 1. No random
        // draws, so adding a normalisation layer leaves the Dense weights as they were.
        if (layer.affine)
          for (index_t i = 0; i < layer.out; ++i) params_[layer.weight_offset + i] = 1.0f;
        if (layer.track)
          for (index_t i = 0; i < layer.out; ++i) buffers_[layer.buffer_offset + layer.out + i] = 1.0f;
        break;
      case LayerSpec::Kind::Dropout:
      case LayerSpec::Kind::Activation:
        break;
    }
  }
  norm_stats_.resize(layers_.size());
  for (std::size_t l = 0; l < layers_.size(); ++l)
    if (layers_[l].kind == LayerSpec::Kind::BatchNorm) norm_stats_[l].reset(5 * layers_[l].out);
  if (has_batch_norm_) norm_acc_.reset(2 * max_width_);
  outputs_.resize(layers_.size());
  dropout_masks_.resize(layers_.size());
  preacts_.resize(layers_.size());
  layer_inputs_.assign(layers_.size(), nullptr);
  batching_ = Batching(input_dim_, output_dim_);
}

Network::UseGuard::UseGuard(Network& net) : net_(net) {
  if (net_.in_use_.exchange(true))
    throw std::runtime_error("this model is already being used by another thread; "
                             "train or predict with one model from one thread at a time");
}

Network::UseGuard::~UseGuard() { net_.in_use_.store(false); }

std::array<std::uint64_t, 8> Network::rng_state() const {
  std::array<std::uint64_t, 8> state{};
  std::copy(shuffle_rng_.state().begin(), shuffle_rng_.state().end(), state.begin());
  std::copy(dropout_rng_.state().begin(), dropout_rng_.state().end(), state.begin() + 4);
  return state;
}

void Network::set_rng_state(const std::vector<std::uint64_t>& words) {
  UseGuard guard(*this);
  if (words.size() != 8)
    throw std::invalid_argument("state must be 8 uint64 words, got " + std::to_string(words.size()));
  Rng::State shuffle, dropout;
  std::copy(words.begin(), words.begin() + 4, shuffle.begin());
  std::copy(words.begin() + 4, words.end(), dropout.begin());
  const Rng::State zero{};
  if (shuffle == zero || dropout == zero) throw std::invalid_argument("a generator state must not be all zeros");
  shuffle_rng_.set_state(shuffle);
  dropout_rng_.set_state(dropout);
}

void Network::set_loss(const LossSpec& loss) {
  UseGuard guard(*this);
  if (!(loss.huber_delta > 0.0 && std::isfinite(loss.huber_delta)))
    throw std::invalid_argument("huber_delta must be positive and finite");
  if (!(loss.label_smoothing >= 0.0 && loss.label_smoothing <= 1.0))
    throw std::invalid_argument("label_smoothing must be in [0, 1]");
  loss_ = loss;
}

void Network::set_optimizer(Optimizer opt) {
  UseGuard guard(*this);
  optimizer_ = std::move(opt);
  optimizer_.reset_state(num_params());
  has_optimizer_ = true;
}

void Network::ensure_workspace(index_t rows) {
  if (rows <= capacity_rows_) return;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    outputs_[l].reset(rows * layers_[l].out);
    if (layers_[l].kind == LayerSpec::Kind::Dropout) dropout_masks_[l].reset(rows * layers_[l].out);
    if (layers_[l].kind == LayerSpec::Kind::Dense && activation_needs_input(layers_[l].activation))
      preacts_[l].reset(rows * layers_[l].out);
    if (layers_[l].kind == LayerSpec::Kind::LayerNorm) norm_stats_[l].reset(2 * rows);
  }
  grad_buffers_[0].reset(rows * max_width_);
  grad_buffers_[1].reset(rows * max_width_);
  batching_.reserve(rows);
  capacity_rows_ = rows;
}

Activation Network::applied_activation(const Layer& layer) const {
  if (layer.activation.kind == Activation::Softmax && loss_.kind == Loss::CrossEntropy) return Activation::Identity;
  // Keras's binary set-up (a sigmoid output with binary cross-entropy): the loss takes logits, so the sigmoid
  // would otherwise be applied twice. Only the output layer's: a hidden sigmoid is an ordinary activation.
  if (&layer == &layers_.back() && layer.activation.kind == Activation::Sigmoid &&
      loss_.kind == Loss::BinaryCrossEntropy)
    return Activation::Identity;
  return layer.activation;
}

const float* Network::forward(const InputRows& x, index_t rows, bool training) {
  const float* current = x.dense;
  if (current == nullptr && layers_.front().kind != LayerSpec::Kind::Dense) {
    // Only a Dense layer multiplies sparse rows as they are; any other first layer gets this
    // batch's rows densified (never more than a batch).
    densified_.ensure(rows * input_dim_);
    csr_rows_to_dense(x.sparse, rows, densified_.data());
    current = densified_.data();
  }
  sparse_input_ = current == nullptr ? x.sparse : CsrRows{};
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    layer_inputs_[l] = current;
    switch (layer.kind) {
      case LayerSpec::Kind::Dense: {
        // The pre-activation is kept only for training, and only where the backward pass needs it.
        float* z = training && preacts_[l].size() > 0 ? preacts_[l].data() : nullptr;
        const float* w = params_.data() + layer.weight_offset;
        const float* b = params_.data() + layer.bias_offset;
        if (current != nullptr)
          dense_forward({rows, layer.in, layer.out}, applied_activation(layer), current, w, b, outputs_[l].data(), z);
        else  // the first layer, on sparse rows
          dense_forward({rows, layer.in, layer.out}, applied_activation(layer), sparse_input_, w, b,
                        outputs_[l].data(), z);
        current = outputs_[l].data();
        break;
      }
      case LayerSpec::Kind::LayerNorm:
      case LayerSpec::Kind::BatchNorm:
        norm_forward(l, current, rows, training);
        current = outputs_[l].data();
        break;
      case LayerSpec::Kind::Activation:
        // Its input stays where the previous layer wrote it: backward reads it as z.
        activation_forward(applied_activation(layer), rows, layer.out, current, outputs_[l].data());
        current = outputs_[l].data();
        break;
      case LayerSpec::Kind::Dropout:
        // In inference mode (or with rate 0) the identity: `current` passes through untouched.
        if (training && layer.rate > 0.0f) {
          // Inverted dropout: kept values are scaled by 1/(1-rate) so inference needs no rescaling.
          const float keep_scale = 1.0f / (1.0f - layer.rate);
          float* mask = dropout_masks_[l].data();
          float* out = outputs_[l].data();
          for (index_t i = 0; i < rows * layer.out; ++i) {
            mask[i] = dropout_rng_.uniform() < layer.rate ? 0.0f : keep_scale;
            out[i] = current[i] * mask[i];
          }
          current = out;
        }
        break;
    }
  }
  return current;
}

void Network::backward(index_t rows, bool training) {
  int cur = 0;  // grad_buffers_[cur] holds the gradient w.r.t. the current layer's output
  for (index_t l = static_cast<index_t>(layers_.size()) - 1; l >= 0; --l) {
    const auto i = static_cast<std::size_t>(l);
    const Layer& layer = layers_[i];
    const bool need_input_grad = l > first_param_layer_;
    switch (layer.kind) {
      case LayerSpec::Kind::Dense: {
        float* dx = need_input_grad ? grad_buffers_[1 - cur].data() : nullptr;
        if (layer_inputs_[i] == nullptr) {  // the first layer, fed sparse rows: nothing below it
          dense_backward({rows, layer.in, layer.out}, applied_activation(layer), sparse_input_, outputs_[i].data(),
                         grad_buffers_[cur].data(), grads_.data() + layer.weight_offset,
                         grads_.data() + layer.bias_offset, preacts_[i].data());
          return;
        }
        dense_backward({rows, layer.in, layer.out}, applied_activation(layer), layer_inputs_[i],
                       params_.data() + layer.weight_offset, outputs_[i].data(), grad_buffers_[cur].data(),
                       grads_.data() + layer.weight_offset, grads_.data() + layer.bias_offset, dx,
                       preacts_[i].data());
        if (!need_input_grad) return;
        cur = 1 - cur;
        break;
      }
      case LayerSpec::Kind::LayerNorm:
      case LayerSpec::Kind::BatchNorm:
        if (!need_input_grad && !layer.affine) return;
        norm_backward(i, rows, grad_buffers_[cur].data(), need_input_grad ? grad_buffers_[1 - cur].data() : nullptr);
        if (!need_input_grad) return;
        cur = 1 - cur;
        break;
      case LayerSpec::Kind::Activation:
        if (!need_input_grad) return;
        activation_backward(applied_activation(layer), rows, layer.out, layer_inputs_[i], outputs_[i].data(),
                            grad_buffers_[cur].data(), grad_buffers_[cur].data());  // in place
        break;
      case LayerSpec::Kind::Dropout:
        if (!need_input_grad) return;
        if (training && layer.rate > 0.0f) {  // in place
          const float* mask = dropout_masks_[i].data();
          float* g = grad_buffers_[cur].data();
          for (index_t j = 0; j < rows * layer.out; ++j) g[j] *= mask[j];
        }
        break;
    }
  }
}

LossStats Network::forward_backward(const InputRows& x, const Targets& targets, index_t rows, bool training) {
  const float* out = forward(x, rows, training);
  // The batch's sum of weights; a batch whose weights are all zero has a zero gradient.
  const double normaliser = loss_normaliser(loss_, rows, output_dim_, targets);
  LossStats stats = loss_forward_backward(loss_, rows, output_dim_, out, targets, grad_buffers_[0].data(),
                                          mean_grad_scale(normaliser));
  if (training && !std::isfinite(stats.loss_sum)) return stats;  // the step will not be taken
  backward(rows, training);
  // Keras's kernel_regularizer: the penalty joins the reported loss and dW.
  if (has_penalty_) stats.loss_sum += weight_penalties(/*add_gradient=*/true) * normaliser;
  return stats;
}

StepResult Network::step_on_batch(const InputRows& x, const Targets& targets, index_t rows) {
  StepResult result;
  result.stats = forward_backward(x, targets, rows, /*training=*/true);
  // A finite loss can still overflow in backprop (huge weights or inputs). The whole gradient is
  // checked before any parameter moves, so a diverging step leaves weights and optimizer state
  // untouched; this is why the update is not interleaved with the backward pass.
  if (!std::isfinite(result.stats.loss_sum) || !all_finite_parallel(grads_.data(), grads_.size())) {
    result.diverged = true;  // keep the last finite weights
    return result;
  }
  if (clip_norm_ > 0.0f) clip_grad_norm(grads_.data(), grads_.size(), clip_norm_);
  if (clip_value_ > 0.0f) clip_grad_value(grads_.data(), grads_.size(), clip_value_);
  optimizer_.begin_step();
  // The update is element-wise: split over the threads, it gives the same bits as on one.
  parallel_ranges(grads_.size(), kMinParamsPerThread, kParamsAlign, [&](std::int64_t begin, std::int64_t end) {
    optimizer_.update(begin, end - begin, params_.data(), grads_.data());
  });
  if (has_batch_norm_) update_running_stats(rows);  // only for a step that was taken
  return result;
}

StepResult Network::train_step(const Input& x, const Targets& targets, index_t rows) {
  if (!has_optimizer_) throw std::logic_error("no optimizer: compile the model before training");
  UseGuard guard(*this);
  check_batch_rows(rows, "");
  check_counters();
  ensure_workspace(rows);
  return step_on_batch(rows_from(x, 0, input_dim_), targets, rows);
}

LossStats Network::compute_gradients(const Input& x, const Targets& targets, index_t rows) {
  UseGuard guard(*this);
  ensure_workspace(rows);
  return forward_backward(rows_from(x, 0, input_dim_), targets, rows, /*training=*/false);
}

EpochResult Network::train_epoch(const Input& x, const Targets& targets, index_t n, index_t batch_size, bool shuffle,
                                 const std::function<bool()>& should_stop, const float* step_lrs,
                                 const float* step_momenta,
                                 const std::function<void(index_t, const LossStats&)>& progress) {
  if (!has_optimizer_) throw std::logic_error("no optimizer: compile the model before training");
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive");
  UseGuard guard(*this);
  check_counters();
  const index_t batch = std::min(batch_size, n);
  if (has_batch_norm_ && (batch < 2 || n % batch == 1))
    check_batch_rows(1, " (with " + std::to_string(n) + " samples and batch_size " + std::to_string(batch_size) +
                            " a batch has 1 sample; choose a batch_size that leaves none of 1)");
  ensure_workspace(batch);
  batching_.start_epoch(n, batch, shuffle, shuffle_rng_);

  EpochResult result;
  for (index_t start = 0; start < n; start += batch) {
    const Batch b = batching_.batch(x, targets, start);
    if (step_lrs) optimizer_.set_learning_rate(step_lrs[result.steps]);
    if (step_momenta) optimizer_.set_momentum(step_momenta[result.steps]);
    const StepResult step = step_on_batch(b.x, b.targets, b.rows);
    result.steps += 1;
    if (step.diverged) {
      result.diverged = true;
      break;
    }
    result.stats.add(step.stats);
    if (progress) progress(result.stats.samples, result.stats);
    if (should_stop && should_stop()) {
      result.interrupted = true;
      break;
    }
  }
  return result;
}

void Network::predict(const Input& x, index_t n, float* out, const std::function<bool()>& should_stop) {
  UseGuard guard(*this);
  const index_t chunk = inference_chunk(n);
  ensure_workspace(chunk);
  for (index_t start = 0; start < n; start += chunk) {
    const index_t rows = std::min(chunk, n - start);
    const float* y = forward(rows_from(x, start, input_dim_), rows, /*training=*/false);
    // A softmax (sigmoid) output fused into (binary) cross_entropy left logits: predict returns probabilities.
    const Activation output_act = applied_activation(layers_.back());
    if (output_act.kind != layers_.back().activation.kind)
      activation_forward(layers_.back().activation, rows, output_dim_, y, out + start * output_dim_);
    else
      std::memcpy(out + start * output_dim_, y, sizeof(float) * rows * output_dim_);
    if (should_stop && should_stop()) return;
  }
}

LossStats Network::evaluate(const Input& x, const Targets& targets, index_t n, const std::function<bool()>& should_stop) {
  UseGuard guard(*this);
  const index_t chunk = inference_chunk(n);
  ensure_workspace(chunk);
  LossStats total;
  for (index_t start = 0; start < n; start += chunk) {
    const index_t rows = std::min(chunk, n - start);
    const float* y = forward(rows_from(x, start, input_dim_), rows, /*training=*/false);
    const Targets batch_targets = slice_targets(targets, start, output_dim_);
    total.add(loss_forward_backward(loss_, rows, output_dim_, y, batch_targets, nullptr, 1.0));
    if (should_stop && should_stop()) break;
  }
  if (has_penalty_) total.loss_sum += weight_penalties(/*add_gradient=*/false) * total.weight_sum;
  return total;
}

index_t Network::inference_chunk(index_t n) const {
  if (inference_batch_stats_) {
    // BatchNorm without running statistics normalises with the statistics of the batch given, as
    // PyTorch in eval mode: the whole of X is one batch.
    check_batch_rows(n == 1 ? 1 : 2, "");
    return n;
  }
  return std::min(n, std::max(kInferenceRows, capacity_rows_));
}

void Network::check_batch_rows(index_t rows, const std::string& context) const {
  if (!has_batch_norm_ || rows != 1) return;
  for (const Layer& layer : layers_)
    if (layer.kind == LayerSpec::Kind::BatchNorm)
      throw std::invalid_argument("Expected more than 1 value per channel when training, got input size (1, " +
                                  std::to_string(layer.in) + ") at a BatchNorm layer" + context);
}

void Network::norm_forward(std::size_t l, const float* x, index_t rows, bool training) {
  const Layer& layer = layers_[l];
  const float* gamma = layer.affine ? params_.data() + layer.weight_offset : nullptr;
  const float* beta = layer.affine ? params_.data() + layer.bias_offset : nullptr;
  float* y = outputs_[l].data();
  double* stats = norm_stats_[l].data();
  const index_t w = layer.out;
  if (layer.kind == LayerSpec::Kind::LayerNorm) {
    layer_norm_forward(rows, w, layer.eps, x, gamma, beta, y, stats, stats + rows);
  } else if (training || !layer.track) {
    batch_norm_forward_train(rows, w, layer.eps, x, gamma, beta, y, stats, stats + w, stats + 2 * w);
  } else {
    const float* running = buffers_.data() + layer.buffer_offset;
    batch_norm_forward_inference(rows, w, layer.eps, x, gamma, beta, running, running + w, y, stats + 3 * w,
                                 stats + 4 * w);
  }
}

void Network::norm_backward(std::size_t l, index_t rows, const float* dy, float* dx) {
  const Layer& layer = layers_[l];
  const float* gamma = layer.affine ? params_.data() + layer.weight_offset : nullptr;
  float* dgamma = layer.affine ? grads_.data() + layer.weight_offset : nullptr;
  float* dbeta = layer.affine ? grads_.data() + layer.bias_offset : nullptr;
  const double* stats = norm_stats_[l].data();
  const float* x = layer_inputs_[l];
  const index_t w = layer.out;
  if (layer.kind == LayerSpec::Kind::LayerNorm)
    layer_norm_backward(rows, w, x, gamma, stats, stats + rows, dy, dx, dgamma, dbeta);
  else
    batch_norm_backward(rows, w, x, gamma, stats, stats + 2 * w, dy, dx, dgamma, dbeta, norm_acc_.data());
}

void Network::update_running_stats(index_t rows) {
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    if (layer.kind != LayerSpec::Kind::BatchNorm || !layer.track) continue;
    const double* stats = norm_stats_[l].data();
    float* running = buffers_.data() + layer.buffer_offset;
    double factor = layer.momentum;
    if (layer.cumulative) {  // PyTorch's momentum=None: after k batches, the plain average of the k
      std::int64_t& count = counters_[layer.counter_offset];
      if (count < INT64_MAX) count += 1;  // check_counters() keeps it non-negative
      factor = 1.0 / static_cast<double>(count);
    }
    batch_norm_update_running(rows, layer.out, factor, stats, stats + layer.out, running, running + layer.out);
  }
}

void Network::check_counters() const {
  for (index_t i = 0; i < counters_.size(); ++i)
    if (counters_[i] < 0)
      throw std::invalid_argument("a BatchNorm num_batches_tracked is negative (" + std::to_string(counters_[i]) +
                                  "); it counts the training batches and must be >= 0");
}

double Network::weight_penalties(bool add_gradient) {
  double total = 0.0;
  for (const Layer& layer : layers_) {
    if (layer.kind != LayerSpec::Kind::Dense || (layer.l1 == 0.0f && layer.l2 == 0.0f)) continue;
    total += weight_penalty(layer.out * layer.in, params_.data() + layer.weight_offset, layer.l1, layer.l2,
                            add_gradient ? grads_.data() + layer.weight_offset : nullptr);
  }
  return total;
}

}  // namespace fastmlp
