#include "sotto/secagg/server.h"

#include <string>
#include <utility>

#include "server_collect_keys_state.h"
#include "server_state.h"
#include "server_terminal_states.h"
#include "sotto/base/status_macros.h"

namespace sotto::secagg {

const char* ServerPhaseName(ServerPhase phase) {
  switch (phase) {
    case ServerPhase::kCollectingKeys:
      return "CollectingKeys";
    case ServerPhase::kCollectingShares:
      return "CollectingShares";
    case ServerPhase::kCollectingMaskedInputs:
      return "CollectingMaskedInputs";
    case ServerPhase::kCollectingUnmaskResponses:
      return "CollectingUnmaskResponses";
    case ServerPhase::kCompleted:
      return "Completed";
    case ServerPhase::kAborted:
      return "Aborted";
  }
  return "Unknown";
}

const char* DropReasonName(DropReason reason) {
  switch (reason) {
    case DropReason::kNone:
      return "None";
    case DropReason::kWrongPhase:
      return "WrongPhase";
    case DropReason::kDuplicateMessage:
      return "DuplicateMessage";
    case DropReason::kMalformedMessage:
      return "MalformedMessage";
    case DropReason::kBadSignature:
      return "BadSignature";
    case DropReason::kNoResponse:
      return "NoResponse";
    case DropReason::kTooFewNeighbours:
      return "TooFewNeighbours";
  }
  return "Unknown";
}

const char* ServerAbortReasonName(ServerAbortReason reason) {
  switch (reason) {
    case ServerAbortReason::kTooFewSurvivors:
      return "TooFewSurvivors";
    case ServerAbortReason::kReconstructionFailed:
      return "ReconstructionFailed";
    case ServerAbortReason::kAggregateOutOfRange:
      return "AggregateOutOfRange";
    case ServerAbortReason::kInternal:
      return "Internal";
  }
  return "Unknown";
}

SecAggServer::SecAggServer(std::unique_ptr<internal::ServerState> state)
    : state_(std::move(state)) {}

SecAggServer::~SecAggServer() = default;

StatusOr<std::unique_ptr<SecAggServer>> SecAggServer::Create(const RoundConfig& config,
                                                             ServerOptions options) {
  RETURN_IF_ERROR(ValidateRoundConfig(config));
  ASSIGN_OR_RETURN(NeighbourGraph graph, NeighbourGraph::Create(config));
  ASSIGN_OR_RETURN(auto codec, crypto::FixedPointCodec::Create(config.fixed_point));
  auto data = std::make_unique<internal::ServerRoundData>(std::move(graph));
  data->config = config;
  data->options = std::move(options);
  data->max_magnitude = codec.max_magnitude();
  for (uint64_t id : data->graph.ids()) {
    internal::ServerClient client;
    client.id = id;
    data->clients.push_back(std::move(client));
  }
  return std::unique_ptr<SecAggServer>(
      new SecAggServer(std::make_unique<internal::ServerCollectKeysState>(std::move(data))));
}

ServerPhase SecAggServer::phase() const { return state_->phase(); }

Status SecAggServer::Handle(uint64_t from, ClientMessage message) {
  return state_->Handle(from, std::move(message));
}

bool SecAggServer::ReadyToAdvance() const { return state_->ReadyToAdvance(); }

StatusOr<std::vector<Outgoing>> SecAggServer::Advance() {
  if (phase() == ServerPhase::kCompleted || phase() == ServerPhase::kAborted) {
    return FailedPreconditionError(std::string("Advance in phase ") + ServerPhaseName(phase()));
  }
  internal::ServerOutcome outcome = state_->Advance();
  if (auto* failure = std::get_if<ServerAbort>(&outcome)) {
    auto data = state_->ReleaseData();
    std::vector<Outgoing> out;
    for (const auto& c : data->clients) {
      if (c.live) {
        out.push_back({c.id, ServerMessage(AbortRound{failure->status.ToString()})});
      }
    }
    state_ = std::make_unique<internal::ServerAbortedState>(std::move(data));
    abort_ = std::move(*failure);
    return out;
  }
  auto& transition = std::get<internal::ServerTransition>(outcome);
  state_ = std::move(transition.next);
  return std::move(transition.messages);
}

const AggregateResult* SecAggServer::result() const { return state_->result(); }

bool SecAggServer::IsLive(uint64_t id) const {
  const auto* d = state_->round_data();
  const int64_t index = d->graph.IndexOf(id);
  return index >= 0 && d->clients[index].live;
}

bool SecAggServer::AnsweredThisPhase(uint64_t id) const {
  if (phase() == ServerPhase::kCompleted || phase() == ServerPhase::kAborted) return false;
  const auto* d = state_->round_data();
  const int64_t index = d->graph.IndexOf(id);
  return index >= 0 && d->clients[index].sent_this_phase;
}

DropReason SecAggServer::drop_reason(uint64_t id) const {
  const auto* d = state_->round_data();
  const int64_t index = d->graph.IndexOf(id);
  return index < 0 ? DropReason::kNone : d->clients[index].drop_reason;
}

std::vector<uint64_t> SecAggServer::LiveClients() const {
  std::vector<uint64_t> out;
  for (const auto& c : state_->round_data()->clients) {
    if (c.live) {
      out.push_back(c.id);
    }
  }
  return out;
}

}  // namespace sotto::secagg
