#pragma once
// Packing copies a block of a strided operand into the panel layout the micro-kernel streams
// (see microkernel.hpp). Transposes cost nothing extra: they are only other strides here.
#include "fastmlp/types.hpp"

namespace fastmlp {

// Packs the (mc, kc) block of A starting at a into ceil(mc / mr) slivers of kc * mr floats,
// zero-padding the rows of the last sliver.
void pack_a(index_t mc, index_t kc, ConstStrided a, int mr, float* packed);

// Packs the (kc, nc) block of B starting at b into ceil(nc / nr) slivers of kc * nr floats,
// zero-padding the columns of the last sliver.
void pack_b(index_t kc, index_t nc, ConstStrided b, int nr, float* packed);

}  // namespace fastmlp
