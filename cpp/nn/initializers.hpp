#pragma once
// Weight initialisers for dense layers, drawn from the model's seeded generator.
#include <string>

#include "fastmlp/types.hpp"
#include "runtime/rng.hpp"

namespace fastmlp {

enum class WeightInit {
  TorchDefault,  // torch.nn.Linear: uniform in +-1/sqrt(fan_in)
  GlorotUniform,
  GlorotNormal,
  HeUniform,
  HeNormal,
  LecunNormal,
  Orthogonal,  // filled with standard normals here; orthonormalised by the Python layer (LAPACK QR)
  Zeros,
};

enum class BiasInit { TorchDefault, Zeros };

// Canonical names as written by the Python layer: "default", "glorot_uniform", "glorot_normal",
// "he_uniform", "he_normal", "lecun_normal", "orthogonal", "zeros". Throws std::invalid_argument.
WeightInit parse_weight_init(const std::string& name);
BiasInit parse_bias_init(const std::string& name);  // "default" | "zeros"

// w: (out, in) row-major. Draws from `rng` in row-major order.
void init_dense_weight(WeightInit init, index_t out, index_t in, float* w, Rng& rng);
// b: (out,); fan_in = in.
void init_dense_bias(BiasInit init, index_t out, index_t in, float* b, Rng& rng);

}  // namespace fastmlp
