#include "model/batching.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace fastmlp {

Targets slice_targets(const Targets& targets, index_t start, index_t cols) {
  Targets t = targets;
  if (targets.labels) t.labels = targets.labels + start;
  if (targets.sample_weights) t.sample_weights = targets.sample_weights + start;
  if (targets.values) t.values = targets.values + start * cols;
  return t;
}

void Batching::reserve(index_t rows) {
  if (rows <= capacity_rows_) return;
  values_.reset(rows * output_dim_);
  labels_.assign(static_cast<std::size_t>(rows), 0);
  weights_.assign(static_cast<std::size_t>(rows), 0.0f);
  capacity_rows_ = rows;
}

void Batching::start_epoch(index_t n, index_t batch_size, bool shuffle, Rng& rng) {
  n_ = n;
  batch_size_ = batch_size;
  shuffle_ = shuffle;
  if (!shuffle) return;
  order_.resize(static_cast<std::size_t>(n));
  for (index_t i = 0; i < n; ++i) order_[static_cast<std::size_t>(i)] = i;
  for (index_t i = n - 1; i > 0; --i) {
    const auto j = static_cast<index_t>(rng.below(static_cast<std::uint64_t>(i + 1)));
    std::swap(order_[static_cast<std::size_t>(i)], order_[static_cast<std::size_t>(j)]);
  }
}

Batch Batching::batch(const Input& x, const Targets& targets, index_t start) {
  const index_t rows = std::min(batch_size_, n_ - start);
  if (!shuffle_) return {rows_from(x, start, input_dim_), slice_targets(targets, start, output_dim_), rows};
  const index_t* order = order_.data() + start;
  if (x.dense != nullptr) {
    x_.ensure(capacity_rows_ * input_dim_);  // first dense shuffled batch only: sparse X needs no copy
    prefetch_rows(x.dense, targets.values, start + batch_size_, std::min(n_, start + 2 * batch_size_));
  }
  for (index_t r = 0; r < rows; ++r) {
    const index_t src = order[r];
    if (x.dense != nullptr)
      std::memcpy(x_.data() + r * input_dim_, x.dense + src * input_dim_, sizeof(float) * input_dim_);
    if (targets.labels) labels_[static_cast<std::size_t>(r)] = targets.labels[src];
    if (targets.sample_weights) weights_[static_cast<std::size_t>(r)] = targets.sample_weights[src];
    if (targets.values)
      std::memcpy(values_.data() + r * output_dim_, targets.values + src * output_dim_, sizeof(float) * output_dim_);
  }
  Targets t = targets;
  t.labels = targets.labels ? labels_.data() : nullptr;
  t.values = targets.values ? values_.data() : nullptr;
  t.sample_weights = targets.sample_weights ? weights_.data() : nullptr;
  if (x.dense != nullptr) return {InputRows{x_.data(), CsrRows{}}, t, rows};
  return {InputRows{nullptr, CsrRows{x.csr, order, 0}}, t, rows};
}

// Asks for the data rows (and target rows) of the next batch to be brought into L2 while this one
// trains: a shuffled batch's rows lie anywhere in the data set, and without the prefetch each
// row's copy waits for its cache misses. Skipped for batches too large to sit in L2 beside the
// one being trained.
void Batching::prefetch_rows(const float* x, const float* values, index_t begin, index_t end) const {
  constexpr index_t kMaxPrefetchBytes = 256 * 1024;
  constexpr index_t kLineFloats = 64 / sizeof(float);
  if ((end - begin) * (input_dim_ + output_dim_) * static_cast<index_t>(sizeof(float)) > kMaxPrefetchBytes) return;
  for (index_t i = begin; i < end; ++i) {
    const index_t src = order_[static_cast<std::size_t>(i)];
    const float* row = x + src * input_dim_;
    for (index_t f = 0; f < input_dim_; f += kLineFloats) __builtin_prefetch(row + f, 0, 2);
    __builtin_prefetch(row + input_dim_ - 1, 0, 2);  // the last line of a row that straddles one more
    if (values) __builtin_prefetch(values + src * output_dim_, 0, 2);
  }
}

}  // namespace fastmlp
