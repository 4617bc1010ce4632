#pragma once
// What a training or inference call reads as X: dense rows or CSR rows.
#include "fastmlp/types.hpp"
#include "nn/csr.hpp"

namespace fastmlp {

// X of a call: rows of input_dim features, dense (row-major) or a CSR matrix. Converts implicitly
// from either, so dense callers pass their pointer as before.
struct Input {
  const float* dense = nullptr;
  const CsrMatrix* csr = nullptr;

  Input(const float* x) : dense(x) {}        // NOLINT(google-explicit-constructor)
  Input(const CsrMatrix& m) : csr(&m) {}     // NOLINT(google-explicit-constructor)
};

// The rows of X one forward pass reads: `dense` (rows, input_dim) contiguous, or, when it is null,
// rows of a CSR matrix read where they lie.
struct InputRows {
  const float* dense = nullptr;
  CsrRows sparse;
};

// Rows start, start + 1, ... of x.
inline InputRows rows_from(const Input& x, index_t start, index_t input_dim) {
  if (x.dense != nullptr) return {x.dense + start * input_dim, CsrRows{}};
  return {nullptr, CsrRows{x.csr, nullptr, start}};
}

}  // namespace fastmlp
