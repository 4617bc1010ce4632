#pragma once
// Sparse input rows (CSR) and the two products a dense layer needs with them: the forward
// X W^T and the weight gradient dZ^T X. Neither densifies X.
#include <cstdint>

#include "fastmlp/types.hpp"

namespace fastmlp {

// A (rows, cols) CSR matrix: row i's non-zeros are values[indptr[i] .. indptr[i + 1]) in columns
// indices[...], strictly increasing within the row (checked where the matrix enters the core).
struct CsrMatrix {
  index_t rows = 0;
  index_t cols = 0;
  const std::int64_t* indptr = nullptr;
  const std::int32_t* indices = nullptr;
  const float* values = nullptr;
};

// Rows of a CsrMatrix, read where they lie: row_ids[0 .. count) (a shuffled batch) or, when
// row_ids is null, first, first + 1, ... .
struct CsrRows {
  const CsrMatrix* matrix = nullptr;
  const index_t* row_ids = nullptr;
  index_t first = 0;

  index_t row(index_t r) const { return row_ids != nullptr ? row_ids[r] : first + r; }
};

// y (rows, out) = X W^T + b for `rows` rows of X (cols == in), w: (out, in), b: (out,).
// Bit for bit what dense_forward's product and bias give for X densified: every element is summed
// in the order the GEMM (kc-deep slices, fused multiply-adds where its micro-kernel fuses) or, for
// out == 1, gemv uses, and the zeros left out add nothing to those sums.
void csr_times_transposed(const CsrRows& x, index_t rows, index_t in, index_t out, const float* w, const float* b,
                          float* y);

// dw (out, in) = dZ^T X for `rows` rows of X, dz: (rows, out); dw is overwritten. Bit for bit what
// dense_backward's weight-gradient product gives for X densified (same reasoning).
void transposed_times_csr(const float* dz, const CsrRows& x, index_t rows, index_t in, index_t out, float* dw);

// dense (rows, cols) row-major = the rows of X, zeros filled in.
void csr_rows_to_dense(const CsrRows& x, index_t rows, float* dense);

}  // namespace fastmlp
