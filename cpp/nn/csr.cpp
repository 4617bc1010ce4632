#include "nn/csr.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "gemm/microkernel.hpp"
#include "runtime/aligned_buffer.hpp"
#include "runtime/thread_pool.hpp"

namespace fastmlp {
namespace {

// How the products are organised (the arithmetic of one CSR row against 16 units is in
// kernels/sparse_impl.hpp, compiled per ISA with the GEMM micro-kernel's flags):
// - Output units go 16 at a time (kSparseUnits), one vector lane each. Each lane adds its products
//   in the GEMM's k order, so vectorising across units keeps the bits; within one unit the sum is a
//   chain that cannot be split.
// - Columns go in blocks of kSlicesPerBlock kc-deep slices. For each block of units and columns the
//   weights are first copied into a column-major tile (tile[j][unit], 128 KiB, in L2): a non-zero in
//   column j then needs one contiguous load of its 16 weights instead of 16 loads from weight rows
//   that lie `in` floats apart (one cache miss each at 20k features).
constexpr index_t kUnits = kSparseUnits;
constexpr index_t kSlicesPerBlock = 8;

// At least this many multiply-adds per thread (the GEMM's kMinWorkPerThread, 64^3).
constexpr std::int64_t kMinWorkPerThread = 64 * 64 * 64;

index_t batch_nonzeros(const CsrRows& x, index_t rows) {
  index_t nnz = 0;
  for (index_t r = 0; r < rows; ++r) {
    const index_t src = x.row(r);
    nnz += x.matrix->indptr[src + 1] - x.matrix->indptr[src];
  }
  return nnz;
}

// Per-thread buffers, grown once: each row's position in its non-zeros, and a tile of kUnits
// columns (weights, or a slice's partial weight gradients).
std::int64_t* row_cursors(index_t rows) {
  thread_local AlignedBuffer<std::int64_t> cursors;
  cursors.ensure(rows);
  return cursors.data();
}

float* unit_tile(index_t columns) {
  thread_local AlignedBuffer<float> tile;
  tile.ensure(columns * kUnits);
  return tile.data();
}

// log2(kc): the row kernels find a column's slice with a shift, not a division per non-zero.
int slice_shift(index_t kc) {
  if (kc <= 0 || (kc & (kc - 1)) != 0) throw std::logic_error("the GEMM's kc must be a power of two");
  int shift = 0;
  while ((index_t{1} << shift) < kc) ++shift;
  return shift;
}

// Runs fn(o_begin, o_end) over [0, out) in ranges of whole kUnits blocks, on as many threads as
// the work (`work_per_unit` multiply-adds per output unit) repays. Every element of the result is
// computed by one thread with the same operations, so the split does not change the bits.
template <class Fn>
void split_units(index_t out, index_t work_per_unit, const Fn& fn) {
  const std::int64_t min_units =
      std::max<std::int64_t>(kUnits, kMinWorkPerThread / std::max<index_t>(1, work_per_unit));
  parallel_ranges(out, min_units, kUnits, [&](std::int64_t begin, std::int64_t end) { fn(begin, end); });
}

// y[:, o0 .. o0 + nb) = X W^T + b in GEMM order: per element, each kc-deep slice of the columns
// summed from zero and added to the running total (kept per row between column blocks), then the
// bias. Lanes nb..15 compute on zero weights and are not stored.
void forward_units(const KernelConfig& cfg, int shift, const CsrRows& x, index_t rows, index_t in, index_t out,
                   index_t o0, index_t nb, const float* w, const float* b, float* y) {
  const CsrMatrix& m = *x.matrix;
  const index_t block = kSlicesPerBlock * cfg.kc;
  std::int64_t* cursor = row_cursors(rows);
  float* tile = unit_tile(block);
  for (index_t r = 0; r < rows; ++r) cursor[r] = m.indptr[x.row(r)];
  alignas(64) float sums[kUnits];  // one row's running totals, lanes nb..15 unused
  for (index_t r = 0; r < rows; ++r)
    for (index_t t = 0; t < nb; ++t) y[r * out + o0 + t] = 0.0f;
  if (nb < kUnits) std::memset(tile, 0, sizeof(float) * static_cast<std::size_t>(block * kUnits));
  for (index_t j0 = 0; j0 < in; j0 += block) {
    const index_t width = std::min(block, in - j0);
    const index_t block_end = j0 + width;
    cfg.sparse_pack_tile(w + o0 * in + j0, in, nb, width, tile);
    for (index_t r = 0; r < rows; ++r) {
      const std::int64_t p = cursor[r];
      const std::int64_t p_end = m.indptr[x.row(r) + 1];
      if (p == p_end || m.indices[p] >= block_end) continue;
      float* yr = y + r * out + o0;
      for (index_t t = 0; t < kUnits; ++t) sums[t] = t < nb ? yr[t] : 0.0f;
      cursor[r] = cfg.sparse_forward_row(m.indices, m.values, p, p_end, j0, block_end, shift, tile, sums);
      for (index_t t = 0; t < nb; ++t) yr[t] = sums[t];
    }
  }
  for (index_t r = 0; r < rows; ++r)
    for (index_t t = 0; t < nb; ++t) y[r * out + o0 + t] = y[r * out + o0 + t] + b[o0 + t];
}

// dw[o0 .. o0 + nb, :] = dZ^T X in GEMM order: per element, the batch rows (k) in kc-row slices,
// each slice summed from zero in a column-major tile, then written to dw (the first slice) or
// added to it.
void weight_grad_units(const KernelConfig& cfg, const float* dz, const CsrRows& x, index_t rows, index_t in,
                       index_t out, index_t o0, index_t nb, float* dw) {
  const CsrMatrix& m = *x.matrix;
  const index_t kc = cfg.kc;
  const index_t block = kSlicesPerBlock * kc;
  std::int64_t* cursor = row_cursors(rows);
  float* tile = unit_tile(block);
  for (index_t r = 0; r < rows; ++r) cursor[r] = m.indptr[x.row(r)];
  alignas(64) float g[kUnits] = {};
  for (index_t j0 = 0; j0 < in; j0 += block) {
    const index_t width = std::min(block, in - j0);
    const index_t block_end = j0 + width;
    std::memset(tile, 0, sizeof(float) * static_cast<std::size_t>(width * kUnits));
    for (index_t r0 = 0; r0 < rows; r0 += kc) {
      for (index_t r = r0; r < std::min(rows, r0 + kc); ++r) {
        const std::int64_t p = cursor[r];
        const std::int64_t p_end = m.indptr[x.row(r) + 1];
        if (p == p_end || m.indices[p] >= block_end) continue;
        for (index_t t = 0; t < nb; ++t) g[t] = dz[r * out + o0 + t];
        cursor[r] = cfg.sparse_grad_row(m.indices, m.values, p, p_end, j0, block_end, g, tile);
      }
      cfg.sparse_unpack_tile(tile, nb, width, dw + o0 * in + j0, in, /*add=*/r0 > 0);  // and zeroes the tile
    }
  }
}

// out == 1: gemv's order (gemm/gemv.cpp, gemv_rows): columns below the last multiple of 16 go to
// 16 partial sums by column mod 16, added up in lane order; the rest then added one by one.
// gemv does not fuse (element-wise code is compiled without contraction): neither does this.
void forward_gemv_order(const CsrRows& x, index_t rows, index_t in, const float* w, const float* b, float* y) {
  constexpr index_t kLanes = 16;
  const index_t lane_end = in - in % kLanes;
  const CsrMatrix& m = *x.matrix;
  parallel_ranges(rows, std::max<std::int64_t>(1, kMinWorkPerThread / std::max<index_t>(1, in)), 1,
                  [&](std::int64_t begin, std::int64_t end) {
                    for (index_t r = begin; r < end; ++r) {
                      const index_t src = x.row(r);
                      float lanes[kLanes] = {};
                      std::int64_t p = m.indptr[src];
                      const std::int64_t p_end = m.indptr[src + 1];
                      for (; p < p_end && m.indices[p] < lane_end; ++p) {
                        const index_t j = m.indices[p];
                        lanes[j % kLanes] = lanes[j % kLanes] + m.values[p] * w[j];
                      }
                      float sum = 0.0f;
                      for (index_t l = 0; l < kLanes; ++l) sum += lanes[l];
                      for (; p < p_end; ++p) sum = sum + m.values[p] * w[m.indices[p]];
                      y[r] = sum + b[0];
                    }
                  });
}

// out == 1: gemv's order for a transposed X (gemv_columns): dw[j] summed over the rows in order,
// unfused, from zero.
void weight_grad_gemv_order(const float* dz, const CsrRows& x, index_t rows, index_t in, float* dw) {
  const CsrMatrix& m = *x.matrix;
  std::memset(dw, 0, sizeof(float) * static_cast<std::size_t>(in));
  for (index_t r = 0; r < rows; ++r) {
    const index_t src = x.row(r);
    const float g = dz[r];
    for (std::int64_t p = m.indptr[src]; p < m.indptr[src + 1]; ++p) {
      const index_t j = m.indices[p];
      dw[j] = dw[j] + m.values[p] * g;
    }
  }
}

}  // namespace

void csr_times_transposed(const CsrRows& x, index_t rows, index_t in, index_t out, const float* w, const float* b,
                          float* y) {
  if (rows <= 0) return;
  if (out == 1) {
    forward_gemv_order(x, rows, in, w, b, y);
    return;
  }
  const KernelConfig& cfg = active_kernel();
  const int shift = slice_shift(cfg.kc);
  split_units(out, batch_nonzeros(x, rows) + in, [&](index_t begin, index_t end) {
    for (index_t o = begin; o < end; o += kUnits)
      forward_units(cfg, shift, x, rows, in, out, o, std::min(kUnits, end - o), w, b, y);
  });
}

void transposed_times_csr(const float* dz, const CsrRows& x, index_t rows, index_t in, index_t out, float* dw) {
  if (rows <= 0) {
    std::memset(dw, 0, sizeof(float) * static_cast<std::size_t>(out * in));
    return;
  }
  if (out == 1) {
    weight_grad_gemv_order(dz, x, rows, in, dw);
    return;
  }
  const KernelConfig& cfg = active_kernel();
  split_units(out, batch_nonzeros(x, rows) + in, [&](index_t begin, index_t end) {
    for (index_t o = begin; o < end; o += kUnits)
      weight_grad_units(cfg, dz, x, rows, in, out, o, std::min(kUnits, end - o), dw);
  });
}

void csr_rows_to_dense(const CsrRows& x, index_t rows, float* dense) {
  const CsrMatrix& m = *x.matrix;
  std::memset(dense, 0, sizeof(float) * static_cast<std::size_t>(rows * m.cols));
  for (index_t r = 0; r < rows; ++r) {
    const index_t src = x.row(r);
    float* row = dense + r * m.cols;
    for (std::int64_t p = m.indptr[src]; p < m.indptr[src + 1]; ++p) row[m.indices[p]] = m.values[p];
  }
}

}  // namespace fastmlp
