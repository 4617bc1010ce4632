// Network's optimizer methods: choosing the rule, the learning rate and momentum schedules
// change, gradient clipping, and the state a checkpoint saves and restores.
#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bindings/common.hpp"
#include "model/network.hpp"

namespace fastmlp::bindings {
namespace {

py::dict optimizer_state(Network& net) {
  Network::UseGuard guard(net);
  py::dict d;
  d["step"] = net.optimizer().steps();
  for (const Optimizer::StateBuffer& b : net.optimizer().state_buffers()) {
    FloatArray copy({b.buffer->size()});
    std::copy(b.buffer->data(), b.buffer->data() + b.buffer->size(), copy.mutable_data());
    d[b.name] = copy;
  }
  return d;
}

// The dict optimizer_state() returned, as arrays: Optimizer::set_state checks and copies them.
void set_optimizer_state(Network& net, const py::dict& state) {
  std::optional<std::int64_t> step;
  std::vector<FloatArray> arrays;  // keeps converted values alive during the call
  std::vector<Optimizer::SavedBuffer> buffers;
  for (const auto& item : state) {
    const std::string name = py::str(item.first);
    if (name == "step" && py::isinstance<py::str>(item.first)) {
      step = item.second.cast<std::int64_t>();
      continue;
    }
    FloatArray a = FloatArray::ensure(item.second);
    const bool vector = a && a.ndim() == 1;
    buffers.push_back({name, vector ? a.data() : nullptr, vector ? a.shape(0) : -1});
    arrays.push_back(std::move(a));
  }
  py::gil_scoped_release release;
  Network::UseGuard guard(net);
  net.optimizer().set_state(step, buffers);
}

}  // namespace

void bind_optimizer(py::module_& m) {
  auto network = py::reinterpret_borrow<py::class_<Network>>(m.attr("Network"));
  network
      .def("set_sgd",
           [](Network& net, float lr, float momentum, float dampening, float weight_decay, bool nesterov) {
             net.set_optimizer(Optimizer::make_sgd({lr, momentum, dampening, weight_decay, nesterov}));
           },
           py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"),
           py::call_guard<py::gil_scoped_release>())
      .def("set_adam",
           [](Network& net, float lr, float beta1, float beta2, float eps, float weight_decay, bool amsgrad,
              bool decoupled_weight_decay) {
             net.set_optimizer(
                 Optimizer::make_adam({lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay}));
           },
           py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
           py::arg("amsgrad") = false, py::arg("decoupled_weight_decay") = false,
           py::call_guard<py::gil_scoped_release>(), "Adam, or AdamW with decoupled_weight_decay=True.")
      .def("set_rmsprop",
           [](Network& net, float lr, float alpha, float eps, float weight_decay, float momentum, bool centered) {
             net.set_optimizer(Optimizer::make_rmsprop({lr, alpha, eps, weight_decay, momentum, centered}));
           },
           py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
           py::arg("centered"), py::call_guard<py::gil_scoped_release>())
      .def("set_adagrad",
           [](Network& net, float lr, float lr_decay, float weight_decay, float initial_accumulator_value, float eps) {
             net.set_optimizer(Optimizer::make_adagrad({lr, lr_decay, weight_decay, initial_accumulator_value, eps}));
           },
           py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"), py::arg("initial_accumulator_value"),
           py::arg("eps"), py::call_guard<py::gil_scoped_release>())
      .def_property_readonly("learning_rate", [](Network& net) { return net.optimizer().learning_rate(); })
      .def("set_learning_rate",
           [](Network& net, float lr) {
             Network::UseGuard guard(net);
             net.optimizer().set_learning_rate(lr);
           },
           py::arg("lr"), "Changes the optimizer's learning rate; its state is kept.")
      .def_property_readonly("has_momentum", [](Network& net) { return net.optimizer().has_momentum(); })
      .def("set_momentum",
           [](Network& net, float momentum) {
             Network::UseGuard guard(net);
             net.optimizer().set_momentum(momentum);
           },
           py::arg("momentum"), "SGD/RMSprop momentum or Adam's beta1; state kept.")
      .def("set_gradient_clipping", &Network::set_gradient_clipping, py::arg("clip_norm"), py::arg("clip_value"),
           "0 turns a clipping off.")
      .def("optimizer_state", &optimizer_state,
           "{'step': int, <torch state name>: float32 (num_params,) copy, ...}")
      .def("set_optimizer_state", &set_optimizer_state, py::arg("state"),
           "Restores what optimizer_state() returned (same optimizer kind and configuration).");
}

}  // namespace fastmlp::bindings
