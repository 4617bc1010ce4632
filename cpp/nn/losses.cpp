#include "nn/losses.hpp"

#include <cmath>
#include <stdexcept>

namespace fastmlp {

Loss parse_loss(const std::string& name) {
  if (name == "mse") return Loss::MSE;
  if (name == "cross_entropy") return Loss::CrossEntropy;
  throw std::invalid_argument("unknown loss '" + name + "'; expected one of: mse, cross_entropy");
}

double loss_normaliser(Loss loss, index_t rows, index_t cols) {
  return loss == Loss::MSE ? static_cast<double>(rows) * static_cast<double>(cols) : static_cast<double>(rows);
}

namespace {

LossStats cross_entropy(index_t rows, index_t cols, const float* logits, const std::int64_t* labels, float* grad,
                        double grad_scale) {
  LossStats stats;
  for (index_t r = 0; r < rows; ++r) {
    const float* z = logits + r * cols;
    index_t argmax = 0;
    for (index_t j = 1; j < cols; ++j)
      if (z[j] > z[argmax]) argmax = j;
    // log-sum-exp shifted by the max, so exp() never overflows.
    const double zmax = z[argmax];
    double sum = 0.0;
    for (index_t j = 0; j < cols; ++j) sum += std::exp(static_cast<double>(z[j]) - zmax);
    const double lse = zmax + std::log(sum);
    const std::int64_t label = labels[r];
    stats.loss_sum += lse - static_cast<double>(z[label]);
    stats.correct += argmax == label;
    if (grad) {
      float* g = grad + r * cols;
      const double inv_sum = 1.0 / sum;
      for (index_t j = 0; j < cols; ++j) {
        const double softmax = std::exp(static_cast<double>(z[j]) - zmax) * inv_sum;
        g[j] = static_cast<float>((softmax - (j == label ? 1.0 : 0.0)) * grad_scale);
      }
    }
  }
  return stats;
}

LossStats mean_squared_error(index_t rows, index_t cols, const float* pred, const float* target, float* grad,
                             double grad_scale) {
  LossStats stats;
  const index_t n = rows * cols;
  const float scale2 = static_cast<float>(2.0 * grad_scale);
  for (index_t i = 0; i < n; ++i) {
    const float diff = pred[i] - target[i];
    stats.sq_error_sum += static_cast<double>(diff) * diff;
    stats.abs_error_sum += std::fabs(static_cast<double>(diff));
    if (grad) grad[i] = scale2 * diff;
  }
  stats.loss_sum = stats.sq_error_sum;
  return stats;
}

}  // namespace

LossStats loss_forward_backward(Loss loss, index_t rows, index_t cols, const float* pred, const Targets& targets,
                                float* grad, double grad_scale) {
  if (loss == Loss::CrossEntropy) return cross_entropy(rows, cols, pred, targets.labels, grad, grad_scale);
  return mean_squared_error(rows, cols, pred, targets.values, grad, grad_scale);
}

}  // namespace fastmlp
