#include "server_terminal_states.h"

namespace sotto::secagg::internal {

ServerOutcome ServerCompletedState::Advance() {
  return MakeServerAbort(ServerAbortReason::kInternal,
                         FailedPreconditionError("Advance after the round completed"));
}

Status ServerCompletedState::Accept(uint32_t, ClientMessage, DropReason*) {
  return FailedPreconditionError("the round has completed");
}

ServerOutcome ServerAbortedState::Advance() {
  return MakeServerAbort(ServerAbortReason::kInternal,
                         FailedPreconditionError("Advance after the round aborted"));
}

Status ServerAbortedState::Accept(uint32_t, ClientMessage, DropReason*) {
  return FailedPreconditionError("the round has aborted");
}

}  // namespace sotto::secagg::internal
