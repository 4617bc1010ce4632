// fastmlp._core.Network: converts arrays, checks shapes, releases the GIL and calls the C++ model.
#include <memory>
#include <vector>

#include "bindings/common.hpp"
#include "bindings/progress.hpp"
#include "model/network.hpp"

namespace fastmlp::bindings {
namespace {

template <typename Parse>
auto parse_or_value_error(Parse parse, const std::string& name) {
  try {
    return parse(name);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

std::unique_ptr<Network> make_network(index_t input_dim, const py::list& layers, std::uint64_t seed) {
  std::vector<LayerSpec> specs;
  for (const py::handle& item : layers) {
    const auto t = item.cast<py::tuple>();
    const auto kind = t[0].cast<std::string>();
    LayerSpec spec;
    if (kind == "dense") {
      spec.kind = LayerSpec::Kind::Dense;
      spec.units = t[1].cast<index_t>();
      spec.activation = parse_or_value_error(parse_activation, t[2].cast<std::string>());
    } else if (kind == "dropout") {
      spec.kind = LayerSpec::Kind::Dropout;
      spec.rate = t[1].cast<float>();
    } else {
      throw py::value_error("unknown layer kind '" + kind + "'");
    }
    specs.push_back(spec);
  }
  try {
    return std::make_unique<Network>(input_dim, specs, seed);
  } catch (const std::invalid_argument& e) {
    throw py::value_error(e.what());
  }
}

// Keeps the converted target arrays alive while C++ reads them.
struct TargetHolder {
  LabelArray labels;
  FloatArray values;
  Targets targets;
};

index_t check_x(const Network& net, const FloatArray& x) {
  require_ndim(x, 2, "X");
  FASTMLP_REQUIRE(x.shape(1) == net.input_dim(), "X must have " + std::to_string(net.input_dim()) +
                                             " features (columns), got " + std::to_string(x.shape(1)));
  return x.shape(0);
}

TargetHolder check_targets(const Network& net, const py::array& y, index_t n) {
  TargetHolder h;
  const index_t classes = net.output_dim();
  if (net.loss() == Loss::CrossEntropy) {
    h.labels = LabelArray::ensure(y);
    FASTMLP_REQUIRE(h.labels && h.labels.ndim() == 1 && h.labels.shape(0) == n,
            "y must be integer class labels of shape (" + std::to_string(n) + ",)");
    const std::int64_t* lab = h.labels.data();
    for (index_t i = 0; i < n; ++i)
      FASTMLP_REQUIRE(lab[i] >= 0 && lab[i] < classes, "y labels must be in [0, " + std::to_string(classes) + ")");
    h.targets.labels = lab;
  } else {
    h.values = FloatArray::ensure(y);
    FASTMLP_REQUIRE(h.values && h.values.ndim() == 2 && h.values.shape(0) == n && h.values.shape(1) == classes,
            "y must be float targets of shape (" + std::to_string(n) + ", " + std::to_string(classes) + ")");
    h.targets.values = h.values.data();
  }
  return h;
}

py::dict stats_dict(const Network& net, const LossStats& s, index_t rows) {
  py::dict d;
  const double normaliser = loss_normaliser(net.loss(), rows, net.output_dim());
  d["loss"] = rows > 0 ? s.loss_sum / normaliser : 0.0;
  d["samples"] = rows;
  d["correct"] = s.correct;
  d["abs_error_sum"] = s.abs_error_sum;
  d["sq_error_sum"] = s.sq_error_sum;
  return d;
}

py::list tensor_views(py::object self, bool gradients) {
  Network& net = self.cast<Network&>();
  float* base = gradients ? net.grads() : net.params();
  py::list out;
  for (const ParamTensor& t : net.param_tensors()) {
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

}  // namespace

void bind_model(py::module_& m) {
  py::class_<Network>(m, "Network")
      .def(py::init(&make_network), py::arg("input_dim"), py::arg("layers"), py::arg("seed"),
           "layers: list of ('dense', units, activation) or ('dropout', rate).")
      .def_property_readonly("input_dim", &Network::input_dim)
      .def_property_readonly("output_dim", &Network::output_dim)
      .def_property_readonly("num_params", &Network::num_params)
      .def("set_loss",
           [](Network& net, const std::string& name) { net.set_loss(parse_or_value_error(parse_loss, name)); })
      .def("set_sgd",
           [](Network& net, float lr, float momentum, float dampening, float weight_decay, bool nesterov) {
             net.set_optimizer(Optimizer::make_sgd({lr, momentum, dampening, weight_decay, nesterov}));
           },
           py::arg("lr"), py::arg("momentum"), py::arg("dampening"), py::arg("weight_decay"), py::arg("nesterov"))
      .def("set_adam",
           [](Network& net, float lr, float beta1, float beta2, float eps, float weight_decay) {
             net.set_optimizer(Optimizer::make_adam({lr, beta1, beta2, eps, weight_decay}));
           },
           py::arg("lr"), py::arg("beta1"), py::arg("beta2"), py::arg("eps"), py::arg("weight_decay"))
      .def_property_readonly("learning_rate", &Network::learning_rate)
      .def("set_learning_rate", &Network::set_learning_rate, py::arg("lr"),
           "Changes the optimizer's learning rate, keeping its state (momentum, moments, step count).")
      .def("compute_gradients",
           [](Network& net, const FloatArray& x, const py::array& y) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             TargetHolder t = check_targets(net, y, n);
             LossStats stats;
             {
               py::gil_scoped_release release;
               stats = net.compute_gradients(x.data(), t.targets, n);
             }
             return stats_dict(net, stats, n);
           },
           py::arg("x"), py::arg("y"),
           "Gradient of the mean loss in inference mode into gradients(); no update.")
      .def("parameters", [](py::object self) { return tensor_views(self, false); },
           "Writable views of the parameters: [W0 (out, in), b0 (out,), W1, b1, ...].")
      .def("gradients", [](py::object self) { return tensor_views(self, true); },
           "Writable views of the last step's gradients, in the layout of parameters().")
      .def("train_step",
           [](Network& net, const FloatArray& x, const py::array& y) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             TargetHolder t = check_targets(net, y, n);
             StepResult step;
             {
               py::gil_scoped_release release;
               step = net.train_step(x.data(), t.targets, n);
             }
             py::dict d = stats_dict(net, step.stats, n);
             d["diverged"] = step.diverged;
             return d;
           },
           py::arg("x"), py::arg("y"))
      .def("train_epoch",
           [](Network& net, const FloatArray& x, const py::array& y, index_t batch_size, bool shuffle,
              py::object progress) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             FASTMLP_REQUIRE(batch_size > 0, "batch_size must be a positive integer");
             TargetHolder t = check_targets(net, y, n);
             InterruptPoller poll;
             ProgressReporter reporter(std::move(progress), loss_normaliser(net.loss(), 1, net.output_dim()));
             EpochResult r;
             {
               py::gil_scoped_release release;
               r = net.train_epoch(x.data(), t.targets, n, batch_size, shuffle,
                                   [&poll, &reporter] { return reporter.failed() || poll(); }, reporter.callback());
             }
             poll.rethrow_if_interrupted();
             reporter.rethrow_if_failed();
             py::dict d = stats_dict(net, r.stats, r.samples);
             d["steps"] = r.steps;
             d["diverged"] = r.diverged;
             return d;
           },
           py::arg("x"), py::arg("y"), py::arg("batch_size"), py::arg("shuffle"), py::arg("progress") = py::none(),
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
           [](Network& net, const FloatArray& x, const py::array& y) {
             const index_t n = check_x(net, x);
             FASTMLP_REQUIRE(n > 0, "X must have at least one row");
             TargetHolder t = check_targets(net, y, n);
             InterruptPoller poll;
             LossStats stats;
             {
               py::gil_scoped_release release;
               stats = net.evaluate(x.data(), t.targets, n, poll.callback());
             }
             poll.rethrow_if_interrupted();
             return stats_dict(net, stats, n);
           },
           py::arg("x"), py::arg("y"));
}

}  // namespace fastmlp::bindings
