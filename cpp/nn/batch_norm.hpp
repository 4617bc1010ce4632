#pragma once
// Batch normalisation over the batch dimension of a (rows, width) activation, as
// torch.nn.BatchNorm1d(width): in training each feature (column) is normalised with the batch's
// mean and biased variance and the running statistics are moved toward the batch's mean and
// unbiased variance; in inference the running statistics are used. y = gamma * xhat + beta.
//
// Numerics: the statistics are computed in two passes over the rows (the mean, then the mean of
// squared deviations) with one double accumulator per column, so a feature with a large mean
// relative to its spread loses no precision the way E[x^2] - E[x]^2 would. The passes run row by
// row over contiguous memory (the column accumulators are the inner loop). The statistics stay in
// double for the backward pass, whose bracket (dy - mean(dy) - xhat * mean(dy * xhat)) cancels
// almost completely for small batches (with 2 rows xhat = +-1 up to eps): float statistics would
// leave a relative error of order 1e-7 / (1 - xhat^2) there.
#include "fastmlp/types.hpp"

namespace fastmlp {

// Training forward. x: (rows, width), rows >= 2; gamma, beta: (width,) or both null (no affine).
// y: (rows, width). mean, var, rstd: (width,) receive the batch mean, the biased variance and
// 1/sqrt(var + eps) (for backward and for the running update).
void batch_norm_forward_train(index_t rows, index_t width, float eps, const float* x, const float* gamma,
                              const float* beta, float* y, double* mean, double* var, double* rstd);

// Inference forward with given statistics (the running ones): y = (x - mean) * rstd * gamma + beta
// with rstd = 1/sqrt(var + eps). scale, shift: (width,) scratch for the per-column affine map.
void batch_norm_forward_inference(index_t rows, index_t width, float eps, const float* x, const float* gamma,
                                  const float* beta, const float* mean, const float* var, float* y, double* scale,
                                  double* shift);

// Backward of the training forward (batch statistics), given dy: (rows, width), the forward's
// x, gamma (null: no affine), mean and rstd:
//   dbeta  = sum_rows dy,   dgamma = sum_rows dy * xhat          (width,), overwritten; null: skipped
//   dx     = gamma * rstd * (dy - mean_rows(dy) - xhat * mean_rows(dy * xhat))  (rows, width); null: skipped
// acc: (2 * width,) double scratch.
void batch_norm_backward(index_t rows, index_t width, const float* x, const float* gamma, const double* mean,
                         const double* rstd, const float* dy, float* dx, float* dgamma, float* dbeta, double* acc);

// running = (1 - factor) * running + factor * batch, with the batch variance made unbiased
// (var * rows / (rows - 1)), as PyTorch. factor: the momentum, or 1/num_batches_tracked for
// PyTorch's cumulative average (momentum=None).
void batch_norm_update_running(index_t rows, index_t width, double factor, const double* mean, const double* var,
                               float* running_mean, float* running_var);

}  // namespace fastmlp
