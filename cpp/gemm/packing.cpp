#include "gemm/packing.hpp"

#include <algorithm>
#include <cstring>

#if defined(__SSE__)
#include <xmmintrin.h>
#define FASTMLP_HAVE_SSE 1
#endif

namespace fastmlp {
namespace {

#ifdef FASTMLP_HAVE_SSE
// dst[p * ld_dst + i] = src[i * ld_src + p] for 4 rows i and p in [0, depth).
void transpose_rows4(const float* src, index_t ld_src, index_t depth, float* dst, index_t ld_dst) {
  index_t p = 0;
  for (; p + 4 <= depth; p += 4) {
    __m128 r0 = _mm_loadu_ps(src + p);
    __m128 r1 = _mm_loadu_ps(src + ld_src + p);
    __m128 r2 = _mm_loadu_ps(src + 2 * ld_src + p);
    __m128 r3 = _mm_loadu_ps(src + 3 * ld_src + p);
    _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
    _mm_storeu_ps(dst + p * ld_dst, r0);
    _mm_storeu_ps(dst + (p + 1) * ld_dst, r1);
    _mm_storeu_ps(dst + (p + 2) * ld_dst, r2);
    _mm_storeu_ps(dst + (p + 3) * ld_dst, r3);
  }
  for (; p < depth; ++p)
    for (index_t i = 0; i < 4; ++i) dst[p * ld_dst + i] = src[i * ld_src + p];
}
#endif

// dst[p * width + r] = src[p * cs + r] for r < width: a sliver whose values for one p are contiguous.
// The width is a template argument for the tile widths in use so that each row is a few inline vector
// moves; a memcpy call per p (12 or 32 floats) cost more than the copy itself on small products.
template <int Width>
void copy_contiguous_sliver(index_t depth, const float* src, index_t cs, float* dst) {
  for (index_t p = 0; p < depth; ++p) std::memcpy(dst + p * Width, src + p * cs, sizeof(float) * Width);
}

void copy_contiguous_sliver(int width, index_t depth, const float* src, index_t cs, float* dst) {
  switch (width) {
    case 4: return copy_contiguous_sliver<4>(depth, src, cs, dst);
    case 6: return copy_contiguous_sliver<6>(depth, src, cs, dst);
    case 8: return copy_contiguous_sliver<8>(depth, src, cs, dst);
    case 12: return copy_contiguous_sliver<12>(depth, src, cs, dst);
    case 16: return copy_contiguous_sliver<16>(depth, src, cs, dst);
    case 32: return copy_contiguous_sliver<32>(depth, src, cs, dst);
    default:
      for (index_t p = 0; p < depth; ++p) std::memcpy(dst + p * width, src + p * cs, sizeof(float) * width);
  }
}

// Copies a (rows, depth) strided block into `width`-wide slivers: sliver s holds, for each p,
// the `width` values src(s * width + 0 .. width-1, p). Used for A as is and for B transposed.
void pack_slivers(index_t rows, index_t depth, const float* src, index_t rs, index_t cs, int width, float* dst) {
  for (index_t r0 = 0; r0 < rows; r0 += width) {
    const index_t w = std::min<index_t>(width, rows - r0);
    const float* s = src + r0 * rs;
    if (rs == 1 && w == width) {
      copy_contiguous_sliver(width, depth, s, cs, dst);
    } else if (cs == 1) {
      // Each source row is contiguous along the depth: this is a transpose into the sliver.
      index_t r = 0;
#ifdef FASTMLP_HAVE_SSE
      // 4 x 4 register transposes: 4 loads and 4 stores per 16 values instead of 16 of each.
      for (; r + 4 <= w; r += 4) transpose_rows4(s + r * rs, rs, depth, dst + r, width);
#endif
      for (; r < w; ++r) {
        const float* row = s + r * rs;
        for (index_t p = 0; p < depth; ++p) dst[p * width + r] = row[p];
      }
      for (r = w; r < width; ++r)
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
