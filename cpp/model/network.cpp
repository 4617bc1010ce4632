#include "model/network.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <new>
#include <stdexcept>
#include <utility>

#include "nn/dense.hpp"
#include "runtime/finite.hpp"

namespace fastmlp {
namespace {

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
  max_width_ = input_dim;
  for (const LayerSpec& spec : specs) {
    Layer layer{spec.kind, width, width, spec.activation, spec.rate, 0, 0};
    if (spec.kind == LayerSpec::Kind::Dense) {
      if (spec.units <= 0) throw std::invalid_argument("Dense units must be a positive integer");
      layer.out = spec.units;
      layer.weight_offset = n_params;
      index_t layer_params = 0;
      if (__builtin_mul_overflow(layer.out, layer.in + 1, &layer_params) ||
          __builtin_add_overflow(n_params, layer_params, &n_params))
        throw std::bad_alloc();  // more parameters than memory can address: MemoryError in Python
      layer.bias_offset = layer.weight_offset + layer.out * layer.in;
      const index_t index = static_cast<index_t>(layers_.size());
      tensors_.push_back({false, layer.weight_offset, layer.out, layer.in});
      tensors_.push_back({true, layer.bias_offset, layer.out, 1});
      if (first_param_layer_ < 0) first_param_layer_ = index;
    } else if (!(spec.rate >= 0.0f && spec.rate < 1.0f)) {
      throw std::invalid_argument("Dropout rate must be in [0, 1)");
    }
    width = layer.out;
    max_width_ = std::max(max_width_, width);
    layers_.push_back(layer);
  }
  output_dim_ = width;
  params_.reset(n_params);
  grads_.reset(n_params);

  Rng init(seed);
  for (const Layer& layer : layers_) {
    if (layer.kind != LayerSpec::Kind::Dense) continue;
    // kaiming_uniform_(a=sqrt(5)) gives bound = sqrt(6 / ((1 + 5) * fan_in)) = 1 / sqrt(fan_in),
    // the same bound PyTorch uses for the bias.
    const float bound = static_cast<float>(1.0 / std::sqrt(static_cast<double>(layer.in)));
    for (index_t i = 0; i < layer.out * layer.in; ++i) params_[layer.weight_offset + i] = init.uniform_symmetric(bound);
    for (index_t i = 0; i < layer.out; ++i) params_[layer.bias_offset + i] = init.uniform_symmetric(bound);
  }
  outputs_.resize(layers_.size());
  dropout_masks_.resize(layers_.size());
  layer_inputs_.assign(layers_.size(), nullptr);
}

Network::UseGuard::UseGuard(Network& net) : net_(net) {
  if (net_.in_use_.exchange(true))
    throw std::runtime_error("this model is already being used by another thread; "
                             "train or predict with one model from one thread at a time");
}

Network::UseGuard::~UseGuard() { net_.in_use_.store(false); }

void Network::set_optimizer(Optimizer opt) {
  optimizer_ = std::move(opt);
  optimizer_.reset_state(num_params());
  has_optimizer_ = true;
}

void Network::ensure_workspace(index_t rows) {
  if (rows <= capacity_rows_) return;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    outputs_[l].reset(rows * layers_[l].out);
    if (layers_[l].kind == LayerSpec::Kind::Dropout) dropout_masks_[l].reset(rows * layers_[l].out);
  }
  grad_buffers_[0].reset(rows * max_width_);
  grad_buffers_[1].reset(rows * max_width_);
  batch_x_.reset(rows * input_dim_);
  batch_values_.reset(rows * output_dim_);
  batch_labels_.assign(static_cast<std::size_t>(rows), 0);
  capacity_rows_ = rows;
}

