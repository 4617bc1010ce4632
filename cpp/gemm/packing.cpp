#include "gemm/packing.hpp"

#include <algorithm>
#include <cstring>

namespace fastmlp {
namespace {

// Copies a (rows, depth) strided block into `width`-wide slivers: sliver s holds, for each p,
// the `width` values src(s * width + 0 .. width-1, p). Used for A as is and for B transposed.
void pack_slivers(index_t rows, index_t depth, const float* src, index_t rs, index_t cs, int width, float* dst) {
  for (index_t r0 = 0; r0 < rows; r0 += width) {
    const index_t w = std::min<index_t>(width, rows - r0);
    const float* s = src + r0 * rs;
    if (rs == 1 && w == width) {
      // The sliver's values for one p are contiguous in memory.
      for (index_t p = 0; p < depth; ++p) std::memcpy(dst + p * width, s + p * cs, sizeof(float) * width);
    } else if (cs == 1) {
      // Each source row is contiguous along the depth: read rows sequentially and scatter them
      // into the sliver (strided reads across rows would touch a new cache line per value).
      for (index_t r = 0; r < w; ++r) {
        const float* row = s + r * rs;
        for (index_t p = 0; p < depth; ++p) dst[p * width + r] = row[p];
      }
      for (index_t r = w; r < width; ++r)
        for (index_t p = 0; p < depth; ++p) dst[p * width + r] = 0.0f;
    } else {
      for (index_t p = 0; p < depth; ++p) {
        float* d = dst + p * width;
        for (index_t r = 0; r < w; ++r) d[r] = s[r * rs + p * cs];
        for (index_t r = w; r < width; ++r) d[r] = 0.0f;
      }
    }
    dst += depth * width;
  }
}

}  // namespace

void pack_a(index_t mc, index_t kc, ConstStrided a, int mr, float* packed) {
  pack_slivers(mc, kc, a.data, a.row_stride, a.col_stride, mr, packed);
}

void pack_b(index_t kc, index_t nc, ConstStrided b, int nr, float* packed) {
  // A sliver of B is nr columns wide: pack B's transpose as if it were A.
  pack_slivers(nc, kc, b.data, b.col_stride, b.row_stride, nr, packed);
}

}  // namespace fastmlp
