#include "client_state.h"

#include <string>
#include <utility>

namespace sotto::secagg::internal {

ClientAbort MakeClientAbort(ClientAbortReason reason, Status status) {
  return ClientAbort{reason, std::move(status)};
}

ClientAbort AbortFromValidation(Status status) {
  const ClientAbortReason reason = status.code() == StatusCode::kAborted
                                       ? ClientAbortReason::kTooFewNeighbours
                                       : ClientAbortReason::kMalformedRequest;
  return MakeClientAbort(reason, std::move(status));
}

ClientOutcome ClientState::Start() {
  return MakeClientAbort(
      ClientAbortReason::kWrongPhase,
      FailedPreconditionError(std::string("Start in phase ") + ClientPhaseName(phase())));
}

ClientOutcome ClientState::Handle(const ServerMessage& message) {
  if (std::holds_alternative<AbortRound>(message)) {
    return MakeClientAbort(
        ClientAbortReason::kServerAborted,
        AbortedError("the server aborted the round: " + std::get<AbortRound>(message).reason));
  }
  if (static_cast<int>(message.index()) != OwnMessageIndex()) {
    return MakeClientAbort(ClientAbortReason::kWrongPhase,
                           FailedPreconditionError(std::string(MessageName(message)) +
                                                   " in phase " + ClientPhaseName(phase())));
  }
  return HandleOwn(message);
}

}  // namespace sotto::secagg::internal
