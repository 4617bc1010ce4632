#pragma once
// What the CPU and the operating system let us run.

namespace fastmlp {

struct CpuFeatures {
  bool avx2_fma = false;  // AVX2 and FMA3, with the OS saving ymm state
  bool avx512 = false;    // AVX-512 F/VL/BW/DQ, with the OS saving zmm and opmask state
};

CpuFeatures detect_cpu_features();

}  // namespace fastmlp
