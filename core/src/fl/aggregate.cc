#include "sotto/core/aggregate.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "sotto/base/status_macros.h"

namespace sotto::core {
namespace {

// BAD_INPUTS row 20: a weight is finite, positive and at most the configured maximum.
Status CheckWeight(double weight, double max_weight) {
  if (!std::isfinite(weight) || weight <= 0 || weight > max_weight) {
    return InvalidArgumentError("weight " + std::to_string(weight) + " is not in (0, " +
                                std::to_string(max_weight) + "]");
  }
  return OkStatus();
}

}  // namespace

WeightedMeanAggregator::WeightedMeanAggregator(size_t dim, double max_weight)
    : dim_(dim), max_weight_(max_weight), sum_(dim, 0.0) {}

Status WeightedMeanAggregator::Add(std::span<const float> update, double weight) {
  if (update.size() != dim_) {
    return InvalidArgumentError("update has " + std::to_string(update.size()) +
                                " values, expected " + std::to_string(dim_));
  }
  RETURN_IF_ERROR(CheckWeight(weight, max_weight_));
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

Status WeightedMeanAggregator::AddSparse(std::span<const uint32_t> indices,
                                         std::span<const float> values, double weight) {
  if (indices.size() != values.size()) {
    return InvalidArgumentError("sparse update has " + std::to_string(indices.size()) +
                                " indices but " + std::to_string(values.size()) + " values");
  }
  RETURN_IF_ERROR(CheckWeight(weight, max_weight_));
  for (size_t j = 0; j < indices.size(); ++j) {
    if (indices[j] >= dim_ || (j > 0 && indices[j] <= indices[j - 1])) {
      return InvalidArgumentError("sparse update index " + std::to_string(indices[j]) +
                                  " at position " + std::to_string(j) +
                                  " is not ascending or not below " + std::to_string(dim_));
    }
    if (!std::isfinite(values[j])) {
      return InvalidArgumentError("sparse update has a non-finite value at index " +
                                  std::to_string(indices[j]));
    }
  }
  for (size_t j = 0; j < indices.size(); ++j) {
    sum_[indices[j]] += weight * static_cast<double>(values[j]);
  }
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
