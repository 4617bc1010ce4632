#pragma once
// Losses on the network output. Values are SUMS over the batch of weighted terms, returned with the
// sum of the weights (LossStats::weight_sum); the mean loss is loss_sum / weight_sum (PyTorch's
// mean reduction, and its weighted-mean convention when weights are given). Gradients are already
// scaled by `grad_scale` (1 / loss_normaliser of the whole batch), so no second pass is needed.
//
// Weights. With sample weights s_i (1 when none are given) and class weights cw (1 when none):
//   mse, mae, huber, poisson  loss_sum = sum_ij s_i l_ij,  weight_sum = sum_i s_i * cols
//   cross_entropy, labels    loss_sum = sum_i s_i T_i,     weight_sum = sum_i s_i cw[y_i], where
//                            T_i = (1 - eps) cw[y_i] nll_i + eps / C sum_c cw[c] (-log p_ic) is
//                            PyTorch's per-sample term (label smoothing eps, C classes)
//   cross_entropy, probs     loss_sum = sum_i s_i T_i,     weight_sum = sum_i s_i  (no class weights)
//   binary_cross_entropy     loss_sum = sum_ij s_i T_ij,   weight_sum = sum_ij s_i c_ij, where
//                            T_ij = cw[1] y (-log sigmoid z) + cw[0] (1 - y) (-log(1 - sigmoid z)) and
//                            c_ij = cw[1] y + cw[0] (1 - y)  (= cw[y] for a 0/1 target)
// The mean loss_sum / weight_sum is sum(w_i loss_i) / sum(w_i) with w_i = s_i * cw[y_i]: with class
// weights alone exactly PyTorch's CrossEntropyLoss(weight=cw) 'mean' (label smoothing included), and
// for 0/1 binary targets BCEWithLogitsLoss with the element weights cw[y], divided by their sum.
#include <cstdint>
#include <string>

#include "fastmlp/types.hpp"

namespace fastmlp {

enum class Loss { MSE, CrossEntropy, MAE, Huber, BinaryCrossEntropy, Poisson };

// A loss and its hyperparameters (PyTorch's defaults).
struct LossSpec {
  Loss kind = Loss::MSE;
  double huber_delta = 1.0;      // Huber: quadratic for |error| <= delta, linear beyond
  double label_smoothing = 0.0;  // CrossEntropy: in [0, 1]
};

// Parses "mse" | "mae" | "huber" | "cross_entropy" | "binary_cross_entropy" | "poisson"; throws
// std::invalid_argument otherwise.
Loss parse_loss(const std::string& name);

// Targets: for cross-entropy either class labels or probability rows (values); a dense
// (rows, cols) array for the other losses. Optional weights as described above.
struct Targets {
  const std::int64_t* labels = nullptr;   // (rows,) class labels in [0, cols)
  const float* values = nullptr;          // (rows, cols) targets, or probabilities for cross-entropy
  const float* sample_weights = nullptr;  // (rows,) >= 0, or null for all ones
  const float* class_weights = nullptr;   // cross-entropy with labels: (cols,); binary: (2,) = {cw[0], cw[1]}
};

// Side statistics gathered in the same pass, for metrics (unweighted).
struct LossStats {
  double loss_sum = 0.0;       // sum of weighted terms (see above)
  double weight_sum = 0.0;     // sum of their weights: the mean loss is loss_sum / weight_sum
  double abs_error_sum = 0.0;  // sum |pred - target| (regression; poisson: |exp(pred) - target|)
  double sq_error_sum = 0.0;   // sum (pred - target)^2 (regression; poisson: (exp(pred) - target)^2)
  std::int64_t correct = 0;    // argmax hits (cross-entropy), or logit > 0 == target > 0.5 per element (binary)
  std::int64_t samples = 0;      // rows seen
  std::int64_t predictions = 0;  // what `correct` counts: one per row, one per output for binary cross-entropy

  // The mean loss (0 when all weights were zero).
  double mean_loss() const { return weight_sum > 0.0 ? loss_sum / weight_sum : 0.0; }

  void add(const LossStats& o) {
    loss_sum += o.loss_sum;
    weight_sum += o.weight_sum;
    abs_error_sum += o.abs_error_sum;
    sq_error_sum += o.sq_error_sum;
    correct += o.correct;
    samples += o.samples;
    predictions += o.predictions;
  }
};

// The sum of the weights of a block's terms (what the mean divides by): rows for cross-entropy and
// rows * cols for the element-wise losses when there are no weights.
double loss_normaliser(const LossSpec& loss, index_t rows, index_t cols, const Targets& targets);

// The grad_scale that makes loss_forward_backward's gradient that of the mean loss: 1 / normaliser,
// or 0 when all weights are zero (such a batch has a zero gradient).
inline double mean_grad_scale(double normaliser) { return normaliser > 0.0 ? 1.0 / normaliser : 0.0; }

// pred: (rows, cols) network outputs (logits for the cross-entropies, softmax / sigmoid fused and
// stable; for poisson the log of the predicted mean, exp(pred)). grad: (rows, cols) receives grad_scale * d(sum of weighted terms)/d(pred), or is skipped
// when null. Returns the statistics of this block (samples = rows).
LossStats loss_forward_backward(const LossSpec& loss, index_t rows, index_t cols, const float* pred,
                                const Targets& targets, float* grad, double grad_scale);

}  // namespace fastmlp
