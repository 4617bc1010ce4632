#include "nn/activations.hpp"

#include "fastmlp/simd_clones.hpp"

#include <cmath>
#include <cstring>
#include <limits>
#include <stdexcept>

namespace fastmlp {
namespace {

// SELU's constants, as in PyTorch (Klambauer et al. 2017).
constexpr float kSeluScale = 1.0507009873554804934193349852946f;
constexpr float kSeluAlpha = 1.6732632423543772848170429916717f;
constexpr float kSeluScaleAlpha = kSeluScale * kSeluAlpha;
constexpr float kSqrtHalf = 0.70710678118654752440f;     // 1/sqrt(2)
constexpr float kInvSqrt2Pi = 0.39894228040143267794f;   // 1/sqrt(2 pi)
constexpr float kSqrt2OverPi = 0.79788456080286535588f;  // sqrt(2/pi), gelu_tanh
constexpr float kGeluCubic = 0.044715f;                  // gelu_tanh

const char* const kNames =
    "identity, relu, leaky_relu, elu, selu, gelu, gelu_tanh, silu, softplus, sigmoid, tanh, softmax";

// sigmoid(x) and 1 - sigmoid(x) = sigmoid(-x), each to full relative precision: exp() only ever
// sees -|x| <= 0, so it cannot overflow, and neither value is formed as a difference from 1.
inline void sigmoid_pair(float x, float& s, float& s_neg) {
  const float e = std::exp(-std::fabs(x));
  const float big = 1.0f / (1.0f + e);  // sigmoid(|x|)
  const float small = e * big;          // sigmoid(-|x|)
  s = x >= 0.0f ? big : small;
  s_neg = x >= 0.0f ? small : big;
}

inline float stable_sigmoid(float x) {
  float s, s_neg;
  sigmoid_pair(x, s, s_neg);
  return s;
}

// log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): no overflow for any finite x.
inline float log1p_exp(float x) { return std::fmax(x, 0.0f) + std::log1p(std::exp(-std::fabs(x))); }

float finite_param(const std::string& act, const std::string& key, double value) {
  if (!(std::fabs(value) <= static_cast<double>(std::numeric_limits<float>::max())))
    throw std::invalid_argument(act + " " + key + " must be a finite number, got " + std::to_string(value));
  return static_cast<float>(value);
}

void softmax_rows(index_t rows, index_t cols, const float* z, float* y) {
  for (index_t r = 0; r < rows; ++r) {
    const float* zr = z + r * cols;
    float* yr = y + r * cols;
    // Shifted by the row maximum, so exp() never overflows and the largest term is exactly 1.
    float zmax = zr[0];
    for (index_t j = 1; j < cols; ++j) zmax = std::fmax(zmax, zr[j]);
    double sum = 0.0;
    for (index_t j = 0; j < cols; ++j) {
      yr[j] = std::exp(zr[j] - zmax);
      sum += yr[j];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (index_t j = 0; j < cols; ++j) yr[j] *= inv;
  }
}

void softmax_backward_rows(index_t rows, index_t cols, const float* y, const float* dy, float* dz) {
  // Jacobian-vector product of softmax: dz = y * (dy - <dy, y>), row by row.
  for (index_t r = 0; r < rows; ++r) {
    const float* yr = y + r * cols;
    const float* gr = dy + r * cols;
    float* out = dz + r * cols;
    double dot = 0.0;
    for (index_t j = 0; j < cols; ++j) dot += static_cast<double>(gr[j]) * yr[j];
    const float d = static_cast<float>(dot);
    for (index_t j = 0; j < cols; ++j) out[j] = yr[j] * (gr[j] - d);
  }
}

}  // namespace

Activation parse_activation(const std::string& name, const std::map<std::string, double>& params) {
  Activation act;
  const char* allowed[2] = {nullptr, nullptr};
  if (name == "identity" || name == "linear") {
    act.kind = Activation::Identity;
  } else if (name == "relu") {
    act.kind = Activation::ReLU;
  } else if (name == "leaky_relu") {
    act.kind = Activation::LeakyReLU;
    act.alpha = 0.01f;
    allowed[0] = "negative_slope";
  } else if (name == "elu") {
    act.kind = Activation::ELU;
    act.alpha = 1.0f;
    allowed[0] = "alpha";
  } else if (name == "selu") {
    act.kind = Activation::SELU;
  } else if (name == "gelu") {
    act.kind = Activation::GELU;
  } else if (name == "gelu_tanh") {
    act.kind = Activation::GELUTanh;
  } else if (name == "silu") {
    act.kind = Activation::SiLU;
  } else if (name == "softplus") {
    act.kind = Activation::Softplus;
    allowed[0] = "beta";
    allowed[1] = "threshold";
  } else if (name == "sigmoid") {
    act.kind = Activation::Sigmoid;
  } else if (name == "tanh") {
    act.kind = Activation::Tanh;
  } else if (name == "softmax") {
    act.kind = Activation::Softmax;
  } else {
    throw std::invalid_argument("unknown activation '" + name + "'; expected one of: " + kNames);
  }
  for (const auto& [key, value] : params) {
    if ((allowed[0] == nullptr || key != allowed[0]) && (allowed[1] == nullptr || key != allowed[1]))
      throw std::invalid_argument("activation " + name + " takes no parameter '" + key + "'");
    const float v = finite_param(name, key, value);
    if (key == "negative_slope" || key == "alpha") {
      act.alpha = v;
    } else if (key == "beta") {
      if (!(v > 0.0f)) throw std::invalid_argument("softplus beta must be > 0, got " + std::to_string(value));
      act.beta = v;
    } else {
      act.threshold = v;
    }
  }
  return act;
}

bool activation_needs_input(const Activation& act) {
  switch (act.kind) {
    case Activation::GELU:
    case Activation::GELUTanh:
    case Activation::SiLU:
      return true;
    case Activation::LeakyReLU:
    case Activation::ELU:
      return act.alpha < 0.0f;  // a negative slope maps negative inputs to positive outputs
    case Activation::Softplus:
      return act.threshold < kSoftplusOutputThreshold;
    default:
      return false;
  }
}

FASTMLP_VECTOR_CLONES
void activation_forward(const Activation& act, index_t rows, index_t cols, const float* x, float* y) {
  const index_t n = rows * cols;
  switch (act.kind) {
    case Activation::Identity:
      if (x != y) std::memcpy(y, x, sizeof(float) * static_cast<std::size_t>(n));
      return;
    case Activation::ReLU:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
      return;
    case Activation::LeakyReLU: {
      const float slope = act.alpha;
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : x[i] * slope;
      return;
    }
    case Activation::ELU: {
      const float alpha = act.alpha;
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? x[i] : alpha * std::expm1(x[i]);
      return;
    }
    case Activation::SELU:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = x[i] > 0.0f ? kSeluScale * x[i] : kSeluScaleAlpha * std::expm1(x[i]);
      return;
    case Activation::GELU:
      // x * Phi(x) with Phi(x) = erfc(-x / sqrt(2)) / 2: erfc keeps full relative precision in the
      // far left tail, where 1 + erf(x / sqrt(2)) would cancel to 0 long before Phi underflows.
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = x[i] * (0.5f * std::erfc(-x[i] * kSqrtHalf));
      return;
    case Activation::GELUTanh:
      // x * (1 + tanh(u)) / 2 = x * sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): the sigmoid form
      // does not cancel for negative x (1 + tanh(u) would), and an overflowing x^3 gives sigmoid(+-inf).
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) {
        const float u = kSqrt2OverPi * (x[i] + kGeluCubic * x[i] * x[i] * x[i]);
        y[i] = x[i] * stable_sigmoid(2.0f * u);
      }
      return;
    case Activation::SiLU:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = x[i] * stable_sigmoid(x[i]);
      return;
    case Activation::Softplus: {
      // PyTorch's definition: x where beta * x > threshold, else log(1 + exp(beta x)) / beta.
      const float beta = act.beta, threshold = act.threshold;
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) {
        const float bx = beta * x[i];
        y[i] = bx > threshold ? x[i] : log1p_exp(bx) / beta;
      }
      return;
    }
    case Activation::Sigmoid:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = stable_sigmoid(x[i]);
      return;
    case Activation::Tanh:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
      return;
    case Activation::Softmax:
      softmax_rows(rows, cols, x, y);
      return;
  }
}

