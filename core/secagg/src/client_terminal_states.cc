#include "client_terminal_states.h"

#include <string>

namespace sotto::secagg::internal {

ClientOutcome ClientCompletedState::HandleOwn(const ServerMessage& message) {
  return MakeClientAbort(
      ClientAbortReason::kWrongPhase,
      FailedPreconditionError(std::string(MessageName(message)) + " after the round completed"));
}

ClientOutcome ClientAbortedState::HandleOwn(const ServerMessage& message) {
  return MakeClientAbort(
      ClientAbortReason::kWrongPhase,
      FailedPreconditionError(std::string(MessageName(message)) + " after the client aborted"));
}

}  // namespace sotto::secagg::internal
