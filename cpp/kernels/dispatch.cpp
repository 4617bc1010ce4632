// Picks the GEMM micro-kernel once, from cpuid, unless FASTMLP_ISA forces one.
#include <cstdlib>
#include <stdexcept>
#include <string>

#include "gemm/microkernel.hpp"
#include "runtime/cpu_features.hpp"

namespace fastmlp {
namespace {

KernelConfig choose_kernel() {
  const CpuFeatures cpu = detect_cpu_features();
  const char* forced = std::getenv("FASTMLP_ISA");
  const std::string want = forced ? forced : "";
#ifdef FASTMLP_HAVE_X86_KERNELS
  if (want.empty() || want == "auto") {
    if (cpu.avx512) return kernel_config_avx512();
    if (cpu.avx2_fma) return kernel_config_avx2();
    return kernel_config_generic();
  }
  if (want == "avx512") {
    if (!cpu.avx512) throw std::runtime_error("FASTMLP_ISA=avx512, but this CPU or OS does not support AVX-512");
    return kernel_config_avx512();
  }
  if (want == "avx2") {
    if (!cpu.avx2_fma) throw std::runtime_error("FASTMLP_ISA=avx2, but this CPU or OS does not support AVX2+FMA");
    return kernel_config_avx2();
  }
#else
  (void)cpu;
  if (want.empty() || want == "auto") return kernel_config_generic();
#endif
  if (want == "generic") return kernel_config_generic();
  throw std::runtime_error("FASTMLP_ISA='" + want + "' is not one of: auto, avx512, avx2, generic");
}

}  // namespace

const KernelConfig& active_kernel() {
  // The dispatch table: chosen once (thread-safe static initialisation), read-only afterwards.
  static const KernelConfig config = choose_kernel();
  return config;
}

}  // namespace fastmlp
