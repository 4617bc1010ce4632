#pragma once
// Basic types shared by every part of the core.
#include <cstddef>
#include <cstdint>

namespace fastmlp {

using index_t = std::ptrdiff_t;

// A read-only strided 2-D operand: element (i, j) lives at data[i * row_stride + j * col_stride].
// A transposed matrix is the same memory with the strides swapped, which is how the GEMM absorbs
// transposes without copying.
struct ConstStrided {
  const float* data;
  index_t row_stride;
  index_t col_stride;

  const float& operator()(index_t i, index_t j) const { return data[i * row_stride + j * col_stride]; }
  ConstStrided transposed() const { return {data, col_stride, row_stride}; }
};

// A writable strided 2-D operand (same addressing as ConstStrided).
struct Strided {
  float* data;
  index_t row_stride;
  index_t col_stride;

  float& operator()(index_t i, index_t j) const { return data[i * row_stride + j * col_stride]; }
  operator ConstStrided() const { return {data, row_stride, col_stride}; }
};

// A row-major matrix with contiguous rows: (rows, cols), element (i, j) at data[i * cols + j].
inline ConstStrided row_major(const float* data, index_t cols) { return {data, cols, 1}; }
inline Strided row_major(float* data, index_t cols) { return {data, cols, 1}; }
// The transpose of a row-major (rows, cols) matrix, seen as a (cols, rows) operand.
inline ConstStrided row_major_transposed(const float* data, index_t cols) { return {data, 1, cols}; }

}  // namespace fastmlp
