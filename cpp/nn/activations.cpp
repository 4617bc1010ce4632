#include "nn/activations.hpp"

#include "fastmlp/simd_clones.hpp"

#include <cmath>
#include <cstring>
#include <stdexcept>

namespace fastmlp {

Activation parse_activation(const std::string& name) {
  if (name == "identity" || name == "linear") return Activation::Identity;
  if (name == "relu") return Activation::ReLU;
  if (name == "sigmoid") return Activation::Sigmoid;
  if (name == "tanh") return Activation::Tanh;
  throw std::invalid_argument("unknown activation '" + name + "'; expected one of: identity, relu, sigmoid, tanh");
}

namespace {

// exp() of a non-positive argument only, so neither branch can overflow.
inline float stable_sigmoid(float x) {
  if (x >= 0.0f) return 1.0f / (1.0f + std::exp(-x));
  const float e = std::exp(x);
  return e / (1.0f + e);
}

}  // namespace

FASTMLP_VECTOR_CLONES
void activation_forward(Activation act, index_t n, const float* x, float* y) {
  switch (act) {
    case Activation::Identity:
      if (x != y) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(n));
      return;
    case Activation::ReLU:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case Activation::Sigmoid:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = stable_sigmoid(x[i]);
      return;
    case Activation::Tanh:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      return;
  }
}

FASTMLP_VECTOR_CLONES
void activation_backward(Activation act, index_t n, const float* y, const float* dy, float* dx) {
  switch (act) {
    case Activation::Identity:
      if (dy != dx) std::memcpy(dx, dy, sizeof(float) * static_cast<std::size_t>(n));
      return;
    case Activation::ReLU:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::Sigmoid:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
      return;
    case Activation::Tanh:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
  }
}

}  // namespace fastmlp
