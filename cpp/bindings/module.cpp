// The compiled core, fastmlp._core. Each area registers itself; no logic here.
#include "bindings/common.hpp"

PYBIND11_MODULE(_core, m) {
  m.doc() = "fastmlp's C++ core (private: use the fastmlp package)";
  fastmlp::bindings::bind_runtime(m);
  fastmlp::bindings::bind_gemm(m);
  fastmlp::bindings::bind_kernels(m);
  fastmlp::bindings::bind_model(m);
}
