#pragma once
#include "fastmlp/types.hpp"

namespace fastmlp {

// True when none of the n floats is NaN or +-Inf. One vectorised pass, no allocation.
bool all_finite(const float* data, index_t n);

}  // namespace fastmlp
