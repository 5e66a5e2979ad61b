#pragma once

// The coordinator's side of one round: the secure-aggregation server state machine plus the
// rules that need a clock or the round's identity, independent of the transport (the network
// layer hands messages in with the sender's authenticated identity; the in-memory transport does
// the same in tests and the simulator).
//
// Deliver(from, run_id, round_id, message) refuses with FailedPrecondition, before the protocol
// sees it, a message with a run id or round id other than this round's (BAD_INPUTS row 12: a
// replay, also one from before a restart): the message is dropped, the sender is not (a stale
// retransmission is not misbehaviour). Everything else goes to secagg::SecAggServer::Handle,
// which refuses a sender that was not selected or was already dropped with PermissionDenied
// (row 10; never revived) and drops the sender of any other refused message (rows 4-7, 13-15).
// Every refusal is counted by reason.
//
// Poll() ends the current phase when every awaited client has answered or the phase's deadline
// (from the moment the phase began) has passed, so a client that disappears mid-round never
// stalls the round past its deadline; the server then drops the silent clients and the round
// goes on with the survivors, or aborts if they are fewer than the threshold (row 19). Poll
// returns the messages to send (possibly none) and may be called at any time; the caller
// should call it again at next_deadline() or after each Deliver.
//
// Thread-safety: thread-compatible; one strand drives a round.

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sotto/base/clock.h"
#include "sotto/base/statusor.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/server.h"

namespace sotto::coordinator {

// One deadline per phase, measured from the start of the phase.
struct PhaseDeadlines {
  Clock::Duration advertise_keys = std::chrono::seconds(30);
  Clock::Duration share_keys = std::chrono::seconds(30);
  Clock::Duration masked_input = std::chrono::seconds(300);  // includes local training
  Clock::Duration unmask = std::chrono::seconds(30);
};

// Refusals counted by Deliver, for logs and metrics.
struct RefusalCounts {
  uint64_t replayed = 0;      // wrong run or round id (row 12)
  uint64_t not_selected = 0;  // unselected or already dropped (row 10)
  uint64_t protocol = 0;      // refused by the secure-aggregation server
};

class RoundManager {
 public:
  // `clock` is not owned and must outlive the manager. InvalidArgument for a bad config or a
  // non-positive deadline.
  static StatusOr<std::unique_ptr<RoundManager>> Create(secagg::RoundConfig config,
                                                        PhaseDeadlines deadlines, Clock* clock,
                                                        secagg::ServerOptions options = {});

  Status Deliver(uint64_t from, uint64_t run_id, uint64_t round_id, secagg::ClientMessage message);
  StatusOr<std::vector<secagg::Outgoing>> Poll();

  bool done() const;
  secagg::ServerPhase phase() const { return server_->phase(); }
  Clock::TimePoint next_deadline() const { return phase_start_ + CurrentDeadline(); }
  const secagg::SecAggServer& server() const { return *server_; }
  const secagg::RoundConfig& config() const { return config_; }
  const RefusalCounts& refusals() const { return refusals_; }
  // Seconds each finished phase took (keys, shares, masked inputs, unmask).
  const std::vector<double>& phase_seconds() const { return phase_seconds_; }

 private:
  RoundManager(secagg::RoundConfig config, PhaseDeadlines deadlines, Clock* clock,
               std::unique_ptr<secagg::SecAggServer> server);
  Clock::Duration CurrentDeadline() const;

  secagg::RoundConfig config_;
  PhaseDeadlines deadlines_;
  Clock* clock_;
  std::unique_ptr<secagg::SecAggServer> server_;
  Clock::TimePoint phase_start_;
  RefusalCounts refusals_;
  std::vector<double> phase_seconds_;
};

}  // namespace sotto::coordinator
