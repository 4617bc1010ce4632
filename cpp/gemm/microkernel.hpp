#pragma once
// The micro-kernel contract, shared by every instruction set.
//
// A micro-kernel computes one MR x NR tile of C from packed panels:
//
//   C[0:m, 0:n] = alpha * (A_panel * B_panel)[0:m, 0:n] + beta * C[0:m, 0:n]
//
// - a_panel: kc steps of MR floats (column p of the MR-row sliver of A at a_panel[p * MR]),
//   64-byte aligned. Rows past the edge of A are zero-padded by packing.
// - b_panel: kc steps of NR floats (row p of the NR-column sliver of B at b_panel[p * NR]),
//   64-byte aligned. Columns past the edge of B are zero-padded by packing.
// - c: the tile's top-left element, with strides rs_c and cs_c. Only the m x n corner
//   (1 <= m <= MR, 1 <= n <= NR) is read or written: an edge tile never touches memory beyond it.
// - beta == 0 means C is write-only: it is never read, so NaN or Inf already in C vanishes.
// - kc may be 0: then the product is zero and C becomes beta * C (0 when beta == 0).
// - bias, when not null, points at the tile's first column of a bias row: after alpha and beta,
//   C[i, j] += bias[j]; then, when relu, C[i, j] = C[i, j] > 0 ? C[i, j] : 0. The driver passes
//   them with the last k slice only, and only with alpha = 1 (so that the FMA the compiler may form
//   from alpha * acc + bias rounds like the separate add).
// - Each element is accumulated over p = 0 .. kc-1 in order, so results do not depend on where
//   the tile sits in C (this is what makes threaded results bitwise reproducible).
//
// The in-place variant computes the same tile, with the same arithmetic in the same order (so the
// two give bitwise equal C), from operands that need not be packed:
// - a: element (i, p) of the sliver of A at a[i * rs_a + p * cs_a]; all MR rows must be readable
//   (the driver packs an edge sliver of fewer rows instead);
// - b: row p of the sliver of B at b[p * rs_b], NR contiguous floats; all NR must be readable.
// A packed panel is the case rs_a = 1, cs_a = MR, rs_b = NR; no alignment is assumed.
#include <cstdint>

#include "fastmlp/types.hpp"

namespace fastmlp {

using MicroKernel = void (*)(index_t kc, const float* a_panel, const float* b_panel, float* c, index_t rs_c,
                             index_t cs_c, index_t m, index_t n, float alpha, float beta, const float* bias,
                             bool relu);
using InPlaceMicroKernel = void (*)(index_t kc, const float* a, index_t rs_a, index_t cs_a, const float* b,
                                    index_t rs_b, float* c, index_t rs_c, index_t cs_c, index_t m, index_t n,
                                    float alpha, float beta, const float* bias, bool relu);

// Output units the sparse row kernels handle at once: one lane each.
constexpr int kSparseUnits = 16;
// See kernels/sparse_impl.hpp.
using SparseForwardRow = std::int64_t (*)(const std::int32_t* indices, const float* values, std::int64_t p,
                                          std::int64_t p_end, index_t j0, index_t block_end, int shift,
                                          const float* tile, float* total);
using SparseGradRow = std::int64_t (*)(const std::int32_t* indices, const float* values, std::int64_t p,
                                       std::int64_t p_end, index_t j0, index_t block_end, const float* g, float* tile);
using SparsePackTile = void (*)(const float* w, index_t ld, index_t nb, index_t width, float* tile);
using SparseUnpackTile = void (*)(float* tile, index_t nb, index_t width, float* dw, index_t ld, bool add);

// One instruction set's micro-kernel and the block sizes tuned for it (the BLIS cache blocking):
//   mr x nr  register tile of the micro-kernel,
//   kc       depth of a packed panel: a kc x nr sliver of B stays in L1 across the micro-kernel calls,
//   mc       rows of A packed at once: the mc x kc block of A stays in L2,
//   nc       columns of B packed at once: the kc x nc block of B stays in L3 (or L2 when shared).
struct KernelConfig {
  const char* isa;
  int mr;
  int nr;
  int kc;
  int mc;
  int nc;
  MicroKernel kernel;
  InPlaceMicroKernel kernel_in_place;
  // Shorter tiles (fewer rows, same nr) for the last rows of an in-place product, in any order;
  // rows == 0 ends the list. With them 64 rows cost 5 x 12 + 4, not 6 x 12 with 8 rows of padding.
  struct EdgeKernel {
    int rows;
    InPlaceMicroKernel kernel;
  } edge[2];
  // The sparse products' inner loops (kernels/sparse_impl.hpp), compiled with this ISA's flags so
  // that they round as its micro-kernel does (nn/csr.cpp reproduces the GEMM's sums bit for bit).
  SparseForwardRow sparse_forward_row = nullptr;
  SparseGradRow sparse_grad_row = nullptr;
  SparsePackTile sparse_pack_tile = nullptr;
  SparseUnpackTile sparse_unpack_tile = nullptr;
};

KernelConfig kernel_config_generic();
KernelConfig kernel_config_avx2();
KernelConfig kernel_config_avx512();

// The configuration chosen at import (see dispatch.cpp).
const KernelConfig& active_kernel();

}  // namespace fastmlp