FASTMLP_VECTOR_CLONES
void activation_backward(const Activation& act, index_t rows, index_t cols, const float* x, const float* y,
                         const float* dy, float* dx) {
  const index_t n = rows * cols;
  if (x == nullptr && activation_needs_input(act))
    throw std::invalid_argument("activation_backward: this activation needs its input (pre-activation)");
  switch (act.kind) {
    case Activation::Identity:
      if (dy != dx) std::memcpy(dx, dy, sizeof(float) * static_cast<std::size_t>(n));
      return;
    case Activation::ReLU:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : 0.0f;
      return;
    case Activation::LeakyReLU: {
      // With slope >= 0, y > 0 exactly where x > 0 (PyTorch: slope at x == 0).
      const float slope = act.alpha;
      const float* s = activation_needs_input(act) ? x : y;
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = s[i] > 0.0f ? dy[i] : dy[i] * slope;
      return;
    }
    case Activation::ELU: {
      // d/dx alpha (exp(x) - 1) = alpha exp(x) = y + alpha, and y > 0 exactly where x > 0 for alpha >= 0.
      const float alpha = act.alpha;
      if (activation_needs_input(act)) {
        FASTMLP_IVDEP
        for (index_t i = 0; i < n; ++i) dx[i] = x[i] > 0.0f ? dy[i] : dy[i] * (alpha * std::exp(x[i]));
      } else {
        FASTMLP_IVDEP
        for (index_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] : dy[i] * (y[i] + alpha);
      }
      return;
    }
    case Activation::SELU:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = y[i] > 0.0f ? dy[i] * kSeluScale : dy[i] * (y[i] + kSeluScaleAlpha);
      return;
    case Activation::GELU:
      // Phi(x) + x phi(x); for huge |x|, x * x -> inf gives exp(-inf) = 0, so x phi(x) = 0.
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) {
        const float cdf = 0.5f * std::erfc(-x[i] * kSqrtHalf);
        const float pdf = kInvSqrt2Pi * std::exp(-0.5f * x[i] * x[i]);
        dx[i] = dy[i] * (cdf + x[i] * pdf);
      }
      return;
    case Activation::GELUTanh:
      // d/dx x s(2u) = s + 2 x s (1 - s) u', u' = sqrt(2/pi) (1 + 3 * 0.044715 x^2). The second term is
      // taken as 0 where s (1 - s) is 0, so a huge x (x^2 -> inf) cannot form 0 * inf.
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) {
        const float x2 = x[i] * x[i];
        const float u = kSqrt2OverPi * (x[i] + kGeluCubic * x2 * x[i]);
        float s, s_neg;
        sigmoid_pair(2.0f * u, s, s_neg);
        const float ss = s * s_neg;
        const float du = kSqrt2OverPi * (1.0f + 3.0f * kGeluCubic * x2);
        dx[i] = dy[i] * (ss > 0.0f ? s + 2.0f * x[i] * ss * du : s);
      }
      return;
    case Activation::SiLU:
      // d/dx x s(x) = s (1 + x (1 - s)), with 1 - s = s(-x) computed without cancellation.
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) {
        float s, s_neg;
        sigmoid_pair(x[i], s, s_neg);
        dx[i] = dy[i] * (s * (1.0f + x[i] * s_neg));
      }
      return;
    case Activation::Softplus: {
      const float beta = act.beta, threshold = act.threshold;
      if (activation_needs_input(act)) {
        FASTMLP_IVDEP
        for (index_t i = 0; i < n; ++i) {
          const float bx = beta * x[i];
          dx[i] = bx > threshold ? dy[i] : dy[i] * stable_sigmoid(bx);
        }
      } else {
        // Below the threshold beta y = log(1 + exp(beta x)), so sigmoid(beta x) = 1 - exp(-beta y)
        // = -expm1(-beta y) (exact for tiny y too). Above it y = x and -expm1(-beta y) rounds to 1,
        // the linear part's derivative, since beta y > threshold >= kSoftplusOutputThreshold.
        FASTMLP_IVDEP
        for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * -std::expm1(-beta * y[i]);
      }
      return;
    }
    case Activation::Sigmoid:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * (y[i] * (1.0f - y[i]));
      return;
    case Activation::Tanh:
      FASTMLP_IVDEP
      for (index_t i = 0; i < n; ++i) dx[i] = dy[i] * (1.0f - y[i] * y[i]);
      return;
    case Activation::Softmax:
      softmax_backward_rows(rows, cols, y, dy, dx);
      return;
  }
}

}  // namespace fastmlp
