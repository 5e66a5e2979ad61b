#pragma once

// The server side of one secure-aggregation round, as a state machine driven by client messages
// and by the caller's phase deadlines. It never touches a socket or a clock: the coordinator's
// round manager delivers messages (with the sender's authenticated identity), decides when a
// phase ends (everyone answered, or the deadline passed) and sends what Advance returns.
//
// Call order:
//   auto server = SecAggServer::Create(config);
//   loop:
//     for each (from, m) received: Status s = server->Handle(from, std::move(m));   // see below
//     when server->ReadyToAdvance() or the phase deadline passed:
//       auto out = server->Advance();  send each Outgoing; stop once phase() is terminal
//   server->result() (kCompleted) or server->abort() (kAborted).
// Phases: kCollectingKeys -> kCollectingShares -> kCollectingMaskedInputs ->
//   kCollectingUnmaskResponses -> kCompleted; any phase -> kAborted. One class per phase lives
//   in core/secagg/src (server_*_state.h); this class owns the current one.
//
// Handle(from, message):
//   PermissionDenied: `from` was not selected, or is already dropped (row 10; never revived).
//     Nothing changes.
//   FailedPrecondition: a message of another phase (row 4) or a second message in this phase
//     (row 5: duplicates are never retransmissions over our transport, so even an exact copy
//     drops the sender), or the round is over.
//   InvalidArgument (rows 6, 7, 13-15), Unauthenticated (bad signature): the message is
//     refused.
//   Except for PermissionDenied and a finished round, a refusal drops the sender: it is dead for
//   the rest of the round. A dropped client's valid contribution made *earlier in the same
//   phase* stays where it cannot be taken back: a masked input already added to the sum (the
//   client then counts as one that dropped after sending it, and its self-mask is rebuilt from
//   its neighbours) and unmask shares already accepted.
//
// Advance(): clients that did not answer in this phase are dropped (kNoResponse); clients left
// with fewer than t live members in their closed neighbourhood are dropped (kTooFewNeighbours)
// before anyone masks with them, and are sent AbortRound; if fewer than t clients remain, or a
// client's secrets could no longer be rebuilt, the round aborts (Aborted, row 19) and reveals
// nothing. The final Advance rebuilds the self-mask seed of every client in U3 and the mask secret
// key of every client in U2 \ U3, checks each against the commitment / advertised public key and,
// on a mismatch, tries other t-subsets of the shares (row 18: DataLoss abort if none checks out,
// never a wrong sum), unmasks, and refuses a sum that |U3| honest clients could not produce (row
// 21: DataLoss). The server asks every surviving client for self-mask shares only of U3 and
// mask-key shares only of U2 \ U3, so it never holds both secrets of one client.
//
// Thread-safety: thread-compatible; one thread (the round manager's strand) drives a server.

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/signature.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/messages.h"

namespace sotto::secagg {

enum class ServerPhase : uint8_t {
  kCollectingKeys = 0,
  kCollectingShares = 1,
  kCollectingMaskedInputs = 2,
  kCollectingUnmaskResponses = 3,
  kCompleted = 4,
  kAborted = 5,
};
const char* ServerPhaseName(ServerPhase phase);

// Why a client was dropped (for metrics).
enum class DropReason : uint8_t {
  kNone = 0,              // live
  kWrongPhase = 1,        // row 4
  kDuplicateMessage = 2,  // row 5
  kMalformedMessage = 3,  // rows 6, 7, 13-15
  kBadSignature = 4,      // AdvertiseKeys signature missing or wrong
  kNoResponse = 5,        // did not answer before Advance
  kTooFewNeighbours = 6,  // fewer than t live members of its closed neighbourhood
};
const char* DropReasonName(DropReason reason);

enum class ServerAbortReason : uint8_t {
  kTooFewSurvivors = 0,       // Aborted (row 19)
  kReconstructionFailed = 1,  // DataLoss (row 18)
  kAggregateOutOfRange = 2,   // DataLoss (row 21)
  kInternal = 3,
};
const char* ServerAbortReasonName(ServerAbortReason reason);

struct ServerAbort {
  ServerAbortReason reason;
  Status status;
};

struct ServerOptions {
  // Active-adversary mode when not empty: every AdvertiseKeys must carry an Ed25519 signature
  // (AdvertiseSignedBytes) by its sender's key here; a missing key or a bad signature drops the
  // sender (Unauthenticated).
  std::map<uint64_t, crypto::Ed25519PublicKey> signing_keys;
  // Most t-subsets tried per secret when the shares do not rebuild a secret that checks out.
  uint32_t max_reconstruction_attempts = 256;
  // Threads (1 = the calling thread only) for adding and range-checking each masked input, for
  // rebuilding the secrets and removing the masks in the final Advance, and for its range check.
  // The result, and which refusal or abort is reported, do not depend on this.
  int num_threads = 1;
};

struct Outgoing {
  uint64_t to = 0;
  ServerMessage message;
};

namespace internal {
class ServerState;
}  // namespace internal

class SecAggServer {
 public:
  // InvalidArgument for a bad config (ValidateRoundConfig).
  static StatusOr<std::unique_ptr<SecAggServer>> Create(const RoundConfig& config,
                                                        ServerOptions options = {});
  ~SecAggServer();
  SecAggServer(const SecAggServer&) = delete;
  SecAggServer& operator=(const SecAggServer&) = delete;

  ServerPhase phase() const;

  // See the file comment.
  Status Handle(uint64_t from, ClientMessage message);

  // Every client the current phase waits for has answered or been dropped.
  bool ReadyToAdvance() const;

  // Ends the current phase (see the file comment) and returns the messages to send: the next
  // phase's requests, or AbortRound to every live client when the round aborts, or nothing
  // when it completes. FailedPrecondition in a terminal phase.
  StatusOr<std::vector<Outgoing>> Advance();

  // The aggregate; non-null only in kCompleted.
  const AggregateResult* result() const;
  // Set once the round has aborted.
  const std::optional<ServerAbort>& abort() const { return abort_; }

  // Whether `id` is a selected client that has not been dropped.
  bool IsLive(uint64_t id) const;
  // Whether `id` has sent its message of the current phase (AdvertiseKeys while keys are
  // collected, ...); false for an unknown client and in a terminal phase.
  bool AnsweredThisPhase(uint64_t id) const;
  // kNone for a live (or unknown) client.
  DropReason drop_reason(uint64_t id) const;
  // Live clients, ascending.
  std::vector<uint64_t> LiveClients() const;

 private:
  explicit SecAggServer(std::unique_ptr<internal::ServerState> state);

  std::unique_ptr<internal::ServerState> state_;
  std::optional<ServerAbort> abort_;
};

}  // namespace sotto::secagg
