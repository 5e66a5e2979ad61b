// Fuzz target for the LIBSVM/SVMlight text parser (sotto/core/learn/libsvm.h).
//
// The first input byte picks the options (inferred or fixed dimension, classification or
// regression); the rest is the text. Every input must either be refused with InvalidArgument /
// ResourceExhausted, or parse to a dataset that passes Dataset::Validate() and respects the
// options. Anything else aborts.

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "sotto/base/check.h"
#include "sotto/core/learn/libsvm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sotto;
  if (size == 0) return 0;
  learn::LibsvmOptions options;
  options.dim = (data[0] & 1) ? 16 : 0;
  options.regression = (data[0] & 2) != 0;
  options.num_classes = (!options.regression && (data[0] & 4)) ? 5 : 0;
  options.max_dense_values = 1 << 16;  // keep memory small whatever the input claims
  std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  StatusOr<learn::Dataset> parsed = learn::ParseLibsvm(text, options, "fuzz");
  if (!parsed.ok()) {
    SOTTO_CHECK(parsed.status().code() == StatusCode::kInvalidArgument ||
                parsed.status().code() == StatusCode::kResourceExhausted)
        << parsed.status();
    return 0;
  }
  SOTTO_CHECK_OK(parsed->Validate());
  SOTTO_CHECK(parsed->num_samples > 0);
  if (options.dim != 0) SOTTO_CHECK(parsed->dim == options.dim);
  SOTTO_CHECK(parsed->is_classification() == !options.regression);
  if (options.num_classes != 0) SOTTO_CHECK(parsed->num_classes == options.num_classes);
  return 0;
}
