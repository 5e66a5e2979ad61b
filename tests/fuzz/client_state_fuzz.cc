// Fuzz target for the client's state file (sotto/client/state_file.h).
//
// Decodes arbitrary bytes as the state of client "alice" with 5 parameters. Every input must be
// refused with DataLoss or FailedPrecondition, or decode to a state that holds what the client
// will trust: the right id and dimension, vectors of exactly the right lengths with finite
// values, and a pending state exactly when there is a pending round; such a state must encode
// back to the same bytes (the file is canonical: deterministic serialization plus checksum).
// Anything else aborts.
//
// Built as a libFuzzer binary when SOTTO_FUZZ=ON with clang, and always as the corpus-replay
// test fuzz_client_state_corpus (tests/fuzz/corpus_main.cc).

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "sotto/base/check.h"
#include "sotto/client/state_file.h"

namespace sotto::client {
namespace {

constexpr uint64_t kDim = 5;

void CheckFloats(const std::string& bytes, bool optional) {
  if (optional && bytes.empty()) return;
  SOTTO_CHECK(bytes.size() == kDim * sizeof(float));
  for (size_t i = 0; i < kDim; ++i) {
    float v;
    std::memcpy(&v, bytes.data() + i * sizeof v, sizeof v);
    SOTTO_CHECK(std::isfinite(v));
  }
}

void CheckState(const proto::CompressionState& s, bool gdsec) {
  CheckFloats(s.error_fp32_le(), false);
  if (gdsec) {
    SOTTO_CHECK(s.gdsec_h_le().size() == kDim * sizeof(int64_t));
    CheckFloats(s.gdsec_model_fp32_le(), true);
  } else {
    SOTTO_CHECK(s.gdsec_h_le().empty() && s.gdsec_model_fp32_le().empty());
  }
}

void FuzzOne(std::string_view bytes) {
  StatusOr<proto::ClientState> decoded = DecodeClientState(bytes, "alice", kDim);
  if (!decoded.ok()) {
    SOTTO_CHECK(decoded.status().code() == StatusCode::kDataLoss ||
                decoded.status().code() == StatusCode::kFailedPrecondition)
        << decoded.status();
    return;
  }
  const proto::ClientState& s = *decoded;
  SOTTO_CHECK(s.client_id() == "alice" && s.dimension() == kDim && s.run_id() != 0);
  const bool gdsec = s.compression().has_gdsec();
  CheckState(s.committed(), gdsec);
  SOTTO_CHECK((s.pending_round() != 0) == s.has_pending());
  if (s.has_pending()) CheckState(s.pending(), gdsec);
  SOTTO_CHECK(EncodeClientState(s) == bytes);
}

}  // namespace
}  // namespace sotto::client

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  sotto::client::FuzzOne(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
