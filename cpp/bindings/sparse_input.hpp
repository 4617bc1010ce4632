#pragma once
// Sparse X from Python: a CSR matrix checked once and kept alive while the core reads it, and the
// conversion of a call's X argument (dense array or CSR matrix) into the core's Input.
#include <cstdint>

#include "bindings/common.hpp"
#include "model/input.hpp"
#include "nn/csr.hpp"

namespace fastmlp::bindings {

// _core.CsrMatrix(indptr, indices, values, n_cols): scipy's CSR arrays as the core takes them
// (int64 indptr (rows + 1,), int32 indices and float32 values (nnz,), C-contiguous; the Python
// layer converts). The constructor checks the structure (indptr from 0, non-decreasing, ending at
// nnz; indices in [0, n_cols) and strictly increasing within each row) and that every value is
// finite, raising ValueError otherwise, so the kernels can trust it.
class SparseInput {
 public:
  SparseInput(const py::array& indptr, const py::array& indices, const py::array& values, index_t n_cols);
  const CsrMatrix& matrix() const { return matrix_; }

 private:
  py::array_t<std::int64_t> indptr_;
  py::array_t<std::int32_t> indices_;
  py::array_t<float> values_;
  CsrMatrix matrix_;
};

// X of a training or inference call: a float32 (n, input_dim) array or a SparseInput with
// input_dim columns. Holds the converted array while the call runs.
class InputArg {
 public:
  InputArg(const py::object& x, index_t input_dim);
  index_t rows() const { return rows_; }
  Input input() const;

 private:
  FloatArray dense_;
  const SparseInput* sparse_ = nullptr;
  index_t rows_ = 0;
};

}  // namespace fastmlp::bindings
