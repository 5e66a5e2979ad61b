#pragma once

// A client's compression state on disk (ClientOptions::state_file): the error memory, GD-SEC's
// h_m and e_m and the model its threshold rule measures movement from, the run the state
// belongs to, and a round whose outcome the client has not learned yet with the state before
// and after that round's change. A restarted client reads it back and rejoins its run as if it
// had only lost its connection (docs/PROTOCOL.md: the pending round is resolved at Hello).
//
// The file is a proto::ClientState, serialized deterministically with a BLAKE2b-256 checksum of
// itself (checksum field empty) and written atomically (sotto/base/file.h) before every message
// whose round changed the state and after every commit or rollback.
//
// DecodeClientState checks everything before the client trusts any of it (BAD_INPUTS row 22):
//   DataLoss            unparsable bytes, a checksum mismatch, bytes that are not the one
//                       encoding EncodeClientState writes, vectors of the wrong length,
//                       non-finite values, a pending state without a pending round or the reverse;
//   FailedPrecondition  another format_version, client id, model dimension, or a compression
//                       config that is not sparse or GD-SEC (or is invalid).
//
// Thread-safety: pure functions.

#include <cstdint>
#include <string>
#include <string_view>

#include "sotto/base/statusor.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::client {

inline constexpr uint32_t kClientStateFormat = 1;

// The file's bytes: `state` with format_version and checksum filled in.
std::string EncodeClientState(proto::ClientState state);

StatusOr<proto::ClientState> DecodeClientState(std::string_view bytes, std::string_view client_id,
                                               uint64_t dimension);

// The most bytes a valid state file for `dimension` parameters can take (a read limit).
uint64_t MaxClientStateBytes(uint64_t dimension);

}  // namespace sotto::client
