#pragma once

// One secure-aggregation round in memory, as the simulator runs it: a SecAggServer and one
// SecAggClient per selected client, messages moved by value in a fixed order (clients in
// ascending id order, whatever the thread count), so that a round is a deterministic function
// of its config, inputs and seeds. Clients listed in `offline_after_share_keys` take part in
// the first two phases and then go silent (they never send a masked input), which is how a
// client crashing mid-round looks to the server.
//
// Byte accounting: every message is counted at the size of sotto/secagg/wire.h's serialization,
// except MaskedInput, which is counted as packed ring elements (|S| + 1 elements of 4 or 8 bytes,
// plus an 8-byte header): that is what the protobuf transport carries, while wire.h spends 8
// bytes on every element.
//
// Internal to sotto_sim.

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/server.h"

namespace sotto::sim::internal {

struct SecureRoundResult {
  // Set when the round completed; empty when it aborted (abort_status says why).
  std::optional<secagg::AggregateResult> aggregate;
  Status abort_status;
  uint64_t uplink_bytes = 0;    // all clients -> server
  uint64_t downlink_bytes = 0;  // server -> all clients (protocol messages only)
  size_t dropped = 0;           // clients the server dropped, for any reason
};

// Runs the round. `inputs` holds an input for every id in config.client_ids that is not in
// `offline_after_share_keys`. `client_seeds[id]` seeds that client's randomness (keys, seeds,
// nonces). Errors: a bad config or input (InvalidArgument), or a protocol failure that an
// honest in-memory round cannot produce (Internal). A round that aborts (too few survivors) is
// not an error: see SecureRoundResult.
StatusOr<SecureRoundResult> RunSecureRound(const secagg::RoundConfig& config,
                                           std::map<uint64_t, secagg::ClientInput> inputs,
                                           const std::map<uint64_t, uint64_t>& client_seeds,
                                           const std::set<uint64_t>& offline_after_share_keys,
                                           int threads);

}  // namespace sotto::sim::internal
