#pragma once

// The compression settings of a round (proto::CompressionConfig, sent by the coordinator in
// RoundStart and written in configuration files) as the options of compress::Compressor or of
// GD-SEC (compress::GdSecClient / GdSecServer).
//
// Three kinds of config:
//   dense   (IsDense)  no sparsifier and no gdsec: dense, uncompressed updates;
//   sparse             a sparsifier (top-k, Gaussian-k, threshold, random-k, identity) with its
//                      error feedback: CompressorOptionsFromProto;
//   GD-SEC  (IsGdSec)  the gdsec field: GdSecOptionsFromProto (the value coding is the config's).
// Every field is checked: InvalidArgument naming the field ("compression.density",
// "compression.gdsec.beta" ...) for an unknown enum value, a density outside (0, 1], a negative
// threshold or averaging period, beta outside (0, 1], a negative xi, or gdsec together with a
// sparsifier.
//
// Thread-safety: pure functions.

#include "sotto/base/statusor.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/core/compress/gdsec.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::proto {

bool IsDense(const CompressionConfig& config);
bool IsGdSec(const CompressionConfig& config);

// The compressor's options for a sparse config (InvalidArgument for a dense or GD-SEC one).
StatusOr<compress::CompressorOptions> CompressorOptionsFromProto(const CompressionConfig& config);

// GD-SEC's options for a GD-SEC config (InvalidArgument for any other).
StatusOr<compress::GdSecOptions> GdSecOptionsFromProto(const CompressionConfig& config);

// Checks a config of any kind without building anything.
Status ValidateCompressionConfig(const CompressionConfig& config);

}  // namespace sotto::proto
