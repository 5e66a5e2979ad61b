#include "sotto/core/learn/dataset.h"

#include <cmath>
#include <cstring>
#include <string>

#include "sotto/base/check.h"

namespace sotto::learn {

Status Dataset::Validate() const {
  if (dim == 0) return InvalidArgumentError("dataset has feature dimension 0");
  if (features.size() != num_samples * dim) {
    return InvalidArgumentError("dataset has " + std::to_string(features.size()) +
                                " feature values, expected " + std::to_string(num_samples) +
                                " samples x " + std::to_string(dim));
  }
  for (size_t i = 0; i < features.size(); ++i) {
    if (!std::isfinite(features[i])) {
      return InvalidArgumentError("non-finite feature in sample " + std::to_string(i / dim));
    }
  }
  if (num_classes < 0) return InvalidArgumentError("num_classes is negative");
  if (is_classification()) {
    if (labels.size() != num_samples || !targets.empty()) {
      return InvalidArgumentError("classification dataset needs exactly one label per sample");
    }
    for (size_t i = 0; i < labels.size(); ++i) {
      if (labels[i] < 0 || labels[i] >= num_classes) {
        return InvalidArgumentError("label " + std::to_string(labels[i]) + " of sample " +
                                    std::to_string(i) + " is outside [0, " +
                                    std::to_string(num_classes) + ")");
      }
    }
  } else {
    if (targets.size() != num_samples || !labels.empty()) {
      return InvalidArgumentError("regression dataset needs exactly one target per sample");
    }
    for (size_t i = 0; i < targets.size(); ++i) {
      if (!std::isfinite(targets[i])) {
        return InvalidArgumentError("non-finite target in sample " + std::to_string(i));
      }
    }
  }
  return OkStatus();
}

Dataset Dataset::Subset(std::span<const size_t> rows) const {
  Dataset out;
  out.num_samples = rows.size();
  out.dim = dim;
  out.num_classes = num_classes;
  out.features.resize(rows.size() * dim);
  if (is_classification()) out.labels.resize(rows.size());
  if (!is_classification()) out.targets.resize(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    const size_t i = rows[r];
    SOTTO_CHECK(i < num_samples) << "row " << i << " of " << num_samples;
    std::memcpy(out.features.data() + r * dim, row(i), dim * sizeof(float));
    if (is_classification()) {
      out.labels[r] = labels[i];
    } else {
      out.targets[r] = targets[i];
    }
  }
  return out;
}

Batch BatchOf(const Dataset& data, size_t begin, size_t count) {
  SOTTO_CHECK(begin + count <= data.num_samples)
      << "rows [" << begin << ", " << begin + count << ") of " << data.num_samples;
  Batch b;
  b.features = data.features.data() + begin * data.dim;
  b.rows = count;
  b.dim = data.dim;
  if (data.is_classification()) {
    b.labels = data.labels.data() + begin;
  } else {
    b.targets = data.targets.data() + begin;
  }
  return b;
}

}  // namespace sotto::learn
