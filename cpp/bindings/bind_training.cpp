// Network's loss and training / inference methods: train_step, train_epoch, predict, evaluate,
// compute_gradients. Each converts and checks its arrays, releases the GIL and calls the network.
#include <string>
#include <utility>

#include "bindings/common.hpp"
#include "bindings/progress.hpp"
#include "bindings/sparse_input.hpp"
#include "bindings/targets.hpp"
#include "model/network.hpp"

namespace fastmlp::bindings {
namespace {

// X with at least one row, and its targets for the network's loss (see targets.hpp).
TargetArrays check_batch(const Network& net, const InputArg& x, const py::array& y, const py::object& sample_weight,
                         const py::object& class_weight) {
  FASTMLP_REQUIRE(x.rows() > 0, "X must have at least one row");
  return check_targets(net.loss().kind, y, x.rows(), net.output_dim(), sample_weight, class_weight);
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

py::dict train_step(Network& net, const py::object& x_arg, const py::array& y, const py::object& sample_weight,
                    const py::object& class_weight) {
  const InputArg x(x_arg, net.input_dim());
  const TargetArrays t = check_batch(net, x, y, sample_weight, class_weight);
  StepResult step;
  {
    py::gil_scoped_release release;
    step = net.train_step(x.input(), t.targets, x.rows());
  }
  py::dict d = stats_dict(step.stats);
  d["diverged"] = step.diverged;
  return d;
}

py::dict train_epoch(Network& net, const py::object& x_arg, const py::array& y, index_t batch_size, bool shuffle,
                     const py::object& sample_weight, const py::object& class_weight, const py::object& lrs,
                     const py::object& momenta, py::object progress) {
  const InputArg x(x_arg, net.input_dim());
  const index_t n = x.rows();
  FASTMLP_REQUIRE(n > 0, "X must have at least one row");
  FASTMLP_REQUIRE(batch_size > 0, "batch_size must be a positive integer");
  const TargetArrays t = check_targets(net.loss().kind, y, n, net.output_dim(), sample_weight, class_weight);
  const index_t steps = (n + batch_size - 1) / batch_size;
  const FloatArray step_lrs = step_values(lrs, steps, "lrs");
  const FloatArray step_momenta = step_values(momenta, steps, "momenta");
  InterruptPoller poll;
  ProgressReporter reporter(std::move(progress));
  EpochResult r;
  {
    py::gil_scoped_release release;
    r = net.train_epoch(x.input(), t.targets, n, batch_size, shuffle,
                        [&poll, &reporter] { return reporter.failed() || poll(); },
                        lrs.is_none() ? nullptr : step_lrs.data(), momenta.is_none() ? nullptr : step_momenta.data(),
                        reporter.callback());
  }
  poll.rethrow_if_interrupted();
  reporter.rethrow_if_failed();
  py::dict d = stats_dict(r.stats);
  d["steps"] = r.steps;
  d["diverged"] = r.diverged;
  return d;
}

FloatArray predict(Network& net, const py::object& x_arg) {
  const InputArg x(x_arg, net.input_dim());
  const index_t n = x.rows();
  FloatArray out({n, net.output_dim()});
  float* o = out.mutable_data();
  InterruptPoller poll;
  {
    py::gil_scoped_release release;
    net.predict(x.input(), n, o, poll.callback());
  }
  poll.rethrow_if_interrupted();
  return out;
}

py::dict evaluate(Network& net, const py::object& x_arg, const py::array& y, const py::object& sample_weight,
                  const py::object& class_weight) {
  const InputArg x(x_arg, net.input_dim());
  const TargetArrays t = check_batch(net, x, y, sample_weight, class_weight);
  InterruptPoller poll;
  LossStats stats;
  {
    py::gil_scoped_release release;
    stats = net.evaluate(x.input(), t.targets, x.rows(), poll.callback());
  }
  poll.rethrow_if_interrupted();
  return stats_dict(stats);
}

py::dict compute_gradients(Network& net, const py::object& x_arg, const py::array& y,
                           const py::object& sample_weight) {
  const InputArg x(x_arg, net.input_dim());
  const TargetArrays t = check_batch(net, x, y, sample_weight, py::none());
  LossStats stats;
  {
    py::gil_scoped_release release;
    stats = net.compute_gradients(x.input(), t.targets, x.rows());
  }
  return stats_dict(stats);
}

}  // namespace

void bind_training(py::module_& m) {
  auto network = py::reinterpret_borrow<py::class_<Network>>(m.attr("Network"));
  network
      .def("set_loss",
           [](Network& net, const std::string& name, double huber_delta, double label_smoothing) {
             net.set_loss({parse_loss(name), huber_delta, label_smoothing});
           },
           py::arg("name"), py::arg("huber_delta") = 1.0, py::arg("label_smoothing") = 0.0)
      .def("train_step", &train_step, py::arg("x"), py::arg("y"), py::arg("sample_weight") = py::none(),
           py::arg("class_weight") = py::none(),
           "Forward, backward and update on one batch; 'diverged': the loss or a gradient was not finite and\n"
           "nothing was updated.")
      .def("train_epoch", &train_epoch, py::arg("x"), py::arg("y"), py::arg("batch_size"), py::arg("shuffle"),
           py::arg("sample_weight") = py::none(), py::arg("class_weight") = py::none(), py::arg("lrs") = py::none(),
           py::arg("momenta") = py::none(), py::arg("progress") = py::none(),
           "progress: None or a callable(samples_done, running_mean_loss), called at most every 100 ms.")
      .def("predict", &predict, py::arg("x"))
      .def("evaluate", &evaluate, py::arg("x"), py::arg("y"), py::arg("sample_weight") = py::none(),
           py::arg("class_weight") = py::none())
      .def("compute_gradients", &compute_gradients, py::arg("x"), py::arg("y"),
           py::arg("sample_weight") = py::none(),
           "Gradient of the (sample-weighted) mean loss in inference mode into gradients(); no update.");
}

}  // namespace fastmlp::bindings
