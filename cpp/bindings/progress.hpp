#pragma once
// Reports a running epoch's progress to a Python callable from inside the C++ epoch loop (which
// runs with the GIL released). The per-batch hook only stores two numbers; the GIL is taken and
// the callable run at most once per `period`, so a progress bar costs nothing measurable, and
// with no callable (verbose=0) the loop pays one empty-function test per batch.
#include <chrono>
#include <functional>
#include <optional>
#include <utility>

#include "bindings/common.hpp"
#include "nn/losses.hpp"

namespace fastmlp::bindings {

class ProgressReporter {
 public:
  // report(samples_done, running_mean_loss) is called with the GIL held; the running mean is
  // LossStats::mean_loss() of the batches so far (see nn/losses.hpp).
  explicit ProgressReporter(py::object report, std::chrono::milliseconds period = std::chrono::milliseconds(100))
      : report_(std::move(report)), period_(period) {}

  // The hook for Network::train_epoch, or an empty function when there is nothing to report to.
  std::function<void(index_t, const LossStats&)> callback() {
    if (report_.is_none()) return {};
    return [this](index_t samples, const LossStats& stats) {
      const auto now = std::chrono::steady_clock::now();
      if (now < next_report_ || error_) return;
      next_report_ = now + period_;
      py::gil_scoped_acquire gil;
      try {
        report_(samples, stats.mean_loss());
      } catch (py::error_already_set& e) {
        // Kept (a KeyboardInterrupt raised while the callable ran included) and re-raised once
        // the epoch has stopped at the next batch boundary; see failed().
        error_ = std::move(e);
      }
    };
  }

  // True once the callable raised: the epoch loop should stop.
  bool failed() const { return error_.has_value(); }

  // Call with the GIL held, after the C++ work returned: re-raises the callable's exception.
  void rethrow_if_failed() {
    if (error_) throw std::move(*error_);
  }

 private:
  py::object report_;
  std::chrono::milliseconds period_;
  std::chrono::steady_clock::time_point next_report_ = std::chrono::steady_clock::now();
  std::optional<py::error_already_set> error_;
};

}  // namespace fastmlp::bindings
