#pragma once
// The inner loops of the sparse products (nn/csr.cpp), written once with vector extensions and
// compiled in each instruction set's kernel translation unit with the GEMM micro-kernel's flags,
// so that `sum += x * w` rounds exactly as the micro-kernel's `acc += a * b` does there: one fused
// multiply-add on AVX2 and AVX-512, a rounded product and sum on the generic kernel.
//
// The unit of work is one CSR row against a tile of kSparseUnits output units: the row's
// non-zeros in columns [j0, block_end), read from `p` on, each adding its products to the 16 lanes
// (one lane per unit) in column order. The tile is column-major: tile[(j - j0) * 16 + unit].
#include <cstdint>
#include <cstring>

#include "gemm/microkernel.hpp"

namespace fastmlp::kernels {

template <int VL>
struct SparseKernels {
  static constexpr int NV = kSparseUnits / VL;
  typedef float Vec __attribute__((vector_size(VL * sizeof(float))));
  typedef int IVec __attribute__((vector_size(VL * sizeof(int))));

  static Vec load(const float* p) {
    Vec v;
    std::memcpy(&v, p, sizeof(Vec));
    return v;
  }
  static void store(float* p, Vec v) { std::memcpy(p, &v, sizeof(Vec)); }
  // x in every lane (x - 0 is x exactly, -0 included).
  static Vec splat(float x) { return x - Vec{}; }

  // Forward: total[u] += the row's sum over the columns of the block, slice by slice as the GEMM
  // sums k: each kc-deep slice (kc = 1 << shift) from zero, then added to the total. Returns the
  // position of the first non-zero not consumed (at or past block_end).
  static std::int64_t forward_row(const std::int32_t* indices, const float* values, std::int64_t p,
                                  std::int64_t p_end, index_t j0, index_t block_end, int shift, const float* tile,
                                  float* total) {
    Vec sum[NV], part[NV];
    for (int v = 0; v < NV; ++v) {
      sum[v] = load(total + v * VL);
      part[v] = Vec{};
    }
    // The slice change is folded in without a branch (non-zeros of a TF-IDF row cross a slice
    // every few entries, at random: a branch there was mispredicted about every other time).
    // Where the slice changes, sum takes part + sum and part restarts from zero; elsewhere both
    // keep their values: the same operations as the GEMM's, selected rather than branched to.
    index_t slice = indices[p] >> shift;
    for (; p < p_end; ++p) {
      const index_t j = indices[p];
      if (j >= block_end) break;
      const index_t next = j >> shift;
      const IVec change = IVec{} - static_cast<int>(next != slice);  // all ones where the slice changes
      slice = next;
      const Vec x = splat(values[p]);
      const float* w = tile + (j - j0) * kSparseUnits;
      for (int v = 0; v < NV; ++v) {
        sum[v] = change ? part[v] + sum[v] : sum[v];
        part[v] = change ? Vec{} : part[v];
        part[v] += x * load(w + v * VL);  // one FMA where the micro-kernel fuses
      }
    }
    for (int v = 0; v < NV; ++v) store(total + v * VL, part[v] + sum[v]);
    return p;
  }

  // Weight gradient: tile[(j - j0) * 16 + u] += g[u] * x for the row's non-zeros x in columns
  // [j0, block_end). Returns the position of the first non-zero not consumed.
  static std::int64_t grad_row(const std::int32_t* indices, const float* values, std::int64_t p, std::int64_t p_end,
                               index_t j0, index_t block_end, const float* g, float* tile) {
    Vec gv[NV];
    for (int v = 0; v < NV; ++v) gv[v] = load(g + v * VL);
    for (; p < p_end; ++p) {
      const index_t j = indices[p];
      if (j >= block_end) break;
      const Vec x = splat(values[p]);
      float* t = tile + (j - j0) * kSparseUnits;
      for (int v = 0; v < NV; ++v) {
        Vec acc = load(t + v * VL);
        acc += gv[v] * x;  // one FMA where the micro-kernel fuses
        store(t + v * VL, acc);
      }
    }
    return p;
  }
};

}  // namespace fastmlp::kernels
