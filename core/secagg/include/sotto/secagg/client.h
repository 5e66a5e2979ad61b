#pragma once

// The client side of one secure-aggregation round (SecAgg, Bonawitz et al. CCS 2017; SecAgg+,
// Bell et al. CCS 2020), as a state machine driven by server messages. It never touches a
// socket: the caller moves ClientMessage / ServerMessage values over whatever transport it has.
//
// Call order:
//   auto client = SecAggClient::Create(config, my_id, input, random);  // validates everything
//   send(client->Start());                                             // AdvertiseKeys
//   for each ServerMessage m from the server:
//     auto reply = client->Handle(m);
//     if (!reply.ok()) stop: the client aborted and sends nothing more (abort() says why)
//     else if (*reply) send(**reply);
// Phases: kAdvertiseKeys -Start-> kShareKeys -ShareKeysRequest-> kMaskedInput
//   -MaskedInputRequest-> kUnmask -UnmaskRequest-> kCompleted; any phase -> kAborted.
// One class per phase lives in core/secagg/src (client_*_state.h); this class owns the current
// one.
//
// What the client does (u = this client, N(u) its neighbours in the round's graph):
//   Start: two fresh X25519 key pairs (masks, share encryption) and a fresh 32-byte self-mask
//     seed b_u; sends both public keys and BLAKE2b(context || b_u) (SeedCommitment), signed
//     with options.signing_key if given.
//   ShareKeysRequest (the neighbours' keys): Shamir-splits b_u and the mask secret key
//     t-of-|N[u]|, and sends each listed neighbour its two shares, AEAD-encrypted under the pair
//     seed DerivePairSeed(kShareEncryption) and bound to (run, round, sender, recipient).
//   MaskedInputRequest (the ciphertexts of neighbours in U2): opens them (any failure or a
//     sender/recipient that differs from the envelope aborts: row 17), then sends
//     y_u = x_u + PRG(b_u) + sum_{v in U2 n N(u)} (+PRG(s_uv) if u < v, else -PRG(s_uv)) on the
//     support, and the weight masked the same way with the seeds' second stream.
//   UnmaskRequest (alive and dropped neighbours): refuses (aborts, sends nothing) a request that
//     lists a peer as both, an unknown id, itself, or fewer than t - 1 alive peers (row 16);
//     otherwise sends its shares of b_v for the alive peers and itself and of the mask secret
//     key of the dropped ones. It answers at most one UnmaskRequest, so it never reveals both
//     kinds of share for the same peer.
//
// Randomness: `random` (keys, seeds, Shamir coefficients, nonces) is not owned and must outlive
// the client; tests pass a SeededRandom. Secrets (key pairs, b_u, shares) are SecretBytes /
// SizedSecrets, wiped on destruction, never logged.
// Thread-safety: thread-compatible; one thread drives a client.

#include <cstdint>
#include <memory>
#include <optional>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/signature.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/messages.h"

namespace sotto::secagg {

enum class ClientPhase : uint8_t {
  kAdvertiseKeys = 0,
  kShareKeys = 1,
  kMaskedInput = 2,
  kUnmask = 3,
  kCompleted = 4,
  kAborted = 5,
};
const char* ClientPhaseName(ClientPhase phase);

// Why a client stopped taking part. The Status carries the code:
enum class ClientAbortReason : uint8_t {
  kWrongPhase = 0,        // a message this phase does not accept (FailedPrecondition)
  kMalformedRequest = 1,  // a request that breaks the protocol (InvalidArgument), row 16
  kTooFewNeighbours = 2,  // fewer than t live members of N[u] (Aborted), rows 16, 19
  kBadShareEnvelope = 3,  // AEAD failure (Unauthenticated) or envelope mismatch, row 17
  kServerAborted = 4,     // the server sent AbortRound (Aborted)
  kInternal = 5,          // randomness or a crypto call failed
};
const char* ClientAbortReasonName(ClientAbortReason reason);

struct ClientAbort {
  ClientAbortReason reason;
  Status status;
};

struct ClientOptions {
  // Active-adversary mode: AdvertiseKeys is signed with this long-term key, whose public half
  // the server knows (ServerOptions::signing_keys). Not owned; must outlive the client.
  const crypto::Ed25519SecretKey* signing_key = nullptr;
  // Threads for the masks (1 = the calling thread only). Threads split the coordinates, so the
  // message does not depend on this; worth it from about 10^5 coordinates.
  int num_threads = 1;
};

namespace internal {
class ClientState;
}  // namespace internal

class SecAggClient {
 public:
  // InvalidArgument for a bad config (ValidateRoundConfig), an id not in config.client_ids,
  // or an input that fails ValidateClientInput.
  static StatusOr<std::unique_ptr<SecAggClient>> Create(const RoundConfig& config, uint64_t self_id,
                                                        ClientInput input, Random& random,
                                                        ClientOptions options = {});
  ~SecAggClient();
  SecAggClient(const SecAggClient&) = delete;
  SecAggClient& operator=(const SecAggClient&) = delete;

  // The AdvertiseKeys message. FailedPrecondition unless phase() is kAdvertiseKeys; an error
  // of `random` aborts the client.
  StatusOr<ClientMessage> Start();

  // Handles one server message: OK with the reply to send (or none), or the abort status (the
  // client is now kAborted and must send nothing more). In kCompleted an AbortRound is accepted
  // silently and anything else is FailedPrecondition; in kAborted everything is
  // FailedPrecondition. Neither changes the phase.
  StatusOr<std::optional<ClientMessage>> Handle(const ServerMessage& message);

  ClientPhase phase() const;
  uint64_t id() const { return self_id_; }
  // Set once the client has aborted.
  const std::optional<ClientAbort>& abort() const { return abort_; }

 private:
  SecAggClient(uint64_t self_id, std::unique_ptr<internal::ClientState> state);

  uint64_t self_id_;
  std::unique_ptr<internal::ClientState> state_;
  std::optional<ClientAbort> abort_;
};

}  // namespace sotto::secagg
