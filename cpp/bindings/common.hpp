#pragma once
// Helpers shared by the bind_*.cpp files: array checks and Ctrl-C polling. No math here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "fastmlp/types.hpp"

namespace fastmlp::bindings {

namespace py = pybind11;

// C-contiguous float32 arrays, converted by pybind11 only when they are not already (the Python
// layer converts and validates first, so the model calls below never copy).
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;
using LabelArray = py::array_t<std::int64_t, py::array::c_style | py::array::forcecast>;

// Raises ValueError(message) unless cond holds. A macro so that the message, which often formats
// shapes, is only built when the check fails: small calls must not pay for string formatting.
#define FASTMLP_REQUIRE(cond, message)                             \
  do {                                                             \
    if (!(cond)) throw ::pybind11::value_error(message);           \
  } while (0)

inline void require_ndim(const py::array& a, int ndim, const char* name) {
  FASTMLP_REQUIRE(a.ndim() == ndim, std::string(name) + " must be a " + std::to_string(ndim) + "-D array, got " +
                                std::to_string(a.ndim()) + "-D");
}

// Polls Python's signal handlers (Ctrl-C) from inside long C++ loops that run with the GIL
// released. Checking costs one clock read per call; the GIL is taken only every `period`.
class InterruptPoller {
 public:
  explicit InterruptPoller(std::chrono::milliseconds period = std::chrono::milliseconds(20)) : period_(period) {}

  // True once a signal handler raised (the Python error is then set on this thread).
  bool operator()() {
    const auto now = std::chrono::steady_clock::now();
    if (now < next_check_) return false;
    next_check_ = now + period_;
    py::gil_scoped_acquire gil;
    if (PyErr_CheckSignals() != 0) interrupted_ = true;
    return interrupted_;
  }

  std::function<bool()> callback() {
    return [this] { return (*this)(); };
  }

  // Call with the GIL held, after the C++ work returned: re-raises the pending KeyboardInterrupt.
  void rethrow_if_interrupted() const {
    if (interrupted_) throw py::error_already_set();
  }

 private:
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point next_check_ = std::chrono::steady_clock::now();
  bool interrupted_ = false;
};

void bind_gemm(py::module_& m);
void bind_kernels(py::module_& m);
void bind_runtime(py::module_& m);
// Network: bind_network registers the class; bind_optimizer and bind_training add its methods.
void bind_network(py::module_& m);
void bind_optimizer(py::module_& m);
void bind_training(py::module_& m);
// _core.CsrMatrix, sparse X for the Network calls (sparse_input.hpp).
void bind_sparse_input(py::module_& m);

}  // namespace fastmlp::bindings
