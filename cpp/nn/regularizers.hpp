#pragma once
// L1/L2 weight penalties (Keras's kernel_regularizer): penalty = l1 * sum|w| + l2 * sum w^2.
#include "fastmlp/types.hpp"

namespace fastmlp {

// Returns the penalty of w: (n,) (accumulated in double) and, when grad is not null, adds its
// gradient l1 * sign(w) + 2 * l2 * w to grad: (n,) in the same pass (sign(0) = 0, as torch.sign).
double weight_penalty(index_t n, const float* w, float l1, float l2, float* grad);

}  // namespace fastmlp
