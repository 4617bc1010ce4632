#pragma once
// Element-wise activations. The derivative is written in terms of the activation's output y,
// so backpropagation needs only the stored outputs, never the pre-activations.
#include <string>

#include "fastmlp/types.hpp"

namespace fastmlp {

enum class Activation { Identity, ReLU, Sigmoid, Tanh };

// Parses "identity" | "linear" | "relu" | "sigmoid" | "tanh"; throws std::invalid_argument otherwise.
Activation parse_activation(const std::string& name);

// y[i] = act(x[i]) for n values; x and y may be the same array.
void activation_forward(Activation act, index_t n, const float* x, float* y);

// dx[i] = dy[i] * act'(.) expressed through y[i]; dy and dx may be the same array.
void activation_backward(Activation act, index_t n, const float* y, const float* dy, float* dx);

}  // namespace fastmlp
