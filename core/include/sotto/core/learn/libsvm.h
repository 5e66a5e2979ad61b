#pragma once

// Loader for LIBSVM / SVMlight text files, producing a dense Dataset.
//
// Format: one sample per line,
//   <label> <index>:<value> <index>:<value> ...
// with 1-based indices in strictly ascending order; a missing index means value 0. Text from
// '#' to the end of a line is a comment; blank lines and comment-only lines are skipped;
// spaces, tabs and a trailing '\r' separate tokens. An SVMlight `qid:<n>` token right after
// the label is accepted and ignored. Feature index i becomes column i - 1.
//
// Labels:
//   Regression (options.regression): any finite number, stored in Dataset::targets.
//   Classification (default): every label must be an integer. Then
//     - if every label is -1 or +1 (the usual binary encoding), -1 becomes class 0 and +1
//       becomes class 1, and the dataset has 2 classes (unless options.num_classes says more);
//     - otherwise every label must be >= 0 and is used as the class as is; num_classes is
//       max label + 1 unless options.num_classes (> 0) is given, in which case every label
//       must be < options.num_classes.
//     A class label >= kMaxLibsvmClasses is refused.
// dim is options.dim when > 0 (an index above it is an error), else the largest index seen.
//
// Every error is InvalidArgument whose message starts with `source:line:` (or `source:` for
// whole-file problems): index 0 or negative, indices not strictly ascending (also
// duplicates), index > options.dim, a number that does not parse, NaN or Inf, a line with no
// label, a non-integer class label, a class out of range, a file with no samples or with no
// features at all. A dense result bigger than options.max_dense_values floats is
// ResourceExhausted. LoadLibsvm adds NotFound / PermissionDenied / DataLoss for the file
// itself (it also reads gzip'd files).
//
// The functions are thread-safe (they share no state).

#include <cstddef>
#include <string>
#include <string_view>

#include "sotto/base/statusor.h"
#include "sotto/core/learn/dataset.h"

namespace sotto::learn {

inline constexpr int kMaxLibsvmClasses = 1 << 20;

struct LibsvmOptions {
  size_t dim = 0;           // 0 = infer from the largest index
  bool regression = false;  // true: real-valued targets; false: class labels
  int num_classes = 0;      // 0 = infer (see above); otherwise labels must be below it
  // Cap on num_samples * dim of the dense result (2^28 floats = 1 GiB), checked before the
  // dense array is allocated.
  size_t max_dense_values = size_t{1} << 28;
};

// Reads and parses the file at `path` (plain or gzip'd); errors name `path:line`.
StatusOr<Dataset> LoadLibsvm(const std::string& path, const LibsvmOptions& options = {});

// Parses LIBSVM text held in memory; errors name `source_name:line`.
StatusOr<Dataset> ParseLibsvm(std::string_view text, const LibsvmOptions& options,
                              std::string_view source_name);

}  // namespace sotto::learn
