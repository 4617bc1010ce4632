#pragma once
// The dense (fully connected) layer: Y = act(X W^T + b), W stored (out, in) as in PyTorch.
#include "fastmlp/types.hpp"
#include "nn/activations.hpp"
#include "nn/csr.hpp"

namespace fastmlp {

struct DenseShape {
  index_t batch;
  index_t in;
  index_t out;
};

// x: (batch, in), w: (out, in), b: (out,)  ->  y: (batch, out), post-activation.
// z: (batch, out) receives the pre-activation X W^T + b when not null (needed by the backward pass
// of the activations for which activation_needs_input() holds); when null it is not kept.
void dense_forward(const DenseShape& s, const Activation& act, const float* x, const float* w, const float* b,
                   float* y, float* z = nullptr);

// Backward (the parameter gradients are overwritten, so no zero-grad pass is needed):
//   dy: (batch, out)  gradient w.r.t. y; overwritten in place with dz = dy * act'(z)
//   y:  (batch, out)  the forward output
//   dw: (out, in)  = dz^T x
//   db: (out,)     = sum over the batch of dz
//   dx: (batch, in) = dz w, skipped when dx is null (the first layer needs no input gradient)
//   z:  (batch, out) the forward's pre-activation; read only when activation_needs_input(act)
void dense_backward(const DenseShape& s, const Activation& act, const float* x, const float* w, const float* y,
                    float* dy, float* dw, float* db, float* dx, const float* z = nullptr);

// The same layer on sparse input rows (the first layer of a network fed CSR data): x holds
// `batch` rows with `in` columns. Bit for bit what the dense versions compute for x densified,
// without densifying; no input gradient (there is no layer below to take it).
void dense_forward(const DenseShape& s, const Activation& act, const CsrRows& x, const float* w, const float* b,
                   float* y, float* z = nullptr);
void dense_backward(const DenseShape& s, const Activation& act, const CsrRows& x, const float* y, float* dy,
                    float* dw, float* db, const float* z = nullptr);

}  // namespace fastmlp
