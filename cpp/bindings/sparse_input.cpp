#include "bindings/sparse_input.hpp"

#include <cmath>
#include <string>

namespace fastmlp::bindings {
namespace {

// `a` as a 1-D C-contiguous array of exactly dtype T (no silent conversion: a cast of indices
// could wrap around).
template <class T>
py::array_t<T> exact_vector(const py::array& a, const char* name, const char* dtype) {
  FASTMLP_REQUIRE(py::isinstance<py::array_t<T>>(a) && a.ndim() == 1 && (a.flags() & py::array::c_style),
                  std::string(name) + " must be a 1-D C-contiguous " + dtype + " array");
  return py::reinterpret_borrow<py::array_t<T>>(a);
}

}  // namespace

SparseInput::SparseInput(const py::array& indptr, const py::array& indices, const py::array& values, index_t n_cols)
    : indptr_(exact_vector<std::int64_t>(indptr, "indptr", "int64")),
      indices_(exact_vector<std::int32_t>(indices, "indices", "int32")),
      values_(exact_vector<float>(values, "values", "float32")) {
  FASTMLP_REQUIRE(n_cols > 0, "n_cols must be a positive integer");
  FASTMLP_REQUIRE(indptr_.shape(0) >= 1, "indptr must have rows + 1 >= 1 entries");
  const index_t rows = indptr_.shape(0) - 1;
  const index_t nnz = indices_.shape(0);
  FASTMLP_REQUIRE(values_.shape(0) == nnz, "indices and values must have the same length, got " +
                                               std::to_string(nnz) + " and " + std::to_string(values_.shape(0)));
  const std::int64_t* ptr = indptr_.data();
  const std::int32_t* idx = indices_.data();
  FASTMLP_REQUIRE(ptr[0] == 0 && ptr[rows] == nnz, "indptr must start at 0 and end at the number of values (" +
                                                       std::to_string(nnz) + ")");
  // indptr first, whole: the index checks below read indices[ptr[r] .. ptr[r + 1]).
  for (index_t r = 0; r < rows; ++r)
    FASTMLP_REQUIRE(ptr[r] <= ptr[r + 1], "indptr must be non-decreasing (row " + std::to_string(r) + ")");
  for (index_t r = 0; r < rows; ++r) {
    for (std::int64_t p = ptr[r]; p < ptr[r + 1]; ++p) {
      FASTMLP_REQUIRE(idx[p] >= 0 && idx[p] < n_cols, "column index " + std::to_string(idx[p]) + " in row " +
                                                         std::to_string(r) + " is outside [0, " +
                                                         std::to_string(n_cols) + ")");
      FASTMLP_REQUIRE(p == ptr[r] || idx[p - 1] < idx[p],
                      "the column indices of row " + std::to_string(r) +
                          " must be strictly increasing (sorted, no duplicates: scipy's sum_duplicates() makes them so)");
    }
  }
  const float* v = values_.data();
  for (index_t p = 0; p < nnz; ++p)
    FASTMLP_REQUIRE(std::isfinite(v[p]), "the values must be finite (NaN or infinity at position " +
                                             std::to_string(p) + ")");
  matrix_ = CsrMatrix{rows, n_cols, ptr, idx, v};
}

InputArg::InputArg(const py::object& x, index_t input_dim) {
  if (py::isinstance<SparseInput>(x)) {
    sparse_ = &x.cast<const SparseInput&>();
    FASTMLP_REQUIRE(sparse_->matrix().cols == input_dim, "X must have " + std::to_string(input_dim) +
                                                             " features (columns), got " +
                                                             std::to_string(sparse_->matrix().cols));
    rows_ = sparse_->matrix().rows;
    return;
  }
  dense_ = x.cast<FloatArray>();
  require_ndim(dense_, 2, "X");
  FASTMLP_REQUIRE(dense_.shape(1) == input_dim, "X must have " + std::to_string(input_dim) +
                                                    " features (columns), got " + std::to_string(dense_.shape(1)));
  rows_ = dense_.shape(0);
}

Input InputArg::input() const {
  if (sparse_ != nullptr) return Input(sparse_->matrix());
  return Input(dense_.data());
}

void bind_sparse_input(py::module_& m) {
  py::class_<SparseInput>(m, "CsrMatrix",
                          "Sparse X for the Network calls: CSR arrays (int64 indptr, int32 indices, float32 values)\n"
                          "checked once; keeps them alive. Pass it where a call takes X.")
      .def(py::init<const py::array&, const py::array&, const py::array&, index_t>(), py::arg("indptr"),
           py::arg("indices"), py::arg("values"), py::arg("n_cols"))
      .def_property_readonly("shape", [](const SparseInput& s) {
        return py::make_tuple(s.matrix().rows, s.matrix().cols);
      })
      .def_property_readonly("nnz", [](const SparseInput& s) { return s.matrix().indptr[s.matrix().rows]; });
}

}  // namespace fastmlp::bindings
