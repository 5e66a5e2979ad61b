#include "sotto/client/state_file.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>

#include <cmath>
#include <cstring>
#include <span>

#include "sotto/base/status_macros.h"
#include "sotto/crypto/hash.h"
#include "sotto/proto/compress_convert.h"
#include "sotto/proto/parse.h"

namespace sotto::client {
namespace {

std::string SerializeDeterministic(const proto::ClientState& state) {
  std::string bytes;
  google::protobuf::io::StringOutputStream raw(&bytes);
  google::protobuf::io::CodedOutputStream coded(&raw);
  coded.SetSerializationDeterministic(true);
  state.SerializeToCodedStream(&coded);
  coded.Trim();
  return bytes;
}

std::string Checksum(proto::ClientState state) {
  state.clear_checksum();
  const std::string bytes = SerializeDeterministic(state);
  crypto::Blake2b256Hasher hasher;
  hasher.Update(std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()));
  const crypto::Blake2b256Digest digest = hasher.Final();
  return std::string(reinterpret_cast<const char*>(digest.data()), digest.size());
}

Status CheckFloats(const std::string& bytes, uint64_t dimension, bool optional,
                   const std::string& what) {
  if (optional && bytes.empty()) return OkStatus();
  if (bytes.size() != dimension * sizeof(float)) {
    return DataLossError("client state: " + what + " holds " + std::to_string(bytes.size()) +
                         " bytes, expected " + std::to_string(dimension * sizeof(float)));
  }
  for (size_t i = 0; i < dimension; ++i) {
    float v;
    std::memcpy(&v, bytes.data() + i * sizeof(float), sizeof v);
    if (!std::isfinite(v)) {
      return DataLossError("client state: " + what + " has a non-finite value at " +
                           std::to_string(i));
    }
  }
  return OkStatus();
}

Status CheckCompressionState(const proto::CompressionState& s, uint64_t dimension, bool gdsec,
                             const std::string& which) {
  RETURN_IF_ERROR(CheckFloats(s.error_fp32_le(), dimension, false, which + ".error"));
  if (gdsec) {
    if (s.gdsec_h_le().size() != dimension * sizeof(int64_t)) {
      return DataLossError("client state: " + which + ".gdsec_h holds " +
                           std::to_string(s.gdsec_h_le().size()) + " bytes, expected " +
                           std::to_string(dimension * sizeof(int64_t)));
    }
    return CheckFloats(s.gdsec_model_fp32_le(), dimension, true, which + ".gdsec_model");
  }
  if (!s.gdsec_h_le().empty() || !s.gdsec_model_fp32_le().empty()) {
    return DataLossError("client state: " + which + " has GD-SEC state for a sparsifier config");
  }
  return OkStatus();
}

}  // namespace

std::string EncodeClientState(proto::ClientState state) {
  state.set_format_version(kClientStateFormat);
  state.set_checksum(Checksum(state));
  return SerializeDeterministic(state);
}

uint64_t MaxClientStateBytes(uint64_t dimension) {
  // Two states of error (4), h (8) and model (4) bytes per parameter, the config and ids.
  return 2 * 16 * dimension + (uint64_t{1} << 16);
}

StatusOr<proto::ClientState> DecodeClientState(std::string_view bytes, std::string_view client_id,
                                               uint64_t dimension) {
  proto::ClientState state;
  Status parsed = proto::ParseStrict(
      std::span(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()), &state);
  if (!parsed.ok()) return DataLossError("client state: " + std::string(parsed.message()));
  if (state.checksum() != Checksum(state)) {
    return DataLossError("client state: checksum mismatch (a damaged file)");
  }
  // EncodeClientState writes one encoding only; anything else was not written by it.
  if (SerializeDeterministic(state) != bytes) {
    return DataLossError("client state: not in the encoding this client writes");
  }
  if (state.format_version() != kClientStateFormat) {
    return FailedPreconditionError("client state: unknown format_version " +
                                   std::to_string(state.format_version()));
  }
  if (state.client_id() != client_id) {
    return FailedPreconditionError("client state: written by client '" + state.client_id() +
                                   "', this is '" + std::string(client_id) + "'");
  }
  if (state.dimension() != dimension) {
    return FailedPreconditionError("client state: for a model of " +
                                   std::to_string(state.dimension()) +
                                   " parameters, this one has " + std::to_string(dimension));
  }
  if (proto::IsDense(state.compression())) {
    return FailedPreconditionError("client state: no compression config");
  }
  if (Status valid = proto::ValidateCompressionConfig(state.compression()); !valid.ok()) {
    return FailedPreconditionError("client state: " + std::string(valid.message()));
  }
  if (state.run_id() == 0) return DataLossError("client state: run_id 0");
  const bool gdsec = proto::IsGdSec(state.compression());
  RETURN_IF_ERROR(CheckCompressionState(state.committed(), dimension, gdsec, "committed"));
  if ((state.pending_round() != 0) != state.has_pending()) {
    return DataLossError("client state: a pending state goes with a pending round");
  }
  if (state.has_pending()) {
    RETURN_IF_ERROR(CheckCompressionState(state.pending(), dimension, gdsec, "pending"));
  }
  return state;
}

}  // namespace sotto::client
