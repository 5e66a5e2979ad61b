#include "sotto/coordinator/round_manager.h"

#include <utility>

#include "sotto/base/status_macros.h"

namespace sotto::coordinator {

StatusOr<std::unique_ptr<RoundManager>> RoundManager::Create(secagg::RoundConfig config,
                                                             PhaseDeadlines deadlines, Clock* clock,
                                                             secagg::ServerOptions options) {
  if (clock == nullptr) return InvalidArgumentError("round manager: clock is null");
  for (Clock::Duration d :
       {deadlines.advertise_keys, deadlines.share_keys, deadlines.masked_input, deadlines.unmask}) {
    if (d <= Clock::Duration::zero()) {
      return InvalidArgumentError("round manager: every phase deadline must be positive");
    }
  }
  ASSIGN_OR_RETURN(std::unique_ptr<secagg::SecAggServer> server,
                   secagg::SecAggServer::Create(config, std::move(options)));
  return std::unique_ptr<RoundManager>(
      new RoundManager(std::move(config), deadlines, clock, std::move(server)));
}

RoundManager::RoundManager(secagg::RoundConfig config, PhaseDeadlines deadlines, Clock* clock,
                           std::unique_ptr<secagg::SecAggServer> server)
    : config_(std::move(config)),
      deadlines_(deadlines),
      clock_(clock),
      server_(std::move(server)),
      phase_start_(clock->Now()) {}

bool RoundManager::done() const {
  return server_->phase() == secagg::ServerPhase::kCompleted ||
         server_->phase() == secagg::ServerPhase::kAborted;
}

Clock::Duration RoundManager::CurrentDeadline() const {
  switch (server_->phase()) {
    case secagg::ServerPhase::kCollectingKeys:
      return deadlines_.advertise_keys;
    case secagg::ServerPhase::kCollectingShares:
      return deadlines_.share_keys;
    case secagg::ServerPhase::kCollectingMaskedInputs:
      return deadlines_.masked_input;
    case secagg::ServerPhase::kCollectingUnmaskResponses:
      return deadlines_.unmask;
    case secagg::ServerPhase::kCompleted:
    case secagg::ServerPhase::kAborted:
      break;
  }
  return Clock::Duration::max() / 2;  // nothing to wait for
}

Status RoundManager::Deliver(uint64_t from, uint64_t run_id, uint64_t round_id,
                             secagg::ClientMessage message) {
  if (run_id != config_.run_id || round_id != config_.round_id) {
    ++refusals_.replayed;
    return FailedPreconditionError(
        "round manager: a " + std::string(secagg::MessageName(message)) + " from client " +
        std::to_string(from) + " for run " + std::to_string(run_id) + " round " +
        std::to_string(round_id) + "; this is run " + std::to_string(config_.run_id) + " round " +
        std::to_string(config_.round_id) + " (replay or stale message, dropped)");
  }
  // The server refuses strangers and dropped clients with PermissionDenied (row 10) and
  // everything else it will not take with another code; count them apart.
  Status handled = server_->Handle(from, std::move(message));
  if (handled.code() == StatusCode::kPermissionDenied) {
    ++refusals_.not_selected;
  } else if (!handled.ok()) {
    ++refusals_.protocol;
  }
  return handled;
}

StatusOr<std::vector<secagg::Outgoing>> RoundManager::Poll() {
  if (done()) return std::vector<secagg::Outgoing>();
  const Clock::TimePoint now = clock_->Now();
  if (!server_->ReadyToAdvance() && now < phase_start_ + CurrentDeadline()) {
    return std::vector<secagg::Outgoing>();
  }
  ASSIGN_OR_RETURN(std::vector<secagg::Outgoing> out, server_->Advance());
  const Clock::TimePoint end = clock_->Now();
  phase_seconds_.push_back(SecondsBetween(phase_start_, end));
  phase_start_ = end;
  return out;
}

}  // namespace sotto::coordinator
