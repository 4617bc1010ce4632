// The compiled core, fastmlp._core. Each area registers itself; no logic here.
//
// Exceptions: pybind11's built-in translators turn C++'s std::invalid_argument (and domain_error,
// length_error, range_error) into ValueError, std::bad_alloc into MemoryError, out_of_range into
// IndexError, overflow_error into OverflowError and any other std::exception (runtime_error,
// logic_error) into RuntimeError: the C++ core throws standard exceptions, no binding catches them.
#include "bindings/common.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastmlp's C++ core (private: use the fastmlp package)";
  fastmlp::bindings::bind_runtime(m);
  fastmlp::bindings::bind_gemm(m);
  fastmlp::bindings::bind_kernels(m);
  fastmlp::bindings::bind_sparse_input(m);
  fastmlp::bindings::bind_network(m);
  fastmlp::bindings::bind_optimizer(m);
  fastmlp::bindings::bind_training(m);
}
