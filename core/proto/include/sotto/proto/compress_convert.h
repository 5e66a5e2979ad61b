#pragma once

// The compression settings of a round (proto::CompressionConfig, sent by the coordinator in
// RoundStart and written in configuration files) as the options of compress::Compressor.
//
// A config whose sparsifier is SPARSIFIER_UNSPECIFIED means dense, uncompressed updates
// (IsDense); otherwise every field is checked: InvalidArgument naming the field
// ("compression.density" ...) for an unknown enum value, a density outside (0, 1], a negative
// threshold or averaging period, a ring value coding. GD-SEC (the gdsec field) is not carried
// over the network yet: a config that sets it is refused (Unimplemented) so a client never
// silently ignores it.
//
// Thread-safety: pure functions.

#include "sotto/base/statusor.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::proto {

bool IsDense(const CompressionConfig& config);

// The compressor's options for a non-dense config (see the file comment for the errors).
StatusOr<compress::CompressorOptions> CompressorOptionsFromProto(const CompressionConfig& config);

// Checks a config without building anything (dense configs are valid).
Status ValidateCompressionConfig(const CompressionConfig& config);

}  // namespace sotto::proto
