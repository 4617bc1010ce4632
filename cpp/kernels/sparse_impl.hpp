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

// The vector types, one specialisation per width (a vector_size attribute that depends on a
// template parameter would leave GCC seeing a plain float where shuffles and lanes are used).
template <int VL>
struct SparseVectors;
template <>
struct SparseVectors<4> {
  typedef float F __attribute__((vector_size(16)));
  typedef int I __attribute__((vector_size(16)));
};
template <>
struct SparseVectors<8> {
  typedef float F __attribute__((vector_size(32)));
  typedef int I __attribute__((vector_size(32)));
};
template <>
struct SparseVectors<16> {
  typedef float F __attribute__((vector_size(64)));
  typedef int I __attribute__((vector_size(64)));
};

template <int VL>
struct SparseKernels {
  static constexpr int NV = kSparseUnits / VL;
  using Vec = typename SparseVectors<VL>::F;
  using IVec = typename SparseVectors<VL>::I;

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

  // dst[i * dst_stride + j] = src[j * src_stride + i] for a 16 x 16 block (plus what dst held, when
  // Add): the tiles' layout change, done in registers (VL x VL blocks transposed by log2(VL)
  // stages of two-vector shuffles) instead of a scalar loop whose loads or stores stride by 64 bytes.
  template <bool Add>
  __attribute__((always_inline)) static inline void transpose16(const float* src, index_t src_stride, float* dst,
                                                                index_t dst_stride) {
    constexpr int kBlocks = kSparseUnits / VL;
#pragma GCC unroll 4
    for (int bi = 0; bi < kBlocks; ++bi)
#pragma GCC unroll 4
      for (int bj = 0; bj < kBlocks; ++bj) {
        Vec r[VL];
#pragma GCC unroll 16
        for (int i = 0; i < VL; ++i) r[i] = load(src + (bi * VL + i) * src_stride + bj * VL);
        if constexpr (VL >= 16) transpose_stage<8>(r);
        if constexpr (VL >= 8) transpose_stage<4>(r);
        transpose_stage<2>(r);
        transpose_stage<1>(r);
#pragma GCC unroll 16
        for (int i = 0; i < VL; ++i) {
          float* d = dst + (bj * VL + i) * dst_stride + bi * VL;
          if constexpr (Add)
            store(d, r[i] + load(d));
          else
            store(d, r[i]);
        }
      }
  }

  // One stage of a VL x VL transpose in r: at distance D the off-diagonal D x D blocks of each
  // 2D x 2D block trade places (stages D = VL/2, ..., 1 make the transpose).
  template <int D>
  __attribute__((always_inline)) static inline void transpose_stage(Vec* r) {
    // lo takes a's lanes j without bit D and b's lanes j - D with it; hi a's lanes j + D and b's j.
    IVec lo, hi;
#pragma GCC unroll 16
    for (int j = 0; j < VL; ++j) {
      lo[j] = (j & D) ? VL + j - D : j;
      hi[j] = (j & D) ? VL + j : j + D;
    }
#pragma GCC unroll 16
    for (int i = 0; i < VL; ++i) {
      if (i & D) continue;
      const Vec a = r[i], b = r[i + D];
      r[i] = __builtin_shuffle(a, b, lo);
      r[i + D] = __builtin_shuffle(a, b, hi);
    }
  }

  // tile[jj * 16 + t] = w[t * ld + jj] for t < nb, jj < width; lanes nb..15 are not written.
  static void pack_tile(const float* w, index_t ld, index_t nb, index_t width, float* tile) {
    index_t jj = 0;
    if (nb == kSparseUnits)
      for (; jj + kSparseUnits <= width; jj += kSparseUnits)
        transpose16<false>(w + jj, ld, tile + jj * kSparseUnits, kSparseUnits);
    for (; jj < width; ++jj)
      for (index_t t = 0; t < nb; ++t) tile[jj * kSparseUnits + t] = w[t * ld + jj];
  }

  // dw[t * ld + jj] = tile[jj * 16 + t] (+ dw[t * ld + jj] when `add`) for t < nb, jj < width; the
  // tile is left zero for the next slice (lanes nb..15 are never written, so stay zero).
  static void unpack_tile(float* tile, index_t nb, index_t width, float* dw, index_t ld, bool add) {
    index_t jj = 0;
    if (nb == kSparseUnits && add)
      for (; jj + kSparseUnits <= width; jj += kSparseUnits)
        transpose16<true>(tile + jj * kSparseUnits, kSparseUnits, dw + jj, ld);
    if (nb == kSparseUnits && !add)
      for (; jj + kSparseUnits <= width; jj += kSparseUnits)
        transpose16<false>(tile + jj * kSparseUnits, kSparseUnits, dw + jj, ld);
    for (; jj < width; ++jj)
      for (index_t t = 0; t < nb; ++t)
        dw[t * ld + jj] = add ? tile[jj * kSparseUnits + t] + dw[t * ld + jj] : tile[jj * kSparseUnits + t];
    std::memset(tile, 0, sizeof(float) * static_cast<std::size_t>(width * kSparseUnits));
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
