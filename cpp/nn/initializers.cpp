#include "nn/initializers.hpp"

#include <cmath>
#include <stdexcept>

namespace fastmlp {

WeightInit parse_weight_init(const std::string& name) {
  if (name == "default") return WeightInit::TorchDefault;
  if (name == "glorot_uniform") return WeightInit::GlorotUniform;
  if (name == "glorot_normal") return WeightInit::GlorotNormal;
  if (name == "he_uniform") return WeightInit::HeUniform;
  if (name == "he_normal") return WeightInit::HeNormal;
  if (name == "lecun_normal") return WeightInit::LecunNormal;
  if (name == "orthogonal") return WeightInit::Orthogonal;
  if (name == "zeros") return WeightInit::Zeros;
  throw std::invalid_argument("unknown kernel initialiser '" + name + "'");
}

BiasInit parse_bias_init(const std::string& name) {
  if (name == "default") return BiasInit::TorchDefault;
  if (name == "zeros") return BiasInit::Zeros;
  throw std::invalid_argument("unknown bias initialiser '" + name + "'");
}

namespace {

void fill_uniform(index_t n, float bound, float* w, Rng& rng) {
  for (index_t i = 0; i < n; ++i) w[i] = rng.uniform_symmetric(bound);
}

void fill_normal(index_t n, double stddev, float* w, Rng& rng) {
  for (index_t i = 0; i < n; ++i) w[i] = static_cast<float>(stddev * rng.normal());
}

// Keras's TruncatedNormal: normals beyond two standard deviations are redrawn. The stddev passed
// in is divided by 0.8796..., the standard deviation of a unit normal truncated at +-2, so that
// the drawn values have the requested variance (as tf.keras's VarianceScaling does).
void fill_truncated_normal(index_t n, double stddev, float* w, Rng& rng) {
  constexpr double kTruncatedUnitStddev = 0.87962566103423978;
  const double scale = stddev / kTruncatedUnitStddev;
  for (index_t i = 0; i < n; ++i) {
    double z;
    do {
      z = rng.normal();
    } while (std::fabs(z) > 2.0);
    w[i] = static_cast<float>(scale * z);
  }
}

}  // namespace

void init_dense_weight(WeightInit init, index_t out, index_t in, float* w, Rng& rng) {
  const index_t n = out * in;
  const double fan_in = static_cast<double>(in), fan_out = static_cast<double>(out);
  switch (init) {
    case WeightInit::TorchDefault:
      // kaiming_uniform_(a=sqrt(5)) gives bound = sqrt(6 / ((1 + 5) * fan_in)) = 1 / sqrt(fan_in).
      fill_uniform(n, static_cast<float>(1.0 / std::sqrt(fan_in)), w, rng);
      return;
    case WeightInit::GlorotUniform:
      fill_uniform(n, static_cast<float>(std::sqrt(6.0 / (fan_in + fan_out))), w, rng);
      return;
    case WeightInit::GlorotNormal:
      fill_normal(n, std::sqrt(2.0 / (fan_in + fan_out)), w, rng);
      return;
    case WeightInit::HeUniform:
      fill_uniform(n, static_cast<float>(std::sqrt(6.0 / fan_in)), w, rng);
      return;
    case WeightInit::HeNormal:
      fill_normal(n, std::sqrt(2.0 / fan_in), w, rng);
      return;
    case WeightInit::LecunNormal:
      fill_truncated_normal(n, std::sqrt(1.0 / fan_in), w, rng);
      return;
    case WeightInit::Orthogonal:
      fill_normal(n, 1.0, w, rng);
      return;
    case WeightInit::Zeros:
      for (index_t i = 0; i < n; ++i) w[i] = 0.0f;
      return;
  }
}

void init_dense_bias(BiasInit init, index_t out, index_t in, float* b, Rng& rng) {
  if (init == BiasInit::Zeros) {
    for (index_t i = 0; i < out; ++i) b[i] = 0.0f;
    return;
  }
  // torch.nn.Linear's bias: uniform in +-1/sqrt(fan_in).
  fill_uniform(out, static_cast<float>(1.0 / std::sqrt(static_cast<double>(in))), b, rng);
}

}  // namespace fastmlp
