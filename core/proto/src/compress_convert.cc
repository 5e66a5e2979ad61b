#include "sotto/proto/compress_convert.h"

#include <cmath>

#include "sotto/base/status_macros.h"

namespace sotto::proto {

bool IsDense(const CompressionConfig& config) {
  return config.sparsifier() == SPARSIFIER_UNSPECIFIED && !config.has_gdsec();
}

StatusOr<compress::CompressorOptions> CompressorOptionsFromProto(const CompressionConfig& config) {
  if (config.has_gdsec()) {
    return UnimplementedError(
        "compression.gdsec: GD-SEC is available in `sotto sim` only; a networked federation "
        "uses a sparsifier with error feedback");
  }
  compress::CompressorOptions options;
  switch (config.sparsifier()) {
    case SPARSIFIER_IDENTITY:
      options.sparsifier = compress::SparsifierKind::kIdentity;
      break;
    case SPARSIFIER_TOP_K:
      options.sparsifier = compress::SparsifierKind::kTopK;
      break;
    case SPARSIFIER_GAUSSIAN_K:
      options.sparsifier = compress::SparsifierKind::kGaussianK;
      break;
    case SPARSIFIER_THRESHOLD:
      options.sparsifier = compress::SparsifierKind::kThreshold;
      break;
    case SPARSIFIER_RANDOM_K:
      options.sparsifier = compress::SparsifierKind::kRandomK;
      break;
    default:
      return InvalidArgumentError("compression.sparsifier: unknown value " +
                                  std::to_string(config.sparsifier()));
  }
  switch (config.error_feedback()) {
    case ERROR_FEEDBACK_UNSPECIFIED:  // the default: classic error feedback
    case ERROR_FEEDBACK_CLASSIC:
      options.error_feedback = compress::ErrorFeedback::kClassic;
      break;
    case ERROR_FEEDBACK_NONE:
      options.error_feedback = compress::ErrorFeedback::kNone;
      break;
    case ERROR_FEEDBACK_STEP_AHEAD:
      options.error_feedback = compress::ErrorFeedback::kStepAhead;
      break;
    default:
      return InvalidArgumentError("compression.error_feedback: unknown value " +
                                  std::to_string(config.error_feedback()));
  }
  switch (config.value_coding()) {
    case VALUE_CODING_UNSPECIFIED:
    case VALUE_CODING_FP32:
      options.value_coding = compress::ValueCoding::kFp32;
      break;
    case VALUE_CODING_FP16:
      options.value_coding = compress::ValueCoding::kFp16;
      break;
    case VALUE_CODING_BF16:
      options.value_coding = compress::ValueCoding::kBf16;
      break;
    default:
      return InvalidArgumentError("compression.value_coding: unknown value " +
                                  std::to_string(config.value_coding()));
  }
  const bool needs_density = options.sparsifier == compress::SparsifierKind::kTopK ||
                             options.sparsifier == compress::SparsifierKind::kGaussianK ||
                             options.sparsifier == compress::SparsifierKind::kRandomK;
  if (needs_density && !(config.density() > 0 && config.density() <= 1)) {
    return InvalidArgumentError("compression.density: must be in (0, 1]");
  }
  if (needs_density) options.density = config.density();
  if (!(config.threshold() >= 0) || !std::isfinite(config.threshold())) {
    return InvalidArgumentError("compression.threshold: must be a finite value >= 0");
  }
  options.threshold = config.threshold();
  if (config.averaging_period() < 0) {
    return InvalidArgumentError("compression.averaging_period: must be >= 0");
  }
  options.averaging_period = config.averaging_period();
  options.support_seed = config.support_seed();
  RETURN_IF_ERROR(compress::ValidateCompressorOptions(options).WithContext("compression"));
  return options;
}

Status ValidateCompressionConfig(const CompressionConfig& config) {
  if (IsDense(config)) return OkStatus();
  return CompressorOptionsFromProto(config).status();
}

}  // namespace sotto::proto
