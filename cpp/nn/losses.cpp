#include "nn/losses.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "runtime/thread_pool.hpp"

namespace fastmlp {

Loss parse_loss(const std::string& name) {
  if (name == "mse") return Loss::MSE;
  if (name == "mae") return Loss::MAE;
  if (name == "huber") return Loss::Huber;
  if (name == "cross_entropy") return Loss::CrossEntropy;
  if (name == "binary_cross_entropy") return Loss::BinaryCrossEntropy;
  if (name == "poisson") return Loss::Poisson;
  throw std::invalid_argument("unknown loss '" + name +
                              "'; expected one of: mse, mae, huber, cross_entropy, binary_cross_entropy, poisson");
}

namespace {

inline double sample_weight(const Targets& t, index_t r) {
  return t.sample_weights ? static_cast<double>(t.sample_weights[r]) : 1.0;
}

// Binary cross-entropy weight of one element: cw[1] for a positive target, cw[0] for a negative
// one, interpolated linearly for a soft target.
inline double binary_class_weight(const float* cw, double y) {
  return y * static_cast<double>(cw[1]) + (1.0 - y) * static_cast<double>(cw[0]);
}

// mse, mae, huber: term and derivative of one element given the error d = pred - target.
struct ElementTerm {
  double value;
  double derivative;
};

template <typename Term>
LossStats elementwise(index_t rows, index_t cols, const float* pred, const Targets& t, float* grad,
                      double grad_scale, Term term) {
  LossStats stats;
  for (index_t r = 0; r < rows; ++r) {
    const double s = sample_weight(t, r);
    const double scale = s * grad_scale;
    const float* p = pred + r * cols;
    const float* y = t.values + r * cols;
    for (index_t j = 0; j < cols; ++j) {
      const double d = static_cast<double>(p[j]) - static_cast<double>(y[j]);
      const ElementTerm e = term(d);
      stats.loss_sum += s * e.value;
      stats.sq_error_sum += d * d;
      stats.abs_error_sum += std::fabs(d);
      if (grad) grad[r * cols + j] = static_cast<float>(scale * e.derivative);
    }
    stats.weight_sum += s * static_cast<double>(cols);
  }
  return stats;
}

// Row r's max logit and the log-sum-exp of its logits, shifted by the max so that exp() never
// overflows (logits of +-1e4 stay finite); `sum` receives sum_j exp(z_j - max), and `exps`, when
// not null, each exp(z_j - max) (cols values), for the gradient.
inline double log_sum_exp(const float* z, index_t cols, index_t* argmax, double* sum, double* exps = nullptr) {
  index_t am = 0;
  for (index_t j = 1; j < cols; ++j)
    if (z[j] > z[am]) am = j;
  const double zmax = z[am];
  double s = 0.0;
  for (index_t j = 0; j < cols; ++j) {
    const double e = std::exp(static_cast<double>(z[j]) - zmax);
    if (exps) exps[j] = e;
    s += e;
  }
  *argmax = am;
  *sum = s;
  return zmax + std::log(s);
}

// Rows of up to this many logits keep their exp(z_j - max) from log_sum_exp for the gradient, in a
// buffer on the stack, instead of calling exp() a second time with the same argument (the same
// values; exp() was half of the loss's time on 10 classes). Wider rows compute them again.
constexpr index_t kCachedExps = 64;

// exp(z_j - zmax): from `exps` when the row kept them, else computed as log_sum_exp did.
inline double row_exp(const double* exps, const float* z, index_t j, double zmax) {
  return exps ? exps[j] : std::exp(static_cast<double>(z[j]) - zmax);
}

// One row's contributions to the loss statistics, kept per row where rows run on several threads so
// that they can be added up in row order afterwards (the same sums, bit for bit, as on one thread).
struct RowTerms {
  double loss;            // s * term
  double weight;          // s * cw[y]
  std::int64_t correct;  // argmax == label
};

// Below this many logits the loss runs on one thread (waking another costs microseconds; a row of
// 10 classes takes about 0.1 us).
constexpr index_t kMinLogitsPerThread = 8192;

// Per-thread scratch for the per-row terms: grown on first use, reused by later calls on the thread.
std::vector<RowTerms>& row_terms_buffer(index_t rows) {
  thread_local std::vector<RowTerms> buffer;
  if (static_cast<index_t>(buffer.size()) < rows) buffer.resize(static_cast<std::size_t>(rows));
  return buffer;
}

// Softmax cross-entropy with integer labels and PyTorch's label smoothing eps:
//   term_i = (1 - eps) * cw[y] * (lse - z_y) + eps / C * sum_c cw[c] * (lse - z_c)
//   d term_i / d z_j = (1 - eps) * cw[y] * (p_j - [j == y]) + eps / C * (p_j * sum_c cw[c] - cw[j])
// Rows are independent: large batches are split over the pool's threads (each row's term and
// gradient computed as on one thread), and the statistics are summed in row order.
LossStats cross_entropy_labels(const LossSpec& spec, index_t rows, index_t cols, const float* logits,
                               const Targets& t, float* grad, double grad_scale) {
  const double eps = spec.label_smoothing;
  const double smooth = eps / static_cast<double>(cols);
  const float* cw = t.class_weights;
  double cw_total = static_cast<double>(cols);
  if (cw) {
    cw_total = 0.0;
    for (index_t c = 0; c < cols; ++c) cw_total += cw[c];
  }
  // Rows [begin, end): the gradient rows into grad, the statistics' terms to add(r, terms).
  auto run_rows = [&](index_t begin, index_t end, auto&& add) {
    double exp_buffer[kCachedExps];
    double* exps = grad && cols <= kCachedExps ? exp_buffer : nullptr;
    for (index_t r = begin; r < end; ++r) {
      const float* z = logits + r * cols;
      index_t argmax = 0;
      double sum = 0.0;
      const double lse = log_sum_exp(z, cols, &argmax, &sum, exps);
      const std::int64_t label = t.labels[r];
      const double s = sample_weight(t, r);
      const double wy = cw ? static_cast<double>(cw[label]) : 1.0;
      double term = (1.0 - eps) * wy * (lse - static_cast<double>(z[label]));
      if (eps > 0.0) {
        double smooth_sum = 0.0;
        for (index_t c = 0; c < cols; ++c)
          smooth_sum += (cw ? static_cast<double>(cw[c]) : 1.0) * (lse - static_cast<double>(z[c]));
        term += smooth * smooth_sum;
      }
      add(r, RowTerms{s * term, s * wy, argmax == label ? 1 : 0});
      if (grad) {
        float* g = grad + r * cols;
        const double scale = s * grad_scale;
        const double inv_sum = 1.0 / sum;
        const double zmax = z[argmax];
        for (index_t j = 0; j < cols; ++j) {
          const double softmax = row_exp(exps, z, j, zmax) * inv_sum;
          double d = (1.0 - eps) * wy * (softmax - (j == label ? 1.0 : 0.0));
          if (eps > 0.0) d += smooth * (softmax * cw_total - (cw ? static_cast<double>(cw[j]) : 1.0));
          g[j] = static_cast<float>(scale * d);
        }
      }
    }
  };
  LossStats stats;
  auto accumulate = [&stats](index_t, const RowTerms& terms) {
    stats.loss_sum += terms.loss;
    stats.weight_sum += terms.weight;
    stats.correct += terms.correct;
  };
  const index_t min_rows = std::max<index_t>(1, kMinLogitsPerThread / std::max<index_t>(cols, 1));
  if (get_num_threads() <= 1 || rows < 2 * min_rows) {
    run_rows(0, rows, accumulate);
    return stats;
  }
  RowTerms* terms = row_terms_buffer(rows).data();
  parallel_ranges(rows, min_rows, 1, [&](std::int64_t begin, std::int64_t end) {
    run_rows(begin, end, [terms](index_t r, const RowTerms& row) { terms[r] = row; });
  });
  for (index_t r = 0; r < rows; ++r) accumulate(r, terms[r]);
  return stats;
}

// Softmax cross-entropy with probability targets q, smoothed as PyTorch does: q' = (1 - eps) q + eps / C,
//   term_i = sum_c q'_c * (lse - z_c),   d term_i / d z_j = p_j * sum_c q'_c - q'_j.
LossStats cross_entropy_probabilities(const LossSpec& spec, index_t rows, index_t cols, const float* logits,
                                      const Targets& t, float* grad, double grad_scale) {
  const double keep = 1.0 - spec.label_smoothing;
  const double smooth = spec.label_smoothing / static_cast<double>(cols);
  LossStats stats;
  double exp_buffer[kCachedExps];
  double* exps = grad && cols <= kCachedExps ? exp_buffer : nullptr;
  for (index_t r = 0; r < rows; ++r) {
    const float* z = logits + r * cols;
    const float* q = t.values + r * cols;
    index_t argmax = 0;
    double sum = 0.0;
    const double lse = log_sum_exp(z, cols, &argmax, &sum, exps);
    const double s = sample_weight(t, r);
    double term = 0.0, q_total = 0.0;
    index_t target_argmax = 0;
    for (index_t c = 0; c < cols; ++c) {
      const double qc = keep * static_cast<double>(q[c]) + smooth;
      term += qc * (lse - static_cast<double>(z[c]));
      q_total += qc;
      if (q[c] > q[target_argmax]) target_argmax = c;
    }
    stats.loss_sum += s * term;
    stats.weight_sum += s;
    stats.correct += argmax == target_argmax;
    if (grad) {
      float* g = grad + r * cols;
      const double scale = s * grad_scale;
      const double inv_sum = 1.0 / sum;
      const double zmax = z[argmax];
      for (index_t j = 0; j < cols; ++j) {
        const double softmax = row_exp(exps, z, j, zmax) * inv_sum;
        const double qj = keep * static_cast<double>(q[j]) + smooth;
        g[j] = static_cast<float>(scale * (softmax * q_total - qj));
      }
    }
  }
  return stats;
}

// Binary cross-entropy on logits z with targets y in [0, 1] (BCEWithLogitsLoss), in the stable form
//   -log sigmoid(z) = max(-z, 0) + log1p(exp(-|z|)),   -log(1 - sigmoid(z)) = max(z, 0) + log1p(exp(-|z|)),
// so exp() only ever sees non-positive arguments (finite for logits of +-1e4). Without class weights
//   term = max(z, 0) - y z + log1p(exp(-|z|)),   d term / d z = sigmoid(z) - y;
// with class weights the two halves are weighted:
//   term = cw[1] y (-log sigmoid(z)) + cw[0] (1 - y) (-log(1 - sigmoid(z))),
//   d term / d z = cw[0] (1 - y) sigmoid(z) - cw[1] y sigmoid(-z).
LossStats binary_cross_entropy(index_t rows, index_t cols, const float* logits, const Targets& t, float* grad,
                               double grad_scale) {
  const float* cw = t.class_weights;
  LossStats stats;
  for (index_t r = 0; r < rows; ++r) {
    const double s = sample_weight(t, r);
    const double scale = s * grad_scale;
    const float* zr = logits + r * cols;
    const float* yr = t.values + r * cols;
    double row_weight = 0.0;
    for (index_t j = 0; j < cols; ++j) {
      const double z = zr[j];
      const double y = yr[j];
      const double e = std::exp(-std::fabs(z));  // in (0, 1]
      const double log1p_e = std::log1p(e);
      // sigmoid(z) and sigmoid(-z), each without cancellation
      const double sig = z >= 0.0 ? 1.0 / (1.0 + e) : e / (1.0 + e);
      const double sig_neg = z >= 0.0 ? e / (1.0 + e) : 1.0 / (1.0 + e);
      double term, derivative, weight;
      if (cw) {
        const double w0 = cw[0], w1 = cw[1];
        term = w1 * y * (std::max(-z, 0.0) + log1p_e) + w0 * (1.0 - y) * (std::max(z, 0.0) + log1p_e);
        derivative = w0 * (1.0 - y) * sig - w1 * y * sig_neg;
        weight = binary_class_weight(cw, y);
      } else {
        term = std::max(z, 0.0) - y * z + log1p_e;
        derivative = sig - y;
        weight = 1.0;
      }
      stats.loss_sum += s * term;
      row_weight += weight;
      stats.correct += (z > 0.0) == (y > 0.5);
      if (grad) grad[r * cols + j] = static_cast<float>(scale * derivative);
    }
    stats.weight_sum += s * row_weight;
  }
  return stats;
}

// Poisson negative log-likelihood with a log link, on z = log(mean) (PyTorch's
// PoissonNLLLoss(log_input=True, full=False)):
//   term = exp(z) - y z,   d term / d z = exp(z) - y.
// The metrics' errors are those of the mean exp(z) against y. exp() is not clipped: a z above ~709
// gives an infinite term and gradient, which the caller's finiteness checks report as divergence.
LossStats poisson(index_t rows, index_t cols, const float* log_mean, const Targets& t, float* grad,
                  double grad_scale) {
  LossStats stats;
  for (index_t r = 0; r < rows; ++r) {
    const double s = sample_weight(t, r);
    const double scale = s * grad_scale;
    const float* zr = log_mean + r * cols;
    const float* yr = t.values + r * cols;
    for (index_t j = 0; j < cols; ++j) {
      const double z = zr[j];
      const double y = yr[j];
      const double mean = std::exp(z);
      const double d = mean - y;
      stats.loss_sum += s * (mean - y * z);
      stats.sq_error_sum += d * d;
      stats.abs_error_sum += std::fabs(d);
      if (grad) grad[r * cols + j] = static_cast<float>(scale * d);
    }
    stats.weight_sum += s * static_cast<double>(cols);
  }
  return stats;
}

}  // namespace

double loss_normaliser(const LossSpec& loss, index_t rows, index_t cols, const Targets& targets) {
  const bool per_row = loss.kind == Loss::CrossEntropy;
  const bool class_weighted = targets.class_weights &&
                              ((per_row && targets.labels) || loss.kind == Loss::BinaryCrossEntropy);
  if (!targets.sample_weights && !class_weighted)
    return per_row ? static_cast<double>(rows) : static_cast<double>(rows) * static_cast<double>(cols);
  // The same sums, in the same order, as the loss kernels' weight_sum.
  double total = 0.0;
  for (index_t r = 0; r < rows; ++r) {
    const double s = sample_weight(targets, r);
    if (!class_weighted) {
      total += per_row ? s : s * static_cast<double>(cols);
    } else if (per_row) {
      total += s * static_cast<double>(targets.class_weights[targets.labels[r]]);
    } else {
      double row_weight = 0.0;
      for (index_t j = 0; j < cols; ++j) row_weight += binary_class_weight(targets.class_weights, targets.values[r * cols + j]);
      total += s * row_weight;
    }
  }
  return total;
}

namespace {

LossStats loss_terms(const LossSpec& loss, index_t rows, index_t cols, const float* pred, const Targets& targets,
                     float* grad, double grad_scale) {
  switch (loss.kind) {
    case Loss::CrossEntropy:
      if (targets.labels) return cross_entropy_labels(loss, rows, cols, pred, targets, grad, grad_scale);
      return cross_entropy_probabilities(loss, rows, cols, pred, targets, grad, grad_scale);
    case Loss::BinaryCrossEntropy:
      return binary_cross_entropy(rows, cols, pred, targets, grad, grad_scale);
    case Loss::Poisson:
      return poisson(rows, cols, pred, targets, grad, grad_scale);
    case Loss::MAE:
      // d|d|/dd = sign(d), 0 at d == 0 (as torch.sign)
      return elementwise(rows, cols, pred, targets, grad, grad_scale, [](double d) {
        return ElementTerm{std::fabs(d), static_cast<double>((d > 0.0) - (d < 0.0))};
      });
    case Loss::Huber: {
      const double delta = loss.huber_delta;
      // PyTorch's HuberLoss: 0.5 d^2 for |d| <= delta, delta (|d| - delta / 2) beyond; the two
      // pieces and their derivatives (d, delta sign(d)) agree at |d| == delta.
      return elementwise(rows, cols, pred, targets, grad, grad_scale, [delta](double d) {
        const double a = std::fabs(d);
        if (a <= delta) return ElementTerm{0.5 * d * d, d};
        return ElementTerm{delta * (a - 0.5 * delta), d > 0.0 ? delta : -delta};
      });
    }
    case Loss::MSE:
      break;
  }
  return elementwise(rows, cols, pred, targets, grad, grad_scale,
                     [](double d) { return ElementTerm{d * d, 2.0 * d}; });
}

}  // namespace

LossStats loss_forward_backward(const LossSpec& loss, index_t rows, index_t cols, const float* pred,
                                const Targets& targets, float* grad, double grad_scale) {
  LossStats stats = loss_terms(loss, rows, cols, pred, targets, grad, grad_scale);
  stats.samples = rows;
  stats.predictions = loss.kind == Loss::BinaryCrossEntropy ? rows * cols : rows;
  return stats;
}

}  // namespace fastmlp
