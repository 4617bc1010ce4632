// The GEMM driver: argument handling, the split across threads, and the five BLIS loops.
#include <algorithm>
#include <functional>

#include "fastmlp/gemm.hpp"
#include "gemm/gemv.hpp"
#include "gemm/microkernel.hpp"
#include "gemm/packing.hpp"
#include "runtime/aligned_buffer.hpp"
#include "runtime/fp_mode.hpp"
#include "runtime/thread_pool.hpp"

namespace fastmlp {
namespace {

// Below this many multiply-adds per thread a second thread costs more than it saves: handing it
// work costs the pool's wake-up (microseconds once a worker sleeps; less while it polls, see
// thread_pool.cpp), and each thread packs its own copy of a packed operand. 64^3 multiply-adds
// (0.5 MFLOP) take about 5 us on a core at 100 GFLOP/s, the order of that overhead, so smaller
// products stay on one thread. It depends on the core's speed and the pool's wake-up
// latency: re-tune with bench/gemm.py (square sizes around 64-128, 1 vs 2 threads) and a training
// benchmark on the machine the library is tuned for.
constexpr double kMinWorkPerThread = 64.0 * 64.0 * 64.0;

// Products whose A has at most this many elements take the in-place path (gemm_in_place), which
// rereads A from where it lies for every sliver of B instead of packing it. A of up to 256 x 256
// floats (256 KiB) is small enough to stay in L2 between the slivers, so packing it is an extra
// pass that buys little; beyond, reading A in place costs more than packing it into panels,
// especially for rows at a stride of a multiple of 4 KiB (e.g. 1024 floats), which map to the
// same L1 sets and evict each other. Re-tune with bench/gemm.py when the kernels or caches change.
constexpr index_t kInPlaceMaxElementsOfA = 256 * 256;

index_t round_up(index_t x, index_t to) { return (x + to - 1) / to * to; }

// Per-thread packing buffers: grown on first use, reused by every later call on that thread.
struct PackBuffers {
  AlignedBuffer<float> a;
  AlignedBuffer<float> b;
};
PackBuffers& thread_pack_buffers() {
  thread_local PackBuffers buffers;
  return buffers;
}

// C = beta * C, honouring "beta == 0 overwrites" (k == 0 or alpha == 0).
void scale_c(index_t m, index_t n, float beta, Strided c) {
  for (index_t i = 0; i < m; ++i)
    for (index_t j = 0; j < n; ++j) c(i, j) = beta == 0.0f ? 0.0f : beta * c(i, j);
}

// The five loops of the BLIS algorithm, single-threaded:
//   jc over nc-wide column blocks of C and B      (B block -> L3)
//    pc over kc-deep slices of the k dimension     (pack B: kc x nc)
//     ic over mc-tall row blocks of C and A        (pack A: mc x kc -> L2)
//      jr over nr-wide slivers of the B block      (B sliver -> L1)
//       ir over mr-tall slivers of the A block     (micro-kernel: mr x nr tile of C in registers)
void gemm_serial(const KernelConfig& cfg, index_t m, index_t n, index_t k, float alpha, ConstStrided a,
                 ConstStrided b, float beta, Strided c, const GemmEpilogue& ep) {
  PackBuffers& buf = thread_pack_buffers();
  buf.a.ensure(round_up(std::min<index_t>(cfg.mc, m), cfg.mr) * std::min<index_t>(cfg.kc, k));
  buf.b.ensure(round_up(std::min<index_t>(cfg.nc, n), cfg.nr) * std::min<index_t>(cfg.kc, k));

  for (index_t jc = 0; jc < n; jc += cfg.nc) {
    const index_t nc = std::min<index_t>(cfg.nc, n - jc);
    for (index_t pc = 0; pc < k; pc += cfg.kc) {
      const index_t kc = std::min<index_t>(cfg.kc, k - pc);
      // Only the first slice of k applies the caller's beta; later slices accumulate. Only the
      // last applies the epilogue.
      const float beta_slice = pc == 0 ? beta : 1.0f;
      const bool last_slice = pc + kc == k;
      pack_b(kc, nc, {&b(pc, jc), b.row_stride, b.col_stride}, cfg.nr, buf.b.data());
      for (index_t ic = 0; ic < m; ic += cfg.mc) {
        const index_t mc = std::min<index_t>(cfg.mc, m - ic);
        pack_a(mc, kc, {&a(ic, pc), a.row_stride, a.col_stride}, cfg.mr, buf.a.data());
        for (index_t jr = 0; jr < nc; jr += cfg.nr) {
          const index_t nr = std::min<index_t>(cfg.nr, nc - jr);
          const float* b_sliver = buf.b.data() + jr * kc;
          for (index_t ir = 0; ir < mc; ir += cfg.mr) {
            const index_t mr = std::min<index_t>(cfg.mr, mc - ir);
            cfg.kernel(kc, buf.a.data() + ir * kc, b_sliver, &c(ic + ir, jc + jr), c.row_stride, c.col_stride, mr,
                       nr, alpha, beta_slice, last_slice && ep.bias ? ep.bias + jc + jr : nullptr,
                       last_slice && ep.relu);
          }
        }
      }
    }
  }
}

// The path for small products, where packing would cost as much as the multiply (on 64 x 64 x 64
// it took about a third of the time): A is read in place, never packed, and B too when its rows are
// contiguous. Only edge slivers are packed, since a micro-kernel reads whole tiles: A's last rows
// when no edge tile fits them exactly, and B's last columns when n is not a multiple of NR. B with
// strided rows (X W^T in a forward pass) is packed whole, once per k slice. The loops and the
// arithmetic are those of gemm_serial, so both paths give bitwise the same C.
void gemm_in_place(const KernelConfig& cfg, index_t m, index_t n, index_t k, float alpha, ConstStrided a,
                   ConstStrided b, float beta, Strided c, const GemmEpilogue& ep) {
  const bool b_in_place = b.col_stride == 1;
  PackBuffers& buf = thread_pack_buffers();
  buf.a.ensure(static_cast<index_t>(cfg.mr) * std::min<index_t>(cfg.kc, k));
  buf.b.ensure((b_in_place ? cfg.nr : round_up(n, cfg.nr)) * std::min<index_t>(cfg.kc, k));
  const index_t m_full = m / cfg.mr * cfg.mr;
  const index_t n_full = n / cfg.nr * cfg.nr;
  // The last m - m_full rows: the shortest tile that holds them, read in place when they fill it.
  const index_t m_edge = m - m_full;
  int edge_rows = cfg.mr;
  InPlaceMicroKernel edge_kernel = cfg.kernel_in_place;
  for (const KernelConfig::EdgeKernel& e : cfg.edge) {
    if (e.rows == 0) break;
    if (e.rows >= m_edge && e.rows < edge_rows) {
      edge_rows = e.rows;
      edge_kernel = e.kernel;
    }
  }
  const bool edge_in_place = m_edge == edge_rows;

  for (index_t pc = 0; pc < k; pc += cfg.kc) {
    const index_t kc = std::min<index_t>(cfg.kc, k - pc);
    const float beta_slice = pc == 0 ? beta : 1.0f;
    const bool last_slice = pc + kc == k;
    const bool relu = last_slice && ep.relu;
    if (!b_in_place)
      pack_b(kc, n, {&b(pc, 0), b.row_stride, b.col_stride}, cfg.nr, buf.b.data());
    else if (n_full < n)
      pack_b(kc, n - n_full, {&b(pc, n_full), b.row_stride, b.col_stride}, cfg.nr, buf.b.data());
    if (m_edge > 0 && !edge_in_place)
      pack_a(m_edge, kc, {&a(m_full, pc), a.row_stride, a.col_stride}, edge_rows, buf.a.data());

    for (index_t jr = 0; jr < n; jr += cfg.nr) {
      const index_t nr = std::min<index_t>(cfg.nr, n - jr);
      const float* b_sliver = buf.b.data() + (b_in_place ? 0 : jr * kc);
      index_t rs_b = cfg.nr;
      if (b_in_place && jr < n_full) {
        b_sliver = &b(pc, jr);
        rs_b = b.row_stride;
      }
      const float* bias = last_slice && ep.bias ? ep.bias + jr : nullptr;
      for (index_t ir = 0; ir < m; ir += cfg.mr) {
        float* c_tile = &c(ir, jr);
        if (ir < m_full)
          cfg.kernel_in_place(kc, &a(ir, pc), a.row_stride, a.col_stride, b_sliver, rs_b, c_tile, c.row_stride,
                              c.col_stride, cfg.mr, nr, alpha, beta_slice, bias, relu);
        else if (edge_in_place)
          edge_kernel(kc, &a(ir, pc), a.row_stride, a.col_stride, b_sliver, rs_b, c_tile, c.row_stride,
                      c.col_stride, m_edge, nr, alpha, beta_slice, bias, relu);
        else
          edge_kernel(kc, buf.a.data(), 1, edge_rows, b_sliver, rs_b, c_tile, c.row_stride, c.col_stride, m_edge,
                      nr, alpha, beta_slice, bias, relu);
      }
    }
  }
}

void gemm_one_thread(const KernelConfig& cfg, index_t m, index_t n, index_t k, float alpha, ConstStrided a,
                     ConstStrided b, float beta, Strided c, const GemmEpilogue& ep) {
  // n <= nc: the in-place path packs a strided B whole.
  if (m * k <= kInPlaceMaxElementsOfA && n <= cfg.nc)
    gemm_in_place(cfg, m, n, k, alpha, a, b, beta, c, ep);
  else
    gemm_serial(cfg, m, n, k, alpha, a, b, beta, c, ep);
}

// The epilogue as separate passes over C, for the paths that do not run the micro-kernel. The same
// operations as the kernel's, so the same bits.
void apply_epilogue(index_t m, index_t n, Strided c, const GemmEpilogue& ep) {
  if (ep.bias == nullptr && !ep.relu) return;
  for (index_t i = 0; i < m; ++i) {
    for (index_t j = 0; j < n; ++j) {
      float r = c(i, j);
      if (ep.bias != nullptr) r = r + ep.bias[j];
      if (ep.relu) r = r > 0.0f ? r : 0.0f;
      c(i, j) = r;
    }
  }
}

// may_transpose: whether this call may solve the transposed problem instead (false inside it).
void gemm_with_epilogue(index_t m, index_t n, index_t k, float alpha, ConstStrided a, ConstStrided b, float beta,
                        Strided c, const GemmEpilogue& ep, bool may_transpose = true) {
  if (m <= 0 || n <= 0) return;
  FlushDenormalsGuard flush_denormals;  // for the epilogue passes below as for the kernels
  if (k <= 0 || alpha == 0.0f) {
    scale_c(m, n, beta, c);
    apply_epilogue(m, n, c, ep);
    return;
  }
  const KernelConfig& cfg = active_kernel();
  // Solve C^T = B^T A^T instead (the bias then runs along C^T's rows: applied afterwards) when
  // - C is column-major: the micro-kernel writes rows of C fastest, and C^T has contiguous rows;
  // - C is narrow (an output layer of a few classes): its n columns would fill a few of each
  //   tile's nr, while as C^T's rows they fill most of an mr-row tile (10 classes: 12 rows of work
  //   per 10 instead of 32 columns), which repays writing C^T through the strided-C store.
  // Each element of C is computed with the same operations either way.
  const bool column_major = c.col_stride != 1 && c.row_stride == 1;
  const bool narrow = n > 1 && 2 * n <= cfg.nr && m >= 2 * cfg.nr;
  if (may_transpose && (column_major || narrow)) {
    gemm_with_epilogue(n, m, k, alpha, b.transposed(), a.transposed(), beta, {c.data, c.col_stride, c.row_stride},
                       GemmEpilogue{}, /*may_transpose=*/false);
    apply_epilogue(m, n, c, ep);
    return;
  }

  // One column of C would fill one column of a register tile and leave the rest padding: 1/32 of
  // the AVX-512 kernel's work useful. A matrix-vector loop does it without packing. (Not for
  // m == 1: a row's result would then depend on how many rows came with it, and predict would
  // differ between a single sample and a batch.)
  if (n == 1) {
    gemv(m, k, alpha, a, b, beta, c);
    apply_epilogue(m, n, c, ep);
    return;
  }
  const double work = static_cast<double>(m) * static_cast<double>(n) * static_cast<double>(k);
  ThreadPool& pool = ThreadPool::global();
  int threads = std::min<int>(pool.num_threads(), static_cast<int>(std::max(1.0, work / kMinWorkPerThread)));
  // Split the larger of m and n into contiguous, tile-aligned chunks, one per thread. Each element
  // of C is still computed by one micro-kernel call sequence, so results do not depend on threads.
  const bool split_m = m >= n;
  const index_t extent = split_m ? m : n;
  const index_t tile = split_m ? cfg.mr : cfg.nr;
  const index_t tiles = (extent + tile - 1) / tile;
  threads = static_cast<int>(std::min<index_t>(threads, tiles));
  if (threads <= 1) {
    gemm_one_thread(cfg, m, n, k, alpha, a, b, beta, c, ep);
    return;
  }
  const index_t tiles_per_thread = (tiles + threads - 1) / threads;
  pool.run(threads, [&](int t) {
    const index_t begin = std::min(extent, t * tiles_per_thread * tile);
    const index_t end = std::min(extent, (t + 1) * tiles_per_thread * tile);
    if (begin >= end) return;
    if (split_m)
      gemm_one_thread(cfg, end - begin, n, k, alpha, {&a(begin, 0), a.row_stride, a.col_stride}, b, beta,
                      {&c(begin, 0), c.row_stride, c.col_stride}, ep);
    else
      gemm_one_thread(cfg, m, end - begin, k, alpha, a, {&b(0, begin), b.row_stride, b.col_stride}, beta,
                      {&c(0, begin), c.row_stride, c.col_stride},
                      {ep.bias != nullptr ? ep.bias + begin : nullptr, ep.relu});
  });
}

}  // namespace

void gemm(index_t m, index_t n, index_t k, float alpha, ConstStrided a, ConstStrided b, float beta, Strided c) {
  gemm_with_epilogue(m, n, k, alpha, a, b, beta, c, GemmEpilogue{});
}

void gemm_fused(index_t m, index_t n, index_t k, ConstStrided a, ConstStrided b, Strided c,
                const GemmEpilogue& epilogue) {
  gemm_with_epilogue(m, n, k, 1.0f, a, b, 0.0f, c, epilogue);
}

const char* gemm_isa() { return active_kernel().isa; }

}  // namespace fastmlp
