#include "nn/dense.hpp"

#include "fastmlp/gemm.hpp"
#include "fastmlp/simd_clones.hpp"
#include "gemm/gemv.hpp"
#include "runtime/aligned_buffer.hpp"

namespace fastmlp {
namespace {

// sums[j] = x[0, j] + x[1, j] + ... in row order, for a (rows, cols) row-major x. Columns go in
// blocks of 64 whose partial sums stay in vector registers down all the rows; accumulating into
// memory row by row chained every add to the previous row's store.
FASTMLP_VECTOR_CLONES
void column_sums(index_t rows, index_t cols, const float* x, float* sums) {
  constexpr index_t kBlock = 64;
  index_t j0 = 0;
  for (; j0 + kBlock <= cols; j0 += kBlock) {
    float acc[kBlock] = {};
    for (index_t r = 0; r < rows; ++r) {
      const float* row = x + r * cols + j0;
      for (index_t j = 0; j < kBlock; ++j) acc[j] += row[j];
    }
    for (index_t j = 0; j < kBlock; ++j) sums[j0 + j] = acc[j];
  }
  for (index_t j = j0; j < cols; ++j) sums[j] = 0.0f;
  for (index_t r = 0; r < rows; ++r) {
    const float* row = x + r * cols;
    for (index_t j = j0; j < cols; ++j) sums[j] += row[j];
  }
}

// dW (out, in) = dZ^T (out, batch) X (batch, in). With one output that is one row: computed as
// the column dW^T (in, 1) = X^T (in, batch) dZ (batch, 1), a matrix-vector product.
void weight_gradient(const DenseShape& s, const float* x, const float* dz, float* dw) {
  if (s.out == 1)
    gemv(s.in, s.batch, 1.0f, row_major_transposed(x, s.in), row_major(dz, 1), 0.0f, row_major(dw, 1));
  else
    gemm(s.out, s.in, s.batch, 1.0f, row_major_transposed(dz, s.out), row_major(x, s.in), 0.0f,
         row_major(dw, s.in));
}

}  // namespace

void dense_forward(const DenseShape& s, const Activation& act, const float* x, const float* w, const float* b,
                   float* y, float* z) {
  // The pre-activation goes to z when it must be kept, else straight into y (activated in place).
  float* pre = z != nullptr ? z : y;
  // Y = X W^T + b: W^T is W read with swapped strides, no copy. The bias, and a ReLU, are applied
  // by the GEMM to each tile while it is in registers; other activations take a pass over Y.
  const bool fuse_relu = act.kind == Activation::ReLU && z == nullptr;
  gemm_fused(s.batch, s.out, s.in, row_major(x, s.in), row_major_transposed(w, s.in), row_major(pre, s.out),
             GemmEpilogue{b, fuse_relu});
  if (!fuse_relu && (act.kind != Activation::Identity || pre != y)) activation_forward(act, s.batch, s.out, pre, y);
}

void dense_backward(const DenseShape& s, const Activation& act, const float* x, const float* w, const float* y,
                    float* dy, float* dw, float* db, float* dx, const float* z) {
  float* dz = dy;
  activation_backward(act, s.batch, s.out, z, y, dy, dz);
  column_sums(s.batch, s.out, dz, db);
  weight_gradient(s, x, dz, dw);
  // dX (batch, in) = dZ (batch, out) W (out, in)
  if (dx) gemm(s.batch, s.in, s.out, 1.0f, row_major(dz, s.out), row_major(w, s.in), 0.0f, row_major(dx, s.in));
}

void dense_forward(const DenseShape& s, const Activation& act, const CsrRows& x, const float* w, const float* b,
                   float* y, float* z) {
  float* pre = z != nullptr ? z : y;
  csr_times_transposed(x, s.batch, s.in, s.out, w, b, pre);
  // dense_forward's fused ReLU (r > 0 ? r : 0 on the biased sum) is the ReLU pass's arithmetic.
  if (act.kind != Activation::Identity || pre != y) activation_forward(act, s.batch, s.out, pre, y);
}

void dense_backward(const DenseShape& s, const Activation& act, const CsrRows& x, const float* y, float* dy,
                    float* dw, float* db, const float* z) {
  float* dz = dy;
  activation_backward(act, s.batch, s.out, z, y, dy, dz);
  column_sums(s.batch, s.out, dz, db);
  if (s.in > 1) {
    transposed_times_csr(dz, x, s.batch, s.in, s.out, dw);
    return;
  }
  // One input column: the dense product is a gemv (n == 1), whose own summation orders the CSR
  // product does not follow; the column, `batch` floats, is densified and takes the dense path.
  thread_local AlignedBuffer<float> column;
  column.ensure(s.batch);
  csr_rows_to_dense(x, s.batch, column.data());
  weight_gradient(s, column.data(), dz, dw);
}

}  // namespace fastmlp
