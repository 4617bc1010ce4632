// AVX-512 micro-kernel: 12 x 32 tile = 24 zmm accumulators + 2 for B, with A broadcast from
// memory, leaving registers for the compiler among the 32 zmm.
#include "kernels/microkernel_impl.hpp"
#include "kernels/sparse_impl.hpp"

namespace fastmlp {

KernelConfig kernel_config_avx512() {
  using Tile = kernels::TileKernel<12, 2, 16>;
  // kc * nr * 4 B = 32 KiB of B per micro-panel: it is reread for every mr-row sliver of A and
  // must stay in L1d beside the streamed A sliver (12 KiB) and the C tile, so it needs an L1d of
  // 48 KiB or more (a 32 KiB L1d would want kc = 128). mc * kc * 4 B = 240 KiB of packed A, reread
  // for every nr-wide sliver of B: it must stay in L2 (a quarter of a 1 MiB L2, leaving room for B).
  // The sizes follow from those capacities; check them with bench/gemm.py on the target CPU.
  KernelConfig config{"avx512",
          12,
          Tile::NR,
          /*kc=*/256,
          /*mc=*/240,
          /*nc=*/3072,
          &Tile::run,
          &Tile::run_in_place,
          {{4, &kernels::TileKernel<4, 2, 16>::run_in_place}, {8, &kernels::TileKernel<8, 2, 16>::run_in_place}}};
  config.sparse_forward_row = &kernels::SparseKernels<16>::forward_row;
  config.sparse_grad_row = &kernels::SparseKernels<16>::grad_row;
  config.sparse_pack_tile = &kernels::SparseKernels<16>::pack_tile;
  config.sparse_unpack_tile = &kernels::SparseKernels<16>::unpack_tile;
  return config;
}

}  // namespace fastmlp
