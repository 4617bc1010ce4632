#pragma once
// What a layer of the network is: its kind and hyperparameters, as the Python layers describe
// themselves (fastmlp._core.LayerSpec). Each field is read only by the kinds named beside it.
// A new kind is added to Kind and to the name table in layer_spec.cpp, then built by Network.
#include <string>

#include "fastmlp/types.hpp"
#include "nn/activations.hpp"
#include "nn/initializers.hpp"

namespace fastmlp {

struct LayerSpec {
  enum class Kind { Dense, Dropout, LayerNorm, BatchNorm, Activation };
  Kind kind = Kind::Dense;
  index_t units = 0;                                  // Dense: output width
  Activation activation = Activation::Identity;       // Dense, Activation
  WeightInit kernel_init = WeightInit::TorchDefault;  // Dense
  BiasInit bias_init = BiasInit::TorchDefault;        // Dense
  float rate = 0.0f;                       // Dropout: probability of zeroing a value
  float l1 = 0.0f, l2 = 0.0f;              // Dense: kernel penalty l1 * sum|W| + l2 * sum W^2
  float eps = 1e-5f;                       // LayerNorm, BatchNorm: added to the variance
  float momentum = 0.1f;                   // BatchNorm: running-statistics update factor
  bool cumulative_average = false;         // BatchNorm: PyTorch's momentum=None, factor 1/num_batches_tracked
  bool affine = true;                      // LayerNorm (elementwise_affine), BatchNorm: gamma and beta
  bool track_running_stats = true;         // BatchNorm: keep running statistics for inference
};

// The kinds by name: "dense", "dropout", "layer_norm", "batch_norm", "activation". parse_layer_kind throws
// std::invalid_argument for any other name.
LayerSpec::Kind parse_layer_kind(const std::string& name);
const char* layer_kind_name(LayerSpec::Kind kind);

}  // namespace fastmlp
