#pragma once
// Flush-to-zero / denormals-are-zero while fastmlp computes.
//
// Why: optimizer state of parameters whose gradient is zero (dead ReLU units) decays
// geometrically (Adam's first moment by 0.9 per step) and reaches the subnormal range after a few
// hundred steps; arithmetic on subnormals is up to 100x slower and halved training speed in the
// digits demo. Treating them as zero changes values below 1.2e-38 only.
// MXCSR is per thread: the guard restores the caller's mode (Python's code keeps IEEE behaviour);
// pool workers, which only ever run fastmlp code, set it once for good.
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#define FASTMLP_HAVE_MXCSR 1
#endif

namespace fastmlp {

class FlushDenormalsGuard {
 public:
#ifdef FASTMLP_HAVE_MXCSR
  // Bits 15 (flush to zero) and 6 (denormals are zero).
  static constexpr unsigned kFtzDaz = 0x8040;
  FlushDenormalsGuard() : saved_(_mm_getcsr()) { _mm_setcsr(saved_ | kFtzDaz); }
  ~FlushDenormalsGuard() { _mm_setcsr(saved_); }

 private:
  unsigned saved_;
#else
  FlushDenormalsGuard() = default;
#endif
 public:
  FlushDenormalsGuard(const FlushDenormalsGuard&) = delete;
  FlushDenormalsGuard& operator=(const FlushDenormalsGuard&) = delete;
};

// For threads that run only fastmlp code.
inline void flush_denormals_forever() {
#ifdef FASTMLP_HAVE_MXCSR
  _mm_setcsr(_mm_getcsr() | FlushDenormalsGuard::kFtzDaz);
#endif
}

}  // namespace fastmlp
