#pragma once

// WeightedMeanAggregator: the plaintext aggregator (no secure aggregation) that forms
// sum_i w_i u_i / sum_i w_i over the updates of one round.
//
// It is the validator of BAD_INPUTS.md rows 6, 8 and 20 for plain updates: an update of the
// wrong length, with a NaN or Inf, or a weight that is not finite, <= 0 or above the
// configured maximum is refused with InvalidArgument and leaves the sum untouched (the caller
// drops that client). Sums are kept in double and added in call order, so the same updates in
// the same order give bit-identical means. Not thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/statusor.h"

namespace sotto::core {

class WeightedMeanAggregator {
 public:
  explicit WeightedMeanAggregator(size_t dim, double max_weight = 1e12);

  Status Add(std::span<const float> update, double weight);

  // A sparse update: `values[j]` at coordinate `indices[j]`, zero elsewhere. Indices must be
  // strictly ascending and < dim (InvalidArgument otherwise, sum untouched).
  Status AddSparse(std::span<const uint32_t> indices, std::span<const float> values, double weight);

  size_t count() const { return count_; }
  double total_weight() const { return total_weight_; }

  // The weighted mean into `out` (dim floats). FailedPrecondition when nothing was added.
  Status Mean(std::span<float> out) const;

  // Forgets everything added, keeping the buffers.
  void Reset();

 private:
  size_t dim_;
  double max_weight_;
  std::vector<double> sum_;
  double total_weight_ = 0.0;
  size_t count_ = 0;
};

}  // namespace sotto::core
