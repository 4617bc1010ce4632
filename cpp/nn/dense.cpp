#include "nn/dense.hpp"

#include "fastmlp/gemm.hpp"
#include "gemm/gemv.hpp"

namespace fastmlp {

void dense_forward(const DenseShape& s, const Activation& act, const float* x, const float* w, const float* b,
                   float* y, float* z) {
  // The pre-activation goes to z when it must be kept, else straight into y (activated in place).
  float* pre = z != nullptr ? z : y;
  // Y = X W^T: W^T is W read with swapped strides, no copy.
  gemm(s.batch, s.out, s.in, 1.0f, row_major(x, s.in), row_major_transposed(w, s.in), 0.0f, row_major(pre, s.out));
  for (index_t r = 0; r < s.batch; ++r) {
    float* row = pre + r * s.out;
    for (index_t j = 0; j < s.out; ++j) row[j] += b[j];
    activation_forward(act, 1, s.out, row, y + r * s.out);
  }
}

void dense_backward(const DenseShape& s, const Activation& act, const float* x, const float* w, const float* y,
                    float* dy, float* dw, float* db, float* dx, const float* z) {
  float* dz = dy;
  activation_backward(act, s.batch, s.out, z, y, dy, dz);
  for (index_t j = 0; j < s.out; ++j) db[j] = 0.0f;
  for (index_t r = 0; r < s.batch; ++r) {
    const float* row = dz + r * s.out;
    for (index_t j = 0; j < s.out; ++j) db[j] += row[j];
  }
  // dW (out, in) = dZ^T (out, batch) X (batch, in). With one output that is one row: computed as
  // the column dW^T (in, 1) = X^T (in, batch) dZ (batch, 1), a matrix-vector product.
  if (s.out == 1)
    gemv(s.in, s.batch, 1.0f, row_major_transposed(x, s.in), row_major(dz, 1), 0.0f, row_major(dw, 1));
  else
    gemm(s.out, s.in, s.batch, 1.0f, row_major_transposed(dz, s.out), row_major(x, s.in), 0.0f,
         row_major(dw, s.in));
  // dX (batch, in) = dZ (batch, out) W (out, in)
  if (dx) gemm(s.batch, s.in, s.out, 1.0f, row_major(dz, s.out), row_major(w, s.in), 0.0f, row_major(dx, s.in));
}

}  // namespace fastmlp
