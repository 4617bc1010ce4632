#pragma once
// Matrix-vector products y = alpha * A x + beta * y, the n == 1 (or, transposed, m == 1) case of
// the GEMM: the last layer of a one-output regression network, and its weight gradient.
#include "fastmlp/types.hpp"

namespace fastmlp {

// A: (m, k), x: (k, 1), y: (m, 1), any strides. beta == 0 overwrites y without reading it.
// Single-threaded, and summed in one fixed order whatever the instruction set (explicit lanes,
// no FMA contraction), so results are the same on every CPU and thread count.
void gemv(index_t m, index_t k, float alpha, ConstStrided a, ConstStrided x, float beta, Strided y);

}  // namespace fastmlp
