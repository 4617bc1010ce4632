#pragma once
// The batches of a training epoch: the sample order (shuffled or not), the gather of a shuffled
// batch's rows and targets into contiguous buffers, and the prefetch of the next batch's rows.
#include <cstdint>
#include <vector>

#include "fastmlp/types.hpp"
#include "model/input.hpp"
#include "nn/losses.hpp"
#include "runtime/aligned_buffer.hpp"
#include "runtime/rng.hpp"

namespace fastmlp {

// Rows [start, ...) of targets whose arrays have `cols` values per row (values) or one (labels,
// sample weights); class weights are per class and stay as they are.
Targets slice_targets(const Targets& targets, index_t start, index_t cols);

// One batch: `rows` rows of X and their targets.
struct Batch {
  InputRows x;
  Targets targets;
  index_t rows;
};

// Owns the epoch's sample order and the gather buffers. The buffers are sized by reserve(), not
// per batch: cutting a batch allocates nothing.
class Batching {
 public:
  Batching() = default;
  Batching(index_t input_dim, index_t output_dim) : input_dim_(input_dim), output_dim_(output_dim) {}

  // Makes room for batches of up to `rows` rows (grows only).
  void reserve(index_t rows);
  // Starts an epoch over n samples in batches of batch_size <= reserved rows (the last one may be
  // short). The samples go in order, or when `shuffle` in a Fisher-Yates permutation drawn from
  // `rng` (n - 1 draws of rng.below, from the last position down).
  void start_epoch(index_t n, index_t batch_size, bool shuffle, Rng& rng);
  // The batch that starts at position `start` (a multiple of batch_size) of the epoch, from X
  // (n rows) and its targets: views into them when the samples go in order, else the gathered
  // rows (valid until the next call). Sparse rows are never gathered: a shuffled batch of them is
  // the list of its row numbers.
  Batch batch(const Input& x, const Targets& targets, index_t start);

 private:
  // Prefetches the data rows (and target rows) of the samples at positions [begin, end).
  void prefetch_rows(const float* x, const float* values, index_t begin, index_t end) const;

  index_t input_dim_ = 0;
  index_t output_dim_ = 0;
  index_t capacity_rows_ = 0;
  index_t n_ = 0;
  index_t batch_size_ = 0;
  bool shuffle_ = false;
  std::vector<index_t> order_;              // shuffled epochs: the sample at each position
  AlignedBuffer<float> x_;                  // gathered dense rows (rows, input_dim)
  AlignedBuffer<float> values_;             // gathered target rows (rows, output_dim)
  std::vector<std::int64_t> labels_;        // gathered class labels (rows,)
  std::vector<float> weights_;              // gathered sample weights (rows,)
};

}  // namespace fastmlp
