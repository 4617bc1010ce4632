#pragma once
// Layer normalisation over the feature dimension of a (rows, width) activation, as
// torch.nn.LayerNorm(width): each row is shifted to mean 0 and scaled to variance 1 (biased
// variance, eps added inside the square root), then y = gamma * xhat + beta per feature.
//
// Numerics: the statistics are computed in two passes (the mean, then the mean of squared
// deviations) with double accumulators, so rows with a large mean relative to their spread lose
// no precision the way the one-pass E[x^2] - E[x]^2 formula would, and are kept in double for
// the backward pass: its bracket (g - mean(g) - xhat * mean(g * xhat)) cancels almost completely
// for narrow rows, where float statistics would leave a relative error of order 1e-7 / (1 - xhat^2).
#include "fastmlp/types.hpp"

namespace fastmlp {

// x: (rows, width); gamma, beta: (width,), or both null (no elementwise affine: gamma 1, beta 0).
// y: (rows, width); mean, rstd: (rows,) receive each row's mean and 1/sqrt(var + eps) for backward.
void layer_norm_forward(index_t rows, index_t width, float eps, const float* x, const float* gamma, const float* beta,
                        float* y, double* mean, double* rstd);

// The gradients given dy: (rows, width), the forward's x, gamma (null: no affine), mean and rstd.
//   dx: (rows, width) = rstd * (g - mean_j(g) - xhat * mean_j(g * xhat)) with g = dy * gamma,
//       skipped when null.
//   dgamma, dbeta: (width,), overwritten with sum_rows(dy * xhat) and sum_rows(dy); skipped when null.
void layer_norm_backward(index_t rows, index_t width, const float* x, const float* gamma, const double* mean,
                         const double* rstd, const float* dy, float* dx, float* dgamma, float* dbeta);

}  // namespace fastmlp
