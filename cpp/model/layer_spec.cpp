#include "model/layer_spec.hpp"

#include <iterator>
#include <stdexcept>

namespace fastmlp {
namespace {

struct KindName {
  LayerSpec::Kind kind;
  const char* name;
};

constexpr KindName kKindNames[] = {
    {LayerSpec::Kind::Dense, "dense"},
    {LayerSpec::Kind::Dropout, "dropout"},
    {LayerSpec::Kind::LayerNorm, "layer_norm"},
    {LayerSpec::Kind::BatchNorm, "batch_norm"},
    {LayerSpec::Kind::Activation, "activation"},
};

}  // namespace

LayerSpec::Kind parse_layer_kind(const std::string& name) {
  for (const KindName& k : kKindNames)
    if (name == k.name) return k.kind;
  std::string expected;
  for (const KindName& k : kKindNames) expected += std::string(expected.empty() ? "" : ", ") + k.name;
  throw std::invalid_argument("unknown layer kind '" + name + "'; expected one of: " + expected);
}

const char* layer_kind_name(LayerSpec::Kind kind) {
  for (const KindName& k : kKindNames)
    if (kind == k.kind) return k.name;
  return "?";
}

}  // namespace fastmlp
