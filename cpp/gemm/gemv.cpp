#include "gemm/gemv.hpp"

#include <algorithm>

#include "fastmlp/simd_clones.hpp"

namespace fastmlp {
namespace {

inline void store(float alpha, float sum, float beta, float& y) {
  y = beta == 0.0f ? alpha * sum : alpha * sum + beta * y;
}

// Rows of A contiguous: one dot product per row, accumulated in kLanes independent partial sums
// (one AVX-512 register, two AVX2 ones) that are added up in lane order at the end.
FASTMLP_VECTOR_CLONES
void gemv_rows(index_t m, index_t k, float alpha, ConstStrided a, ConstStrided x, float beta, Strided y) {
  constexpr index_t kLanes = 16;
  const bool x_contiguous = x.row_stride == 1;
  for (index_t i = 0; i < m; ++i) {
    const float* row = &a(i, 0);
    float lanes[kLanes] = {};
    index_t p = 0;
    if (x_contiguous) {
      const float* xv = &x(0, 0);
      for (; p + kLanes <= k; p += kLanes)
        for (index_t l = 0; l < kLanes; ++l) lanes[l] += row[p + l] * xv[p + l];
    }
    float sum = 0.0f;
    for (index_t l = 0; l < kLanes; ++l) sum += lanes[l];
    for (; p < k; ++p) sum += row[p] * x(p, 0);
    store(alpha, sum, beta, y(i, 0));
  }
}

// Any other layout (typically columns of A contiguous, as for a transposed operand): y is
// accumulated as a sum of columns, p in order, kChunk rows at a time in a stack buffer.
FASTMLP_VECTOR_CLONES
void gemv_columns(index_t m, index_t k, float alpha, ConstStrided a, ConstStrided x, float beta, Strided y) {
  constexpr index_t kChunk = 256;
  float acc[kChunk];
  for (index_t i0 = 0; i0 < m; i0 += kChunk) {
    const index_t rows = std::min(kChunk, m - i0);
    for (index_t r = 0; r < rows; ++r) acc[r] = 0.0f;
    const index_t rs = a.row_stride;
    for (index_t p = 0; p < k; ++p) {
      const float xp = x(p, 0);
      const float* column = &a(i0, p);
      if (rs == 1) {
        for (index_t r = 0; r < rows; ++r) acc[r] += column[r] * xp;
      } else {
        for (index_t r = 0; r < rows; ++r) acc[r] += column[r * rs] * xp;
      }
    }
    for (index_t r = 0; r < rows; ++r) store(alpha, acc[r], beta, y(i0 + r, 0));
  }
}

}  // namespace

void gemv(index_t m, index_t k, float alpha, ConstStrided a, ConstStrided x, float beta, Strided y) {
  if (a.col_stride == 1)
    gemv_rows(m, k, alpha, a, x, beta, y);
  else
    gemv_columns(m, k, alpha, a, x, beta, y);
}

}  // namespace fastmlp
