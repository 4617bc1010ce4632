#pragma once
// Losses on the network output. Values are SUMS over the batch; the caller divides by the
// normaliser (loss_normaliser) to get PyTorch's mean reduction, and gradients are already scaled
// by `grad_scale` (1 / normaliser of the whole batch), so no second pass is needed.
#include <cstdint>
#include <string>

#include "fastmlp/types.hpp"

namespace fastmlp {

enum class Loss { MSE, CrossEntropy };

// Parses "mse" | "cross_entropy"; throws std::invalid_argument otherwise.
Loss parse_loss(const std::string& name);

// Targets: class labels for cross-entropy, a dense (rows, cols) array for regression losses.
struct Targets {
  const std::int64_t* labels = nullptr;  // (rows,)
  const float* values = nullptr;         // (rows, cols)
};

// Side statistics gathered in the same pass, for metrics.
struct LossStats {
  double loss_sum = 0.0;       // sum of per-sample (CE) or per-element (MSE) losses
  double abs_error_sum = 0.0;  // sum |pred - target| (regression)
  double sq_error_sum = 0.0;   // sum (pred - target)^2 (regression)
  std::int64_t correct = 0;    // argmax hits (classification)

  void add(const LossStats& o) {
    loss_sum += o.loss_sum;
    abs_error_sum += o.abs_error_sum;
    sq_error_sum += o.sq_error_sum;
    correct += o.correct;
  }
};

// How many terms the mean divides by: rows for cross-entropy, rows * cols for MSE.
double loss_normaliser(Loss loss, index_t rows, index_t cols);

// pred: (rows, cols) network outputs (logits for cross-entropy, softmax fused and stable).
// grad: (rows, cols) receives grad_scale * d(sum loss)/d(pred), or is skipped when null.
// Returns the statistics of this block.
LossStats loss_forward_backward(Loss loss, index_t rows, index_t cols, const float* pred, const Targets& targets,
                                float* grad, double grad_scale);

}  // namespace fastmlp
