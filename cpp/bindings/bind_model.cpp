// fastmlp._core.Network: converts arrays, checks shapes, releases the GIL and calls the C++ model.
#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <pybind11/stl.h>

#include "bindings/common.hpp"
#include "bindings/progress.hpp"
#include "bindings/targets.hpp"
#include "model/network.hpp"
#include "runtime/finite.hpp"

namespace fastmlp::bindings {
namespace {

// _core.LayerSpec(kind, *, units=..., activation=..., ...): the names are parsed here, so an
// unknown one is a ValueError when the spec is made.
LayerSpec make_layer_spec(const std::string& kind, index_t units, const std::string& activation,
                          const std::map<std::string, double>& activation_params, const std::string& kernel_init,
                          const std::string& bias_init, float rate, float l1, float l2, float eps, float momentum,
                          bool affine, bool track_running_stats) {
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
  spec.momentum = momentum;
  spec.affine = affine;
  spec.track_running_stats = track_running_stats;
  return spec;
}

index_t check_x(const Network& net, const FloatArray& x) {
  require_ndim(x, 2, "X");
  FASTMLP_REQUIRE(x.shape(1) == net.input_dim(), "X must have " + std::to_string(net.input_dim()) +
                                             " features (columns), got " + std::to_string(x.shape(1)));
  return x.shape(0);
}

TargetArrays check_targets(const Network& net, const py::array& y, index_t n, const py::object& sample_weight,
                           const py::object& class_weight) {
  return bindings::check_targets(net.loss().kind, y, n, net.output_dim(), sample_weight, class_weight);
}

// The statistics as Python sees them (mean loss, counts and sums for the metrics).
py::dict stats_dict(const LossStats& s) {
  py::dict d;
  d["loss"] = s.mean_loss();
  d["samples"] = s.samples;
  d["predictions"] = s.predictions;
  d["correct"] = s.correct;
  d["abs_error_sum"] = s.abs_error_sum;
  d["sq_error_sum"] = s.sq_error_sum;
  return d;
}

enum class View { Params, Grads, Buffers };

py::list tensor_views(py::object self, View which) {
  Network& net = self.cast<Network&>();
  float* base = which == View::Grads ? net.grads() : which == View::Params ? net.params() : net.buffers();
  py::list out;
  for (const ParamTensor& t : which == View::Buffers ? net.buffer_tensors() : net.param_tensors()) {
    float* data = base + t.offset;
    if (t.is_bias)
      out.append(py::array_t<float>({t.rows}, {static_cast<py::ssize_t>(sizeof(float))}, data, self));
    else
      out.append(py::array_t<float>({t.rows, t.cols},
                                    {static_cast<py::ssize_t>(sizeof(float) * t.cols),
                                     static_cast<py::ssize_t>(sizeof(float))},
                                    data, self));
  }
  return out;
}

// A per-step hyperparameter array for train_epoch: None, or at least one float per batch.
// (A default-constructed array_t is an empty array, not a null handle: test is_none() for "not given".)
FloatArray step_values(const py::object& values, index_t steps, const char* name) {
  if (values.is_none()) return FloatArray(0);
  FloatArray a = FloatArray::ensure(values);
  FASTMLP_REQUIRE(a && a.ndim() == 1 && a.shape(0) >= steps,
                  std::string(name) + " must be a 1-D float array with at least " + std::to_string(steps) +
                      " values (one per batch of the epoch)");
  return a;
}

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
  Network::UseGuard guard(net);
  net.optimizer().set_state(step, buffers);
}

}  // namespace

