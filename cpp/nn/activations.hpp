#pragma once
// Activations on a (rows, cols) block, PyTorch's definitions and defaults. All but softmax act
// element by element; softmax normalises each row.
//
// Backpropagation uses the activation's output y where y determines the derivative (relu,
// leaky_relu with negative_slope >= 0, elu with alpha >= 0, selu, sigmoid, tanh, softplus with
// threshold >= kSoftplusOutputThreshold, identity, softmax), so only outputs need storing. The
// others (gelu, gelu_tanh, silu, and the parameter choices above that make y ambiguous) need the
// pre-activation z as well: activation_needs_input() says which, and the network keeps a z buffer
// only for those layers.
#include <map>
#include <string>

#include "fastmlp/types.hpp"

namespace fastmlp {

struct Activation {
  enum Kind { Identity, ReLU, LeakyReLU, ELU, SELU, GELU, GELUTanh, SiLU, Softplus, Sigmoid, Tanh, Softmax };

  Kind kind = Identity;
  float alpha = 0.0f;       // LeakyReLU: negative_slope; ELU: alpha
  float beta = 1.0f;        // Softplus
  float threshold = 20.0f;  // Softplus: linear where beta * x > threshold

  Activation() = default;
  Activation(Kind k) : kind(k) {}  // NOLINT(google-explicit-constructor): Activation a = Activation::ReLU
};

// Softplus thresholds at or above this can backpropagate from the output: there the two values of
// x that can give the same y (one just below the threshold, one just above) both have a derivative
// that rounds to 1 in float32 (sigmoid(17.33) = 1 - 2^-25).
constexpr float kSoftplusOutputThreshold = 18.0f;

// Parses a name ("identity" | "linear" | "relu" | "leaky_relu" | "elu" | "selu" | "gelu" |
// "gelu_tanh" | "silu" | "softplus" | "sigmoid" | "tanh" | "softmax") with its parameters
// ("negative_slope" for leaky_relu, "alpha" for elu, "beta" and "threshold" for softplus; absent
// ones take PyTorch's defaults). Throws std::invalid_argument for an unknown name, a parameter the
// activation does not take, or an invalid value.
Activation parse_activation(const std::string& name, const std::map<std::string, double>& params = {});

// Whether backpropagation needs the pre-activation z (see the top of this file).
bool activation_needs_input(const Activation& act);

// y = act(z) for a (rows, cols) block; z and y may be the same array.
void activation_forward(const Activation& act, index_t rows, index_t cols, const float* z, float* y);

// dz = dy * act'(z) for a (rows, cols) block (softmax: dz = y * (dy - sum_row(dy * y))).
// z is read only when activation_needs_input(act) and may be null otherwise; dy and dz may be the
// same array. Throws std::invalid_argument when z is needed and null.
void activation_backward(const Activation& act, index_t rows, index_t cols, const float* z, const float* y,
                         const float* dy, float* dz);

}  // namespace fastmlp
