// fastmlp._core.LayerSpec and Network's construction, parameter / gradient / buffer views and
// generator state. The optimizer and training methods are bound by bind_optimizer.cpp and
// bind_training.cpp.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/common.hpp"
#include "model/network.hpp"

namespace fastmlp::bindings {
namespace {

// _core.LayerSpec(kind, *, units=..., activation=..., ...): the names are parsed here, so an
// unknown one is a ValueError when the spec is made.
LayerSpec make_layer_spec(const std::string& kind, index_t units, const std::string& activation,
                          const std::map<std::string, double>& activation_params, const std::string& kernel_init,
                          const std::string& bias_init, float rate, float l1, float l2, float eps,
                          std::optional<float> momentum, bool affine, bool track_running_stats) {
  LayerSpec spec;
  spec.kind = parse_layer_kind(kind);
  spec.units = units;
  spec.activation = parse_activation(activation, activation_params);
  spec.kernel_init = parse_weight_init(kernel_init);
  spec.bias_init = parse_bias_init(bias_init);
  spec.rate = rate;
  spec.l1 = l1;
  spec.l2 = l2;
  spec.eps = eps;
  // None: PyTorch's cumulative moving average (factor 1/num_batches_tracked).
  spec.cumulative_average = !momentum.has_value();
  if (momentum) spec.momentum = *momentum;
  spec.affine = affine;
  spec.track_running_stats = track_running_stats;
  return spec;
}

enum class View { Params, Grads, Buffers };

// Zero-copy NumPy views of the network's tensors, each keeping the network alive.
py::list tensor_views(py::object self, View which) {
  Network& net = self.cast<Network&>();
  float* base = which == View::Grads ? net.grads() : which == View::Params ? net.params() : net.buffers();
  py::list out;
  for (const ParamTensor& t : which == View::Buffers ? net.buffer_tensors() : net.param_tensors()) {
    float* data = base + t.offset;
    if (t.ndim == 0)  // a BatchNorm's num_batches_tracked: 0-d int64, as PyTorch's buffer
      out.append(py::array_t<std::int64_t>(std::vector<py::ssize_t>{}, std::vector<py::ssize_t>{},
                                           net.counters() + t.offset, self));
    else if (t.ndim == 1)
      out.append(py::array_t<float>({t.rows}, {static_cast<py::ssize_t>(sizeof(float))}, data, self));
    else
      out.append(py::array_t<float>({t.rows, t.cols},
                                    {static_cast<py::ssize_t>(sizeof(float) * t.cols),
                                     static_cast<py::ssize_t>(sizeof(float))},
                                    data, self));
  }
  return out;
}

}  // namespace

void bind_network(py::module_& m) {
  const LayerSpec defaults;
  py::class_<LayerSpec>(m, "LayerSpec")
      .def(py::init(&make_layer_spec), py::arg("kind"), py::kw_only(), py::arg("units") = defaults.units,
           py::arg("activation") = "identity", py::arg("activation_params") = std::map<std::string, double>{},
           py::arg("kernel_init") = "default", py::arg("bias_init") = "default", py::arg("rate") = defaults.rate,
           py::arg("l1") = defaults.l1, py::arg("l2") = defaults.l2, py::arg("eps") = defaults.eps,
           py::arg("momentum") = std::optional<float>(defaults.momentum), py::arg("affine") = defaults.affine,
           py::arg("track_running_stats") = defaults.track_running_stats,
           "One layer of a Network. kind: 'dense' (units, activation with activation_params, kernel_init,\n"
           "bias_init, l1, l2), 'dropout' (rate), 'layer_norm' (eps, affine), 'batch_norm' (momentum: None for\n"
           "PyTorch's cumulative average, eps, affine, track_running_stats) or 'activation' (activation with activation_params); other fields are ignored. ValueError for an unknown name.")
      .def_property_readonly("kind", [](const LayerSpec& s) { return layer_kind_name(s.kind); })
      .def_readonly("units", &LayerSpec::units)
      .def_readonly("rate", &LayerSpec::rate)
      .def_readonly("l1", &LayerSpec::l1)
      .def_readonly("l2", &LayerSpec::l2)
      .def_readonly("eps", &LayerSpec::eps)
      .def_property_readonly("momentum",
                             [](const LayerSpec& s) {
                               return s.cumulative_average ? std::optional<float>() : std::optional<float>(s.momentum);
                             })
      .def_readonly("affine", &LayerSpec::affine)
      .def_readonly("track_running_stats", &LayerSpec::track_running_stats);

  py::class_<Network>(m, "Network")
      .def(py::init<index_t, const std::vector<LayerSpec>&, std::uint64_t>(), py::arg("input_dim"), py::arg("specs"),
           py::arg("seed"), py::call_guard<py::gil_scoped_release>(),
           "A network of the given layers, its weights drawn from seed.")
      .def_property_readonly("input_dim", &Network::input_dim)
      .def_property_readonly("output_dim", &Network::output_dim)
      .def_property_readonly("num_params", &Network::num_params)
      .def("parameters", [](py::object self) { return tensor_views(self, View::Params); },
           "Writable views of the parameters: [W0 (out, in), b0 (out,), W1, b1, ...].")
      .def("gradients", [](py::object self) { return tensor_views(self, View::Grads); },
           "Writable views of the last step's gradients, in the layout of parameters().")
      .def("buffers", [](py::object self) { return tensor_views(self, View::Buffers); },
           "Writable views of the non-trainable state: per BatchNorm layer running_mean, running_var (width,)\n"
           "float32, then for momentum=None its num_batches_tracked, a 0-d int64.")
      .def("rng_state",
           [](const Network& net) {
             py::list words;
             for (std::uint64_t w : net.rng_state()) words.append(w);
             return words;
           },
           "The shuffling and dropout generator states: a list of 8 uint64 words.")
      .def("set_rng_state",
           [](Network& net, const py::sequence& words) {
             std::vector<std::uint64_t> state;
             for (const py::handle& w : words) state.push_back(w.cast<std::uint64_t>());
             net.set_rng_state(state);
           },
           py::arg("state"), "Restores what rng_state() returned.");
}

}  // namespace fastmlp::bindings
