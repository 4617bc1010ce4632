#pragma once
// The register-tile micro-kernel, written once with GCC/Clang vector extensions and compiled in
// one translation unit per instruction set with that set's flags (see CMakeLists.txt), so the same
// source becomes SSE, AVX2+FMA or AVX-512 code. The contract is in gemm/microkernel.hpp.
#include <cstring>

#include "gemm/microkernel.hpp"

namespace fastmlp::kernels {

// MR rows by NV vectors of VL floats: the tile is MR x (NV * VL).
template <int MR, int NV, int VL>
struct TileKernel {
  static constexpr int NR = NV * VL;
  typedef float Vec __attribute__((vector_size(VL * sizeof(float))));

  static Vec load(const float* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(Vec));
    return v;
  }
  static void store(float* p, Vec v) { std::memcpy(p, &v, sizeof(Vec)); }

  static void run(index_t kc, const float* a_panel, const float* b_panel, float* c, index_t rs_c, index_t cs_c,
                  index_t m, index_t n, float alpha, float beta, const float* bias, bool relu) {
    compute(kc, static_cast<const float*>(__builtin_assume_aligned(a_panel, 64)), 1, MR,
            static_cast<const float*>(__builtin_assume_aligned(b_panel, 64)), NR, c, rs_c, cs_c, m, n, alpha, beta,
            bias, relu);
  }

  static void run_in_place(index_t kc, const float* a, index_t rs_a, index_t cs_a, const float* b, index_t rs_b,
                           float* c, index_t rs_c, index_t cs_c, index_t m, index_t n, float alpha, float beta,
                           const float* bias, bool relu) {
    compute(kc, a, rs_a, cs_a, b, rs_b, c, rs_c, cs_c, m, n, alpha, beta, bias, relu);
  }

  // Inlined into both entry points, so the packed one keeps its constant strides.
  __attribute__((always_inline)) static inline void compute(index_t kc, const float* a, index_t rs_a, index_t cs_a,
                                                            const float* b, index_t rs_b, float* c, index_t rs_c,
                                                            index_t cs_c, index_t m, index_t n, float alpha,
                                                            float beta, const float* bias, bool relu) {

    // Ask for the tile's rows of C now, so that their cache lines arrive during the k loop rather
    // than stall the stores after it (C of a large product is far out of L2). Every line a row
    // spans (one more when it is not 64-byte aligned); only the m rows of the tile, since the
    // rows below may belong to another thread.
    if (cs_c == 1) {
#pragma GCC unroll 32
      for (int i = 0; i < MR; ++i) {
        if (i >= m) break;
        const float* row = c + i * rs_c;
#pragma GCC unroll 8
        for (int j = 0; j < NR; j += 16) __builtin_prefetch(row + j, 1, 3);
        __builtin_prefetch(row + NR - 1, 1, 3);
      }
    }

    // The accumulators: MR * NV vector registers once the loops below are unrolled.
    Vec acc[MR][NV];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) acc[i][v] = Vec{};

    for (index_t p = 0; p < kc; ++p) {
      Vec bv[NV];
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) bv[v] = load(b + v * VL);
#pragma GCC unroll 32
      for (int i = 0; i < MR; ++i) {
        const float ai = a[i * rs_a];
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) acc[i][v] += ai * bv[v];  // one FMA with -ffp-contract=fast
      }
      a += cs_a;
      b += rs_b;
    }

    if (m == MR && n == NR && cs_c == 1) {
      // Full tile with contiguous rows: write straight from the registers.
#pragma GCC unroll 32
      for (int i = 0; i < MR; ++i) {
        float* row = c + i * rs_c;
#pragma GCC unroll 8
        for (int v = 0; v < NV; ++v) {
          Vec r = alpha * acc[i][v];
          if (beta != 0.0f) r = r + beta * load(row + v * VL);
          if (bias != nullptr) r = r + load(bias + v * VL);
          if (relu) r = r > Vec{} ? r : Vec{};
          store(row + v * VL, r);
        }
      }
      return;
    }

    // Edge tile or strided C: go through a small buffer and touch only the m x n corner. (Fully
    // unrolled like the loops above: indexing acc with a loop variable anywhere would make GCC keep
    // the whole accumulator array in memory and spill it after the k loop even for full tiles.)
    alignas(64) float tile[MR][NR];
#pragma GCC unroll 32
    for (int i = 0; i < MR; ++i)
#pragma GCC unroll 8
      for (int v = 0; v < NV; ++v) store(&tile[i][v * VL], acc[i][v]);
    for (index_t i = 0; i < m; ++i) {
      for (index_t j = 0; j < n; ++j) {
        float& out = c[i * rs_c + j * cs_c];
        float r = beta == 0.0f ? alpha * tile[i][j] : alpha * tile[i][j] + beta * out;
        if (bias != nullptr) r = r + bias[j];
        if (relu) r = r > 0.0f ? r : 0.0f;
        out = r;
      }
    }
  }
};

}  // namespace fastmlp::kernels
