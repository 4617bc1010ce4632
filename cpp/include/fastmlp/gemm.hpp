#pragma once
// Single-precision GEMM on strided operands: C = alpha * A * B + beta * C.
#include "fastmlp/types.hpp"

namespace fastmlp {

// A: (m, k), B: (k, n), C: (m, n), any strides (a transpose is a stride swap, see types.hpp).
// beta == 0 overwrites C without reading it, so NaN or garbage in C does not propagate.
// C must not overlap A or B. Runs on the thread pool for large problems; the result is bitwise
// identical whatever the number of threads (each element is reduced over k in the same order).
void gemm(index_t m, index_t n, index_t k, float alpha, ConstStrided a, ConstStrided b, float beta, Strided c);

// What a dense layer's forward pass does to its product: add a bias to every row, then ReLU.
struct GemmEpilogue {
  const float* bias = nullptr;  // n floats: C[i, j] += bias[j]
  bool relu = false;            // then C[i, j] = C[i, j] > 0 ? C[i, j] : 0
};

// C = epilogue(A * B), the epilogue applied to each tile of C while it is still in registers
// instead of in passes over C afterwards. Bitwise the same as gemm(alpha = 1, beta = 0) followed
// by those element-wise steps.
void gemm_fused(index_t m, index_t n, index_t k, ConstStrided a, ConstStrided b, Strided c,
                const GemmEpilogue& epilogue);

// The triple loop this library is tested against. Never optimise it: it is the oracle.
void gemm_reference(index_t m, index_t n, index_t k, float alpha, ConstStrided a, ConstStrided b, float beta,
                    Strided c);

// Name of the micro-kernel instruction set in use: "avx512", "avx2" or "generic".
const char* gemm_isa();

}  // namespace fastmlp