const float* Network::forward(const float* x, index_t rows, bool training) {
  const float* current = x;
  for (std::size_t l = 0; l < layers_.size(); ++l) {
    const Layer& layer = layers_[l];
    layer_inputs_[l] = current;
    if (layer.kind == LayerSpec::Kind::Dense) {
      dense_forward({rows, layer.in, layer.out}, layer.activation, current, params_.data() + layer.weight_offset,
                    params_.data() + layer.bias_offset, outputs_[l].data());
      current = outputs_[l].data();
    } else if (training && layer.rate > 0.0f) {
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
    // Dropout in inference mode is the identity: pass `current` through untouched.
  }
  return current;
}

void Network::backward(index_t rows, bool training) {
  int cur = 0;  // grad_buffers_[cur] holds the gradient w.r.t. the current layer's output
  for (index_t l = static_cast<index_t>(layers_.size()) - 1; l >= 0; --l) {
    const Layer& layer = layers_[static_cast<std::size_t>(l)];
    const bool need_input_grad = l > first_param_layer_;
    if (layer.kind == LayerSpec::Kind::Dense) {
      float* dx = need_input_grad ? grad_buffers_[1 - cur].data() : nullptr;
      dense_backward({rows, layer.in, layer.out}, layer.activation, layer_inputs_[static_cast<std::size_t>(l)],
                     params_.data() + layer.weight_offset, outputs_[static_cast<std::size_t>(l)].data(),
                     grad_buffers_[cur].data(), grads_.data() + layer.weight_offset,
                     grads_.data() + layer.bias_offset, dx);
      if (!need_input_grad) return;
      cur = 1 - cur;
    } else {
      if (!need_input_grad) return;
      if (training && layer.rate > 0.0f) {
        const float* mask = dropout_masks_[static_cast<std::size_t>(l)].data();
        float* g = grad_buffers_[cur].data();
        for (index_t i = 0; i < rows * layer.out; ++i) g[i] *= mask[i];
      }
    }
  }
}

StepResult Network::step_on_batch(const float* x, const Targets& targets, index_t rows) {
  const float* out = forward(x, rows, /*training=*/true);
  const double normaliser = loss_normaliser(loss_, rows, output_dim_);
  StepResult result;
  result.stats =
      loss_forward_backward(loss_, rows, output_dim_, out, targets, grad_buffers_[0].data(), 1.0 / normaliser);
  if (!std::isfinite(result.stats.loss_sum)) {
    result.diverged = true;  // keep the last finite weights
    return result;
  }
  backward(rows);
  // A finite loss can still overflow in backprop (huge weights or inputs). The whole gradient is
  // checked before any parameter moves, so a diverging step leaves weights and optimizer state
  // untouched; this is why the update is not interleaved with the backward pass.
  if (!all_finite(grads_.data(), grads_.size())) {
    result.diverged = true;
    return result;
  }
  optimizer_.begin_step();
  optimizer_.update(0, grads_.size(), params_.data(), grads_.data());
  return result;
}

StepResult Network::train_step(const float* x, const Targets& targets, index_t rows) {
  if (!has_optimizer_) throw std::logic_error("no optimizer: compile the model before training");
  UseGuard guard(*this);
  ensure_workspace(rows);
  return step_on_batch(x, targets, rows);
}

LossStats Network::compute_gradients(const float* x, const Targets& targets, index_t rows) {
  UseGuard guard(*this);
  ensure_workspace(rows);
  const float* out = forward(x, rows, /*training=*/false);
  const double normaliser = loss_normaliser(loss_, rows, output_dim_);
  const LossStats stats =
      loss_forward_backward(loss_, rows, output_dim_, out, targets, grad_buffers_[0].data(), 1.0 / normaliser);
  backward(rows, /*training=*/false);
  return stats;
}

EpochResult Network::train_epoch(const float* x, const Targets& targets, index_t n, index_t batch_size, bool shuffle,
                                 const std::function<bool()>& should_stop,
                                 const std::function<void(index_t, const LossStats&)>& progress) {
  if (!has_optimizer_) throw std::logic_error("no optimizer: compile the model before training");
  if (batch_size <= 0) throw std::invalid_argument("batch_size must be positive");
  UseGuard guard(*this);
  const index_t batch = std::min(batch_size, n);
  ensure_workspace(batch);
  order_.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) order_[static_cast<std::size_t>(i)] = i;
  if (shuffle) {
    for (index_t i = n - 1; i > 0; --i) {
      const auto j = static_cast<index_t>(shuffle_rng_.below(static_cast<std::uint64_t>(i + 1)));
      std::swap(order_[static_cast<std::size_t>(i)], order_[static_cast<std::size_t>(j)]);
    }
  }

  EpochResult result;
  for (index_t start = 0; start < n; start += batch) {
    const index_t rows = std::min(batch, n - start);
    const float* bx = x + start * input_dim_;
    Targets bt = targets;
    if (shuffle) {
      // Gather the batch's rows (and targets) into contiguous buffers.
      for (index_t r = 0; r < rows; ++r) {
        const index_t src = order_[static_cast<std::size_t>(start + r)];
        std::memcpy(batch_x_.data() + r * input_dim_, x + src * input_dim_, sizeof(float) * input_dim_);
        if (targets.labels) batch_labels_[static_cast<std::size_t>(r)] = targets.labels[src];
        if (targets.values)
          std::memcpy(batch_values_.data() + r * output_dim_, targets.values + src * output_dim_,
                      sizeof(float) * output_dim_);
      }
      bx = batch_x_.data();
      bt.labels = targets.labels ? batch_labels_.data() : nullptr;
      bt.values = targets.values ? batch_values_.data() : nullptr;
    } else {
      if (targets.labels) bt.labels = targets.labels + start;
      if (targets.values) bt.values = targets.values + start * output_dim_;
    }
    const StepResult step = step_on_batch(bx, bt, rows);
    result.steps += 1;
    if (step.diverged) {
      result.diverged = true;
      break;
    }
    result.stats.add(step.stats);
    result.samples += rows;
    if (progress) progress(result.samples, result.stats);
    if (should_stop && should_stop()) {
      result.interrupted = true;
      break;
    }
  }
  return result;
}

void Network::predict(const float* x, index_t n, float* out, const std::function<bool()>& should_stop) {
  UseGuard guard(*this);
  const index_t chunk = std::min(n, std::max(kInferenceRows, capacity_rows_));
  ensure_workspace(chunk);
  for (index_t start = 0; start < n; start += chunk) {
    const index_t rows = std::min(chunk, n - start);
    const float* y = forward(x + start * input_dim_, rows, /*training=*/false);
    std::memcpy(out + start * output_dim_, y, sizeof(float) * rows * output_dim_);
    if (should_stop && should_stop()) return;
  }
}

LossStats Network::evaluate(const float* x, const Targets& targets, index_t n, const std::function<bool()>& should_stop) {
  UseGuard guard(*this);
  const index_t chunk = std::min(n, std::max(kInferenceRows, capacity_rows_));
  ensure_workspace(chunk);
  LossStats total;
  for (index_t start = 0; start < n; start += chunk) {
    const index_t rows = std::min(chunk, n - start);
    const float* y = forward(x + start * input_dim_, rows, /*training=*/false);
    Targets bt = targets;
    if (targets.labels) bt.labels = targets.labels + start;
    if (targets.values) bt.values = targets.values + start * output_dim_;
    total.add(loss_forward_backward(loss_, rows, output_dim_, y, bt, nullptr, 1.0));
    if (should_stop && should_stop()) break;
  }
  return total;
}

}  // namespace fastmlp
