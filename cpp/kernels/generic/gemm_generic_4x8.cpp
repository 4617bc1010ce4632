// Portable micro-kernel: 4 x 8 tile of 128-bit vectors (SSE2 on baseline x86-64, NEON on Arm),
// which fits the 16 vector registers of those targets without spilling.
#include "kernels/microkernel_impl.hpp"
#include "kernels/sparse_impl.hpp"

namespace fastmlp {

KernelConfig kernel_config_generic() {
  using Tile = kernels::TileKernel<4, 2, 4>;
  KernelConfig config{"generic", 4, Tile::NR, /*kc=*/256, /*mc=*/128, /*nc=*/2048, &Tile::run, &Tile::run_in_place, {}};
  config.sparse_forward_row = &kernels::SparseKernels<4>::forward_row;
  config.sparse_grad_row = &kernels::SparseKernels<4>::grad_row;
  config.sparse_pack_tile = &kernels::SparseKernels<4>::pack_tile;
  config.sparse_unpack_tile = &kernels::SparseKernels<4>::unpack_tile;
  return config;
}

}  // namespace fastmlp
