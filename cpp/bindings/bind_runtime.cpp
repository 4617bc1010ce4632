#include "bindings/common.hpp"
#include "fastmlp/gemm.hpp"
#include "runtime/finite.hpp"
#include "runtime/thread_pool.hpp"

#include <algorithm>

// A C interface to the pool for threadpoolctl (python/fastmlp/_threads.py): its controller finds
// this extension among the process's shared libraries by these exported symbols and calls them
// through ctypes, which releases the GIL around the call. Never throws.
#if defined(_WIN32)
#define FASTMLP_EXPORT __declspec(dllexport)
#else
#define FASTMLP_EXPORT __attribute__((visibility("default")))
#endif

extern "C" {

// Threads in fastmlp's pool, the calling thread included.
FASTMLP_EXPORT int fastmlp_get_num_threads(void) noexcept {
  try {
    return fastmlp::get_num_threads();
  } catch (...) {
    return 1;
  }
}

// Resizes the pool to n threads, clamped to [1, 1024]; returns the threads now in use (the previous
// count when the system refuses new threads).
FASTMLP_EXPORT int fastmlp_set_num_threads(int n) noexcept {
  try {
    fastmlp::set_num_threads(std::clamp(n, 1, fastmlp::kMaxThreads));
  } catch (...) {
  }
  return fastmlp_get_num_threads();
}

}  // extern "C"

namespace fastmlp::bindings {

void bind_runtime(py::module_& m) {
  // Resolve the kernel now, so that a bad FASTMLP_ISA fails at import with its message.
  gemm_isa();
  // Check FASTMLP_NUM_THREADS / OMP_NUM_THREADS now: a bad FASTMLP_NUM_THREADS fails the import, an
  // OMP_NUM_THREADS fastmlp cannot use warns. The pool itself starts at first use (sized by the same
  // rule), so that importing fastmlp starts no thread (a process that forks after the import stays
  // single-threaded).
  const ThreadCountChoice threads = initial_thread_count();
  FASTMLP_REQUIRE(threads.error.empty(), threads.error);
  if (!threads.warning.empty() && PyErr_WarnEx(PyExc_RuntimeWarning, threads.warning.c_str(), 1) != 0) {
    throw py::error_already_set();  // warnings turned into errors (python -W error)
  }
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