void bind_model(py::module_& m) {
  const LayerSpec defaults;
  py::class_<LayerSpec>(m, "LayerSpec")
      .def(py::init(&make_layer_spec), py::arg("kind"), py::kw_only(), py::arg("units") = defaults.units,
           py::arg("activation") = "identity", py::arg("activation_params") = std::map<std::string, double>{},
           py::arg("kernel_init") = "default", py::arg("bias_init") = "default", py::arg("rate") = defaults.rate,
           py::arg("l1") = defaults.l1, py::arg("l2") = defaults.l2, py::arg("eps") = defaults.eps,
           py::arg("momentum") = defaults.momentum, py::arg("affine") = defaults.affine,
           py::arg("track_running_stats") = defaults.track_running_stats,
           "One layer of a Network. kind: 'dense' (units, activation with activation_params, kernel_init,\n"
           "bias_init, l1, l2), 'dropout' (rate), 'layer_norm' (eps, affine) or 'batch_norm' (momentum, eps,\n"
           "affine, track_running_stats); other fields are ignored. ValueError for an unknown name.")
      .def_property_readonly("kind", [](const LayerSpec& s) { return layer_kind_name(s.kind); })
      .def_readonly("units", &LayerSpec::units)
      .def_readonly("rate", &LayerSpec::rate)
      .def_readonly("l1", &LayerSpec::l1)
      .def_readonly("l2", &LayerSpec::l2)
      .def_readonly("eps", &LayerSpec::eps)
      .def_readonly("momentum", &LayerSpec::momentum)
      .def_readonly("affine", &LayerSpec::affine)
      .def_readonly("track_running_stats", &LayerSpec::track_running_stats);

  py::class_<Network>(m, "Network")
      .def(py::init<index_t, const std::vector<LayerSpec>&, std::uint64_t>(), py::arg("input_dim"), py::arg("specs"),
           py::arg("seed"), "A network of the given layers, its weights drawn from seed.")
      .def_property_readonly("input_dim", &Network::input_dim)
      .def_property_readonly("output_dim", &Network::output_dim)
      .def_property_readonly("num_params", &Network::num_params)
      .def("set_loss",
           [](Network& net, const std::string& name, double huber_delta, double label_smoothing) {
             FASTMLP_REQUIRE(huber_delta > 0.0 && std::isfinite(huber_delta), "huber_delta must be positive and finite");
             FASTMLP_REQUIRE(label_smoothing >= 0.0 && label_smoothing <= 1.0, "label_smoothing must be in [0, 1]");
             net.set_loss({parse_loss(name), huber_delta, label_smoothing});
           },
           py::arg("name"), py::arg("huber_delta") = 1.0, py::arg("label_smoothing") = 0.0)
      .def("set_sgd",
           [](Network& net, float lr, float momentum, float dampening, float weight_decay, bool nesterov) {
             net.set_optimizer(Optimizer::make_sgd({lr, momentum, dampening, weight_decay, nesterov}));
           },
           py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"))
      .def("set_adam",
           [](Network& net, float lr, float beta1, float beta2, float eps, float weight_decay, bool amsgrad,
              bool decoupled_weight_decay) {
             net.set_optimizer(
                 Optimizer::make_adam({lr, beta1, beta2, eps, weight_decay, amsgrad, decoupled_weight_decay}));
           },
           py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"),
           py::arg("amsgrad") = false, py::arg("decoupled_weight_decay") = false,
           "Adam, or AdamW with decoupled_weight_decay=True.")
      .def("set_rmsprop",
           [](Network& net, float lr, float alpha, float eps, float weight_decay, float momentum, bool centered) {
             net.set_optimizer(Optimizer::make_rmsprop({lr, alpha, eps, weight_decay, momentum, centered}));
           },
           py::arg("lr"), py::arg("alpha"), py::arg("eps"), py::arg("weight_decay"), py::arg("momentum"),
           py::arg("centered"))
      .def("set_adagrad",
           [](Network& net, float lr, float lr_decay, float weight_decay, float initial_accumulator_value, float eps) {
             net.set_optimizer(Optimizer::make_adagrad({lr, lr_decay, weight_decay, initial_accumulator_value, eps}));
           },
           py::arg("lr"), py::arg("lr_decay"), py::arg("weight_decay"), py::arg("initial_accumulator_value"),
           py::arg("eps"))
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
           "Restores what optimizer_state() returned (same optimizer kind and configuration).")
      .def("compute_gradients",
           [](Network& net, const FloatArray& x, const py::array& y) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             TargetArrays t = check_targets(net, y, n, py::none(), py::none());
             LossStats stats;
             {
               py::gil_scoped_release release;
               stats = net.compute_gradients(x.data(), t.targets, n);
             }
             return stats_dict(stats);
           },
           py::arg("x"), py::arg("y"),
           "Gradient of the mean loss in inference mode into gradients(); no update.")
      .def("parameters", [](py::object self) { return tensor_views(self, View::Params); },
           "Writable views of the parameters: [W0 (out, in), b0 (out,), W1, b1, ...].")
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
           py::arg("state"))
      .def("gradients", [](py::object self) { return tensor_views(self, View::Grads); },
           "Writable views of the last step's gradients, in the layout of parameters().")
      .def("buffers", [](py::object self) { return tensor_views(self, View::Buffers); },
           "Writable views of the non-trainable state: per BatchNorm layer running_mean, running_var (width,).")
      .def("train_step",
           [](Network& net, const FloatArray& x, const py::array& y, const py::object& sample_weight,
              const py::object& class_weight) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             TargetArrays t = check_targets(net, y, n, sample_weight, class_weight);
             StepResult step;
             {
               py::gil_scoped_release release;
               step = net.train_step(x.data(), t.targets, n);
             }
             py::dict d = stats_dict(step.stats);
             d["diverged"] = step.diverged;
             return d;
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight") = py::none(), py::arg("class_weight") = py::none())
      .def("train_epoch",
           [](Network& net, const FloatArray& x, const py::array& y, index_t batch_size, bool shuffle,
              const py::object& sample_weight, const py::object& class_weight, const py::object& lrs,
              const py::object& momenta, py::object progress) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             FASTMLP_REQUIRE(batch_size > 0, "batch_size must be a positive integer");
             TargetArrays t = check_targets(net, y, n, sample_weight, class_weight);
             const index_t steps = (n + batch_size - 1) / batch_size;
             const FloatArray step_lrs = step_values(lrs, steps, "lrs");
             const FloatArray step_momenta = step_values(momenta, steps, "momenta");
             InterruptPoller poll;
             ProgressReporter reporter(std::move(progress));
             EpochResult r;
             {
               py::gil_scoped_release release;
               r = net.train_epoch(x.data(), t.targets, n, batch_size, shuffle,
                                   [&poll, &reporter] { return reporter.failed() || poll(); },
                                   lrs.is_none() ? nullptr : step_lrs.data(),
                                   momenta.is_none() ? nullptr : step_momenta.data(), reporter.callback());
             }
             poll.rethrow_if_interrupted();
             reporter.rethrow_if_failed();
             py::dict d = stats_dict(r.stats);
             d["steps"] = r.steps;
             d["diverged"] = r.diverged;
             return d;
           },
           py::arg("x"), py::arg("y"), py::arg("batch_size"), py::arg("shuffle"), py::arg("sample_weight") = py::none(),
           py::arg("class_weight") = py::none(), py::arg("lrs") = py::none(), py::arg("momenta") = py::none(),
           py::arg("progress") = py::none(),
           "progress: None or a callable(samples_done, running_mean_loss), called at most every 100 ms.")
      .def("predict",
           [](Network& net, const FloatArray& x) {
             const index_t n = check_x(net, x);
             FloatArray out({n, net.output_dim()});
             float* o = out.mutable_data();
             InterruptPoller poll;
             {
               py::gil_scoped_release release;
               net.predict(x.data(), n, o, poll.callback());
             }
             poll.rethrow_if_interrupted();
             return out;
           },
           py::arg("x"))
      .def("evaluate",
           [](Network& net, const FloatArray& x, const py::array& y, const py::object& sample_weight,
              const py::object& class_weight) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             TargetArrays t = check_targets(net, y, n, sample_weight, class_weight);
             InterruptPoller poll;
             LossStats stats;
             {
               py::gil_scoped_release release;
               stats = net.evaluate(x.data(), t.targets, n, poll.callback());
             }
             poll.rethrow_if_interrupted();
             return stats_dict(stats);
           },
           py::arg("x"), py::arg("y"), py::arg("sample_weight") = py::none(), py::arg("class_weight") = py::none());
}

}  // namespace fastmlp::bindings
