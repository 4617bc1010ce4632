// Direct access to the layer, activation and loss kernels, for the kernel-level tests.
#include <pybind11/stl.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>

#include "bindings/common.hpp"
#include "bindings/targets.hpp"
#include "nn/activations.hpp"
#include "nn/dense.hpp"
#include "nn/losses.hpp"

namespace fastmlp::bindings {
namespace {

FloatArray new_matrix(index_t rows, index_t cols) { return FloatArray({rows, cols}); }

using Params = std::map<std::string, double>;

FloatArray dense_forward_py(const FloatArray& x, const FloatArray& w, const FloatArray& b, const std::string& act,
                            const Params& params) {
  require_ndim(x, 2, "x");
  require_ndim(w, 2, "w");
  require_ndim(b, 1, "b");
  const DenseShape s{x.shape(0), x.shape(1), w.shape(0)};
  FASTMLP_REQUIRE(w.shape(1) == s.in, "w must have shape (out, x.shape[1])");
  FASTMLP_REQUIRE(b.shape(0) == s.out, "b must have shape (w.shape[0],)");
  const Activation a = parse_activation(act, params);
  FloatArray y = new_matrix(s.batch, s.out);
  float* yp = y.mutable_data();
  py::gil_scoped_release release;
  dense_forward(s, a, x.data(), w.data(), b.data(), yp);
  return y;
}

py::tuple dense_backward_py(const FloatArray& x, const FloatArray& w, const FloatArray& y, const FloatArray& dy,
                            const std::string& act, bool need_dx, const Params& params, const py::object& z_obj) {
  require_ndim(x, 2, "x");
  require_ndim(w, 2, "w");
  const DenseShape s{x.shape(0), x.shape(1), w.shape(0)};
  FASTMLP_REQUIRE(w.shape(1) == s.in, "w must have shape (out, x.shape[1])");
  for (const FloatArray* a : {&y, &dy}) {
    require_ndim(*a, 2, "y and dy");
    FASTMLP_REQUIRE(a->shape(0) == s.batch && a->shape(1) == s.out, "y and dy must have shape (x.shape[0], w.shape[0])");
  }
  const Activation a = parse_activation(act, params);
  // (a default-constructed array_t is an empty array, not a null handle: track presence separately)
  const bool have_z = !z_obj.is_none();
  FloatArray z;
  if (have_z) {
    z = FloatArray::ensure(z_obj);
    FASTMLP_REQUIRE(z && z.ndim() == 2 && z.shape(0) == s.batch && z.shape(1) == s.out,
                    "z must be a float array of shape (x.shape[0], w.shape[0])");
  }
  FASTMLP_REQUIRE(have_z || !activation_needs_input(a), "activation '" + act + "' needs the pre-activation z");
  FloatArray dz = new_matrix(s.batch, s.out);  // dense_backward overwrites its dy argument
  std::memcpy(dz.mutable_data(), dy.data(), sizeof(float) * s.batch * s.out);
  FloatArray dw = new_matrix(s.out, s.in);
  FloatArray db = FloatArray({s.out});
  py::object dx_obj = py::none();
  float* dxp = nullptr;
  if (need_dx) {
    FloatArray dx = new_matrix(s.batch, s.in);
    dxp = dx.mutable_data();
    dx_obj = dx;
  }
  float *dzp = dz.mutable_data(), *dwp = dw.mutable_data(), *dbp = db.mutable_data();
  const float* zp = have_z ? z.data() : nullptr;
  {
    py::gil_scoped_release release;
    dense_backward(s, a, x.data(), w.data(), y.data(), dzp, dwp, dbp, dxp, zp);
  }
  return py::make_tuple(dx_obj, dw, db);
}

// (rows, cols) of an array seen as a stack of rows along its last axis (softmax normalises rows).
std::pair<index_t, index_t> rows_cols(const FloatArray& a) {
  const index_t cols = a.ndim() > 0 ? a.shape(a.ndim() - 1) : 1;
  return {cols > 0 ? a.size() / cols : 0, cols};
}

FloatArray activation_forward_py(const std::string& name, const FloatArray& x, const Params& params) {
  const Activation a = parse_activation(name, params);
  FloatArray y(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
  const auto [rows, cols] = rows_cols(x);
  activation_forward(a, rows, cols, x.data(), y.mutable_data());
  return y;
}

FloatArray activation_backward_py(const std::string& name, const FloatArray& y, const FloatArray& dy,
                                  const py::object& x_obj, const Params& params) {
  const Activation a = parse_activation(name, params);
  FASTMLP_REQUIRE(y.ndim() == dy.ndim() && std::equal(y.shape(), y.shape() + y.ndim(), dy.shape()),
                  "y and dy must have the same shape");
  const bool have_x = !x_obj.is_none();
  FloatArray x;
  if (have_x) {
    x = FloatArray::ensure(x_obj);
    FASTMLP_REQUIRE(x && x.ndim() == y.ndim() && std::equal(y.shape(), y.shape() + y.ndim(), x.shape()),
                    "x must have the shape of y");
  }
  FASTMLP_REQUIRE(have_x || !activation_needs_input(a), "activation '" + name + "' needs its input x");
  FloatArray dx(std::vector<py::ssize_t>(dy.shape(), dy.shape() + dy.ndim()));
  const auto [rows, cols] = rows_cols(y);
  activation_backward(a, rows, cols, have_x ? x.data() : nullptr, y.data(), dy.data(), dx.mutable_data());
  return dx;
}

py::tuple loss_py(const std::string& name, const FloatArray& pred, const py::array& target,
                  const py::object& sample_weight, const py::object& class_weight, double huber_delta,
                  double label_smoothing) {
  const LossSpec spec{parse_loss(name), huber_delta, label_smoothing};
  require_ndim(pred, 2, "pred");
  const index_t rows = pred.shape(0), cols = pred.shape(1);
  const TargetArrays t = check_targets(spec.kind, target, rows, cols, sample_weight, class_weight, "target");
  FloatArray grad = new_matrix(rows, cols);
  const double scale = mean_grad_scale(loss_normaliser(spec, rows, cols, t.targets));
  const LossStats stats = loss_forward_backward(spec, rows, cols, pred.data(), t.targets, grad.mutable_data(), scale);
  return py::make_tuple(stats.mean_loss(), grad);
}

}  // namespace

void bind_kernels(py::module_& m) {
  m.def("dense_forward", &dense_forward_py, py::arg("x"), py::arg("w"), py::arg("b"), py::arg("activation"),
        py::arg("params") = Params{},
        "y = act(x @ w.T + b); x (batch, in), w (out, in), b (out,), float32.");
  m.def("dense_backward", &dense_backward_py, py::arg("x"), py::arg("w"), py::arg("y"), py::arg("dy"),
        py::arg("activation"), py::arg("need_dx") = true, py::arg("params") = Params{}, py::arg("z") = py::none(),
        "(dx, dw, db) for y = act(x @ w.T + b) given dL/dy; dx is None when need_dx is False. z, the\n"
        "pre-activation x @ w.T + b, is required for activations that need it (gelu, gelu_tanh, silu, ...).");
  m.def("activation_forward", &activation_forward_py, py::arg("name"), py::arg("x"), py::arg("params") = Params{},
        "act(x), element-wise (softmax: over the last axis).");
  m.def("activation_backward", &activation_backward_py, py::arg("name"), py::arg("y"), py::arg("dy"),
        py::arg("x") = py::none(), py::arg("params") = Params{},
        "dL/dx given the activation output y and dL/dy, through the same path as training: from y where\n"
        "y determines the derivative, else from the input x (required then).");
  m.def("loss", &loss_py, py::arg("name"), py::arg("pred"), py::arg("target"), py::arg("sample_weight") = py::none(),
        py::arg("class_weight") = py::none(), py::arg("huber_delta") = 1.0, py::arg("label_smoothing") = 0.0,
        "(mean loss, gradient of the mean loss w.r.t. pred); weights as in nn/losses.hpp.");
}

}  // namespace fastmlp::bindings
