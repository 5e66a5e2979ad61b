#pragma once

// Dataset: a dense, in-memory table of samples that models train on.
//
// Features are one contiguous row-major float array (num_samples x dim) so a batch of
// consecutive rows is a pointer and a count, with no copy. A dataset is either for
// classification (num_classes > 0, `labels` filled, each in [0, num_classes)) or regression
// (num_classes == 0, `targets` filled). Loaders (idx.h, libsvm.h, synthetic.h) return datasets
// that pass Validate(); code that builds one by hand should call it.
//
// A Dataset is a plain value: copyable, movable, thread-compatible.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/status.h"

namespace sotto::learn {

struct Dataset {
  size_t num_samples = 0;
  size_t dim = 0;
  int num_classes = 0;          // > 0: classification; 0: regression
  std::vector<float> features;  // num_samples * dim, row-major
  std::vector<int32_t> labels;  // classification: num_samples labels in [0, num_classes)
  std::vector<float> targets;   // regression: num_samples real targets

  bool is_classification() const { return num_classes > 0; }
  const float* row(size_t i) const { return features.data() + i * dim; }

  // Checks sizes agree, labels are in range and features/targets are finite.
  Status Validate() const;

  // A new dataset holding the given rows, in the given order. Rows must be < num_samples.
  Dataset Subset(std::span<const size_t> rows) const;
};

// A read-only view of `rows` consecutive samples. Exactly one of labels/targets is non-null.
struct Batch {
  const float* features = nullptr;  // rows * dim, row-major
  size_t rows = 0;
  size_t dim = 0;
  const int32_t* labels = nullptr;
  const float* targets = nullptr;
};

// Rows [begin, begin + count) of `data` as a batch. The range must lie inside the dataset.
Batch BatchOf(const Dataset& data, size_t begin, size_t count);
inline Batch WholeBatch(const Dataset& data) { return BatchOf(data, 0, data.num_samples); }

}  // namespace sotto::learn
