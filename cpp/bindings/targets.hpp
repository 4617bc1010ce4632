#pragma once
// Converts and checks the targets and weights of a loss call (the network's train/evaluate calls
// and the kernel-level fastmlp._core.loss alike).
#include "bindings/common.hpp"
#include "nn/losses.hpp"

namespace fastmlp::bindings {

// Keeps the converted target and weight arrays alive while C++ reads them through `targets`.
struct TargetArrays {
  LabelArray labels;
  FloatArray values;
  FloatArray sample_weights;
  FloatArray class_weights;
  Targets targets;
};

// y: int64 labels (rows,) in [0, cols) for cross-entropy, else (and for cross-entropy's probability
// targets) float32 (rows, cols). sample_weight: None or float32 (rows,); class_weight: None or
// float32 (cols,) for cross-entropy with labels, (2,) for binary cross-entropy. Converts (no copy
// when already of that dtype and C-contiguous) and checks shapes and label range; ValueError
// naming `y_name` otherwise. Weight values are validated by the Python layer.
TargetArrays check_targets(Loss loss, const py::array& y, index_t rows, index_t cols, const py::object& sample_weight,
                           const py::object& class_weight, const char* y_name = "y");

}  // namespace fastmlp::bindings
