#include "sotto/core/aggregate.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace sotto::core {

WeightedMeanAggregator::WeightedMeanAggregator(size_t dim, double max_weight)
    : dim_(dim), max_weight_(max_weight), sum_(dim, 0.0) {}

Status WeightedMeanAggregator::Add(std::span<const float> update, double weight) {
  if (update.size() != dim_) {
    return InvalidArgumentError("update has " + std::to_string(update.size()) +
                                " values, expected " + std::to_string(dim_));
  }
  if (!std::isfinite(weight) || weight <= 0 || weight > max_weight_) {
    return InvalidArgumentError("weight " + std::to_string(weight) + " is not in (0, " +
                                std::to_string(max_weight_) + "]");
  }
  // Validate before touching the sum, so a refused update leaves no trace.
  for (size_t i = 0; i < dim_; ++i) {
    if (!std::isfinite(update[i])) {
      return InvalidArgumentError("update has a non-finite value at index " + std::to_string(i));
    }
  }
  for (size_t i = 0; i < dim_; ++i) sum_[i] += weight * static_cast<double>(update[i]);
  total_weight_ += weight;
  ++count_;
  return OkStatus();
}

Status WeightedMeanAggregator::Mean(std::span<float> out) const {
  if (count_ == 0) return FailedPreconditionError("no update was aggregated this round");
  if (out.size() != dim_) return InvalidArgumentError("output has the wrong length");
  for (size_t i = 0; i < dim_; ++i) out[i] = static_cast<float>(sum_[i] / total_weight_);
  return OkStatus();
}

void WeightedMeanAggregator::Reset() {
  std::fill(sum_.begin(), sum_.end(), 0.0);
  total_weight_ = 0.0;
  count_ = 0;
}

}  // namespace sotto::core
