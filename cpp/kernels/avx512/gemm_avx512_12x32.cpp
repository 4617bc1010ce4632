// AVX-512 micro-kernel: 12 x 32 tile = 24 zmm accumulators + 2 for B, with A broadcast from
// memory, leaving registers for the compiler among the 32 zmm.
#include "kernels/microkernel_impl.hpp"

namespace fastmlp {

KernelConfig kernel_config_avx512() {
  using Tile = kernels::TileKernel<12, 2, 16>;
  // kc * nr * 4 B = 32 KiB of B per micro-panel (two thirds of Zen 5's 48 KiB L1d);
  // mc * kc * 4 B = 240 KiB of packed A, a quarter of the 1 MiB L2.
  return {"avx512",
          12,
          Tile::NR,
          /*kc=*/256,
          /*mc=*/240,
          /*nc=*/3072,
          &Tile::run,
          &Tile::run_in_place,
          {{4, &kernels::TileKernel<4, 2, 16>::run_in_place}, {8, &kernels::TileKernel<8, 2, 16>::run_in_place}}};
}

}  // namespace fastmlp
