// AVX2 + FMA micro-kernel: 6 x 16 tile = 12 ymm accumulators + 2 for B + 1 broadcast of A,
// the classic Haswell-family shape that fills 15 of the 16 ymm registers.
#include "kernels/microkernel_impl.hpp"
#include "kernels/sparse_impl.hpp"

namespace fastmlp {

KernelConfig kernel_config_avx2() {
  using Tile = kernels::TileKernel<6, 2, 8>;
  // kc * nr * 4 B = 16 KiB of B per micro-panel (a third of a 48 KiB L1d);
  // mc * kc * 4 B = 144 KiB of packed A in L2.
  KernelConfig config{"avx2",
          6,
          Tile::NR,
          /*kc=*/256,
          /*mc=*/144,
          /*nc=*/3072,
          &Tile::run,
          &Tile::run_in_place,
          {{2, &kernels::TileKernel<2, 2, 8>::run_in_place}, {4, &kernels::TileKernel<4, 2, 8>::run_in_place}}};
  config.sparse_forward_row = &kernels::SparseKernels<8>::forward_row;
  config.sparse_grad_row = &kernels::SparseKernels<8>::grad_row;
  config.sparse_pack_tile = &kernels::SparseKernels<8>::pack_tile;
  config.sparse_unpack_tile = &kernels::SparseKernels<8>::unpack_tile;
  return config;
}

}  // namespace fastmlp
