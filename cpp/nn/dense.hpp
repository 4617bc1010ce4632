#pragma once
// The dense (fully connected) layer: Y = act(X W^T + b), W stored (out, in) as in PyTorch.
#include "fastmlp/types.hpp"
#include "nn/activations.hpp"

namespace fastmlp {

struct DenseShape {
  index_t batch;
  index_t in;
  index_t out;
};

// x: (batch, in), w: (out, in), b: (out,)  ->  y: (batch, out), post-activation.
void dense_forward(const DenseShape& s, Activation act, const float* x, const float* w, const float* b, float* y);

// Backward (the parameter gradients are overwritten, so no zero-grad pass is needed):
//   dy: (batch, out)  gradient w.r.t. y; overwritten in place with dz = dy * act'(z)
//   y:  (batch, out)  the forward output
//   dw: (out, in)  = dz^T x
//   db: (out,)     = sum over the batch of dz
//   dx: (batch, in) = dz w, skipped when dx is null (the first layer needs no input gradient)
void dense_backward(const DenseShape& s, Activation act, const float* x, const float* w, const float* y, float* dy,
                    float* dw, float* db, float* dx);

}  // namespace fastmlp
