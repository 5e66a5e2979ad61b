#include "sotto/proto/compress_convert.h"

#include <cmath>

#include "sotto/base/status_macros.h"

namespace sotto::proto {
namespace {

StatusOr<compress::ValueCoding> ValueCodingFromProto(ValueCoding coding) {
  switch (coding) {
    case VALUE_CODING_UNSPECIFIED:
    case VALUE_CODING_FP32:
      return compress::ValueCoding::kFp32;
    case VALUE_CODING_FP16:
      return compress::ValueCoding::kFp16;
    case VALUE_CODING_BF16:
      return compress::ValueCoding::kBf16;
    default:
      return InvalidArgumentError("compression.value_coding: unknown value " +
                                  std::to_string(coding));
  }
}

}  // namespace

bool IsDense(const CompressionConfig& config) {
  return config.sparsifier() == SPARSIFIER_UNSPECIFIED && !config.has_gdsec();
}

bool IsGdSec(const CompressionConfig& config) { return config.has_gdsec(); }

StatusOr<compress::CompressorOptions> CompressorOptionsFromProto(const CompressionConfig& config) {
  if (config.has_gdsec()) {
    return InvalidArgumentError("compression: a GD-SEC config has no sparsifier options");
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
  ASSIGN_OR_RETURN(options.value_coding, ValueCodingFromProto(config.value_coding()));
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

StatusOr<compress::GdSecOptions> GdSecOptionsFromProto(const CompressionConfig& config) {
  if (!config.has_gdsec()) return InvalidArgumentError("compression: not a GD-SEC config");
  if (config.sparsifier() != SPARSIFIER_UNSPECIFIED) {
    return InvalidArgumentError(
        "compression.gdsec: GD-SEC selects its own coordinates; leave compression.sparsifier "
        "unset");
  }
  if (config.error_feedback() != ERROR_FEEDBACK_UNSPECIFIED || config.averaging_period() != 0) {
    return InvalidArgumentError(
        "compression.gdsec: GD-SEC has its own error correction; leave "
        "compression.error_feedback and averaging_period unset");
  }
  const GdSecConfig& g = config.gdsec();
  compress::GdSecOptions options;
  if (!(g.beta() > 0 && g.beta() <= 1)) {
    return InvalidArgumentError("compression.gdsec.beta: must be in (0, 1] (it has no default)");
  }
  options.beta = g.beta();
  switch (g.rule()) {
    case GD_SEC_RULE_UNSPECIFIED:
    case GD_SEC_RULE_TOP_K:
      options.rule = compress::GdSecRule::kTopK;
      if (!(g.density() > 0 && g.density() <= 1)) {
        return InvalidArgumentError("compression.gdsec.density: must be in (0, 1]");
      }
      options.density = g.density();
      break;
    case GD_SEC_RULE_THRESHOLD:
      options.rule = compress::GdSecRule::kThreshold;
      break;
    default:
      return InvalidArgumentError("compression.gdsec.rule: unknown value " +
                                  std::to_string(g.rule()));
  }
  if (!(g.xi() >= 0) || !std::isfinite(g.xi())) {
    return InvalidArgumentError("compression.gdsec.xi: must be a finite value >= 0");
  }
  options.xi = g.xi();
  options.norm_threshold = g.norm_threshold();
  ASSIGN_OR_RETURN(options.value_coding, ValueCodingFromProto(config.value_coding()));
  RETURN_IF_ERROR(compress::ValidateGdSecOptions(options).WithContext("compression.gdsec"));
  return options;
}

Status ValidateCompressionConfig(const CompressionConfig& config) {
  if (IsDense(config)) return OkStatus();
  if (IsGdSec(config)) return GdSecOptionsFromProto(config).status();
  return CompressorOptionsFromProto(config).status();
}

}  // namespace sotto::proto
