// fastmlp._core.matmul / gemm / gemm_fused / gemm_reference: checks 2-D float32 operands (any
// strides), releases the GIL and calls the GEMM.
#include <algorithm>
#include <functional>
#include <optional>
#include <string>

#include <pybind11/stl.h>

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

// By value, not by identity: an unpickled float32 array has its own, equal, dtype object.
bool is_native_float32(const py::array& a) { return py::isinstance<py::array_t<float>>(a); }

ArrayOperand operand(const py::array& a, const char* name) {
  require_ndim(a, 2, name);
  FASTMLP_REQUIRE(is_native_float32(a), std::string(name) + " must have dtype float32");
  const index_t rs = a.strides(0), cs = a.strides(1);
  FASTMLP_REQUIRE(rs % static_cast<index_t>(sizeof(float)) == 0 && cs % static_cast<index_t>(sizeof(float)) == 0,
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

using GemmFunction = std::function<void(index_t, index_t, index_t, float, ConstStrided, ConstStrided, float, Strided)>;

// Checks the operands, then runs `fn` (the optimised gemm or the reference) without the GIL.
void run_gemm(const py::array& a, const py::array& b, py::array& c, float alpha, float beta, bool trans_a,
              bool trans_b, const char* c_name = "c", const GemmFunction& fn = &gemm) {
  const std::string cn = c_name;
  ArrayOperand A = operand(a, "a"), B = operand(b, "b"), C = operand(c, c_name);
  FASTMLP_REQUIRE(c.writeable(), cn + " must be writeable");
  if (trans_a) {
    A.view = A.view.transposed();
    std::swap(A.rows, A.cols);
  }
  if (trans_b) {
    B.view = B.view.transposed();
    std::swap(B.rows, B.cols);
  }
  FASTMLP_REQUIRE(A.cols == B.rows, "inner dimensions differ: op(a) is (" + std::to_string(A.rows) + ", " +
                                std::to_string(A.cols) + ") and op(b) is (" + std::to_string(B.rows) + ", " +
                                std::to_string(B.cols) + ")");
  FASTMLP_REQUIRE(C.rows == A.rows && C.cols == B.cols, cn + " must have shape (" + std::to_string(A.rows) + ", " +
                                                    std::to_string(B.cols) + ")");
  FASTMLP_REQUIRE(!overlaps(C, A) && !overlaps(C, B), cn + " must not share memory with a or b");
  Strided cv{static_cast<float*>(c.mutable_data()), C.view.row_stride, C.view.col_stride};
  py::gil_scoped_release release;
  fn(A.rows, B.cols, A.cols, alpha, A.view, B.view, beta, cv);
}

// A float32 ndarray operand of fm.matmul, any strides (the Python layer converts other inputs).
py::array float32_array(const py::object& obj, const char* name) {
  FASTMLP_REQUIRE(py::isinstance<py::array>(obj) && is_native_float32(py::reinterpret_borrow<py::array>(obj)),
                  std::string(name) + " must be a float32 NumPy array");
  return py::reinterpret_borrow<py::array>(obj);
}

// fm.matmul after its conversion: a @ b for 2-D float32 arrays, into `out` (None: a new array).
py::array matmul(const py::object& a_obj, const py::object& b_obj, const py::object& out_obj) {
  const py::array a = float32_array(a_obj, "a");
  const py::array b = float32_array(b_obj, "b");
  require_ndim(a, 2, "a");
  require_ndim(b, 2, "b");
  FASTMLP_REQUIRE(a.shape(1) == b.shape(0), "a has shape (" + std::to_string(a.shape(0)) + ", " + std::to_string(a.shape(1)) +
                                        ") and b has shape (" + std::to_string(b.shape(0)) + ", " +
                                        std::to_string(b.shape(1)) + "): a.shape[1] must equal b.shape[0]");
  py::array out;
  if (out_obj.is_none()) {
    out = py::array_t<float>({a.shape(0), b.shape(1)});
  } else {
    FASTMLP_REQUIRE(py::isinstance<py::array>(out_obj), "out must be a float32 NumPy array");
    out = py::reinterpret_borrow<py::array>(out_obj);
    FASTMLP_REQUIRE(is_native_float32(out), "out must have dtype float32");
  }
  run_gemm(a, b, out, 1.0f, 0.0f, false, false, "out");
  return out;
}

}  // namespace

void bind_gemm(py::module_& m) {
  m.def("matmul", &matmul, py::arg("a"), py::arg("b"), py::arg("out") = py::none(),
        "a @ b for 2-D float32 arrays of any strides (fastmlp.matmul converts other inputs first).");
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
      "gemm_fused",
      [](const py::array& a, const py::array& b, py::array& c, const std::optional<py::array>& bias, bool relu,
         bool trans_a, bool trans_b) {
        GemmEpilogue epilogue{nullptr, relu};
        if (bias) {
          const ArrayOperand C = operand(c, "c");
          require_ndim(*bias, 1, "bias");
          FASTMLP_REQUIRE(is_native_float32(*bias), "bias must have dtype float32");
          FASTMLP_REQUIRE(bias->strides(0) == static_cast<py::ssize_t>(sizeof(float)), "bias must be contiguous");
          FASTMLP_REQUIRE(bias->shape(0) == C.cols, "bias must have c.shape[1] elements");
          const char* lo = static_cast<const char*>(bias->data());
          FASTMLP_REQUIRE(!overlaps(C, {{}, 0, 0, lo, lo + bias->nbytes()}), "bias must not share memory with c");
          epilogue.bias = static_cast<const float*>(bias->data());
        }
        run_gemm(a, b, c, 1.0f, 0.0f, trans_a, trans_b, "c",
                 [&](index_t rows, index_t cols, index_t depth, float, ConstStrided av, ConstStrided bv, float,
                     Strided cv) { gemm_fused(rows, cols, depth, av, bv, cv, epilogue); });
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("bias") = py::none(), py::arg("relu") = false,
      py::arg("trans_a") = false, py::arg("trans_b") = false,
      "c = op(a) @ op(b) + bias, then ReLU when relu, with bias and ReLU applied in the GEMM's tiles "
      "(the dense layer's forward pass).");
  m.def(
      "gemm_reference",
      [](const py::array& a, const py::array& b, py::array& c, float alpha, float beta, bool trans_a, bool trans_b) {
        run_gemm(a, b, c, alpha, beta, trans_a, trans_b, "c", &gemm_reference);
      },
      py::arg("a"), py::arg("b"), py::arg("c"), py::arg("alpha") = 1.0f, py::arg("beta") = 0.0f,
      py::arg("trans_a") = false, py::arg("trans_b") = false,
      "The naive triple-loop GEMM (double accumulation) the optimised one is tested against.");
}

}  // namespace fastmlp::bindings
