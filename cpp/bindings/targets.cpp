#include "bindings/targets.hpp"

#include <string>

namespace fastmlp::bindings {

TargetArrays check_targets(Loss loss, const py::array& y, index_t rows, index_t cols, const py::object& sample_weight,
                           const py::object& class_weight, const char* y_name) {
  TargetArrays h;
  const std::string name = y_name;
  if (loss == Loss::CrossEntropy && y.ndim() != 2) {
    h.labels = LabelArray::ensure(y);
    FASTMLP_REQUIRE(h.labels && h.labels.ndim() == 1 && h.labels.shape(0) == rows,
                    name + " must be integer class labels of shape (" + std::to_string(rows) + ",)");
    const std::int64_t* lab = h.labels.data();
    for (index_t i = 0; i < rows; ++i)
      FASTMLP_REQUIRE(lab[i] >= 0 && lab[i] < cols, name + " labels must be in [0, " + std::to_string(cols) + ")");
    h.targets.labels = lab;
  } else {
    h.values = FloatArray::ensure(y);
    FASTMLP_REQUIRE(h.values && h.values.ndim() == 2 && h.values.shape(0) == rows && h.values.shape(1) == cols,
                    name + " must be float targets of shape (" + std::to_string(rows) + ", " + std::to_string(cols) +
                        ")");
    h.targets.values = h.values.data();
  }
  if (!sample_weight.is_none()) {
    h.sample_weights = FloatArray::ensure(sample_weight);
    FASTMLP_REQUIRE(h.sample_weights && h.sample_weights.ndim() == 1 && h.sample_weights.shape(0) == rows,
                    "sample_weight must have shape (" + std::to_string(rows) + ",)");
    h.targets.sample_weights = h.sample_weights.data();
  }
  if (!class_weight.is_none()) {
    FASTMLP_REQUIRE(h.targets.labels || loss == Loss::BinaryCrossEntropy,
                    "class_weight needs cross_entropy with integer labels or binary_cross_entropy");
    const index_t size = loss == Loss::BinaryCrossEntropy ? 2 : cols;
    h.class_weights = FloatArray::ensure(class_weight);
    FASTMLP_REQUIRE(h.class_weights && h.class_weights.ndim() == 1 && h.class_weights.shape(0) == size,
                    "class_weight must have shape (" + std::to_string(size) + ",)");
    h.targets.class_weights = h.class_weights.data();
  }
  return h;
}

}  // namespace fastmlp::bindings
