#include <algorithm>

#include "bindings/common.hpp"
#include "fastmlp/gemm.hpp"

namespace fastmlp::bindings {
namespace {

// A 2-D float32 array seen as a strided operand (strides in elements; any sign).
struct ArrayOperand {
  ConstStrided view;
  index_t rows, cols;
  const char* lo;  // byte range the array spans, for the overlap check
  const char* hi;
};

ArrayOperand operand(const py::array& a, const char* name) {
  require_ndim(a, 2, name);
  require(a.dtype().is(py::dtype::of<float>()), std::string(name) + " must have dtype float32");
  const index_t rs = a.strides(0), cs = a.strides(1);
  require(rs % static_cast<index_t>(sizeof(float)) == 0 && cs % static_cast<index_t>(sizeof(float)) == 0,
          std::string(name) + " must have strides that are multiples of 4 bytes");
  ArrayOperand op{{static_cast<const float*>(a.data()), rs / 4, cs / 4}, a.shape(0), a.shape(1), nullptr, nullptr};
  const char* base = static_cast<const char*>(a.data());
  const char* lo = base;
  const char* hi = base;
  if (op.rows > 0 && op.cols > 0) {
    for (index_t stride_bytes : {rs * (op.rows - 1), cs * (op.cols - 1)}) {
      if (stride_bytes < 0) lo += stride_bytes;
      else hi += stride_bytes;
    }
    hi += sizeof(float);
  }
  op.lo = lo;
  op.hi = hi;
  return op;
}

bool overlaps(const ArrayOperand& x, const ArrayOperand& y) { return x.lo < y.hi && y.lo < x.hi; }

void run_gemm(const py::array& a, const py::array& b, py::array& c, float alpha, float beta, bool trans_a,
              bool trans_b) {
  ArrayOperand A = operand(a, "a"), B = operand(b, "b"), C = operand(c, "c");
  require(c.writeable(), "c must be writeable");
  if (trans_a) {
    A.view = A.view.transposed();
    std::swap(A.rows, A.cols);
  }
  if (trans_b) {
    B.view = B.view.transposed();
    std::swap(B.rows, B.cols);
  }
  require(A.cols == B.rows, "inner dimensions differ: op(a) is (" + std::to_string(A.rows) + ", " +
                                std::to_string(A.cols) + ") and op(b) is (" + std::to_string(B.rows) + ", " +
                                std::to_string(B.cols) + ")");
  require(C.rows == A.rows && C.cols == B.cols, "c must have shape (" + std::to_string(A.rows) + ", " +
                                                    std::to_string(B.cols) + ")");
  require(!overlaps(C, A) && !overlaps(C, B), "c must not share memory with a or b");
  Strided cv{static_cast<float*>(c.mutable_data()), C.view.row_stride, C.view.col_stride};
  py::gil_scoped_release release;
  gemm(A.rows, B.cols, A.cols, alpha, A.view, B.view, beta, cv);
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def(
      "gemm",
      [](const py::array& a, const py::array& b, py::array& c, float alpha, float beta, bool trans_a, bool trans_b) {
        run_gemm(a, b, c, alpha, beta, trans_a, trans_b);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      py::arg("trans_a") = false, py::arg("trans_b") = false,
      "c = alpha * op(a) @ op(b) + beta * c in place; 2-D float32 arrays of any strides; beta == 0 ignores c's "
      "contents.");
  m.def(
      "gemm_reference",
      [](const py::array& a, const py::array& b, py::array& c, float alpha, float beta) {
        ArrayOperand A = operand(a, "a"), B = operand(b, "b"), C = operand(c, "c");
        require(A.cols == B.rows && C.rows == A.rows && C.cols == B.cols, "shapes do not match");
        require(c.writeable() && !overlaps(C, A) && !overlaps(C, B), "c must be writeable and not overlap a or b");
        Strided cv{static_cast<float*>(c.mutable_data()), C.view.row_stride, C.view.col_stride};
        py::gil_scoped_release release;
        gemm_reference(A.rows, B.cols, A.cols, alpha, A.view, B.view, beta, cv);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      "The naive triple-loop GEMM (double accumulation) the optimised one is tested against.");
}

}  // namespace fastmlp::bindings
