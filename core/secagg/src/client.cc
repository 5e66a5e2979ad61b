#include "sotto/secagg/client.h"

#include <string>
#include <utility>

#include "client_advertise_keys_state.h"
#include "client_state.h"
#include "client_terminal_states.h"
#include "sotto/base/status_macros.h"

namespace sotto::secagg {

const char* ClientPhaseName(ClientPhase phase) {
  switch (phase) {
    case ClientPhase::kAdvertiseKeys:
      return "AdvertiseKeys";
    case ClientPhase::kShareKeys:
      return "ShareKeys";
    case ClientPhase::kMaskedInput:
      return "MaskedInput";
    case ClientPhase::kUnmask:
      return "Unmask";
    case ClientPhase::kCompleted:
      return "Completed";
    case ClientPhase::kAborted:
      return "Aborted";
  }
  return "Unknown";
}

const char* ClientAbortReasonName(ClientAbortReason reason) {
  switch (reason) {
    case ClientAbortReason::kWrongPhase:
      return "WrongPhase";
    case ClientAbortReason::kMalformedRequest:
      return "MalformedRequest";
    case ClientAbortReason::kTooFewNeighbours:
      return "TooFewNeighbours";
    case ClientAbortReason::kBadShareEnvelope:
      return "BadShareEnvelope";
    case ClientAbortReason::kServerAborted:
      return "ServerAborted";
    case ClientAbortReason::kInternal:
      return "Internal";
  }
  return "Unknown";
}

SecAggClient::SecAggClient(uint64_t self_id, std::unique_ptr<internal::ClientState> state)
    : self_id_(self_id), state_(std::move(state)) {}

SecAggClient::~SecAggClient() = default;

StatusOr<std::unique_ptr<SecAggClient>> SecAggClient::Create(const RoundConfig& config,
                                                             uint64_t self_id, ClientInput input,
                                                             Random& random,
                                                             ClientOptions options) {
  RETURN_IF_ERROR(ValidateRoundConfig(config));
  ASSIGN_OR_RETURN(NeighbourGraph graph, NeighbourGraph::Create(config));
  if (!graph.Contains(self_id)) {
    return InvalidArgumentError("client " + std::to_string(self_id) +
                                " is not selected for this round");
  }
  RETURN_IF_ERROR(ValidateClientInput(config, input));
  auto data = std::make_unique<internal::ClientRoundData>(std::move(graph));
  data->config = config;
  data->self_id = self_id;
  data->random = &random;
  data->options = options;
  data->input = std::move(input);
  return std::unique_ptr<SecAggClient>(new SecAggClient(
      self_id, std::make_unique<internal::ClientAdvertiseKeysState>(std::move(data))));
}

ClientPhase SecAggClient::phase() const { return state_->phase(); }

namespace {

// Applies an outcome: the new state and reply, or the abort.
StatusOr<std::optional<ClientMessage>> Apply(internal::ClientOutcome outcome,
                                             std::unique_ptr<internal::ClientState>& state,
                                             std::optional<ClientAbort>& abort) {
  if (auto* failure = std::get_if<ClientAbort>(&outcome)) {
    state = std::make_unique<internal::ClientAbortedState>();
    Status status = failure->status;
    abort = std::move(*failure);
    return status;
  }
  auto& transition = std::get<internal::ClientTransition>(outcome);
  state = std::move(transition.next);
  return std::move(transition.reply);
}

}  // namespace

StatusOr<ClientMessage> SecAggClient::Start() {
  if (phase() != ClientPhase::kAdvertiseKeys) {
    return FailedPreconditionError(std::string("Start in phase ") + ClientPhaseName(phase()));
  }
  StatusOr<std::optional<ClientMessage>> reply = Apply(state_->Start(), state_, abort_);
  if (!reply.ok()) {
    return reply.status();
  }
  if (!reply->has_value()) {
    return InternalError("AdvertiseKeys produced no message");
  }
  return std::move(**reply);
}

StatusOr<std::optional<ClientMessage>> SecAggClient::Handle(const ServerMessage& message) {
  switch (phase()) {
    case ClientPhase::kCompleted:
      if (std::holds_alternative<AbortRound>(message)) {
        return std::optional<ClientMessage>();
      }
      return FailedPreconditionError(std::string(MessageName(message)) +
                                     " after the client completed");
    case ClientPhase::kAborted:
      return FailedPreconditionError(std::string(MessageName(message)) +
                                     " after the client aborted");
    default:
      return Apply(state_->Handle(message), state_, abort_);
  }
}

}  // namespace sotto::secagg
