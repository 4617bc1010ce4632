#include "bindings/common.hpp"
#include "fastmlp/gemm.hpp"
#include "runtime/finite.hpp"
#include "runtime/thread_pool.hpp"

namespace fastmlp::bindings {

void bind_runtime(py::module_& m) {
  // Resolve the kernel now, so that a bad FASTMLP_ISA fails at import with its message.
  gemm_isa();
  m.def("get_isa", &gemm_isa, "The GEMM micro-kernel instruction set in use: 'avx512', 'avx2' or 'generic'.");
  m.def("get_num_threads", &get_num_threads, "Threads used by fastmlp's kernels, the calling thread included.");
  m.def(
      "set_num_threads",
      [](int n) {
        FASTMLP_REQUIRE(n >= 1, "n must be a positive integer, got " + std::to_string(n));
        py::gil_scoped_release release;
        set_num_threads(n);
      },
      py::arg("n"), "Sets the threads used by fastmlp's kernels (the calling thread included).");
  m.def(
      "all_finite",
      [](const py::array_t<float, py::array::c_style>& a) {
        const float* data = a.data();
        const index_t n = a.size();
        py::gil_scoped_release release;
        return all_finite(data, n);
      },
      py::arg("a"), "True when the C-contiguous float32 array holds no NaN or Inf.");
}

}  // namespace fastmlp::bindings
