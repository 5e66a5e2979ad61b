#pragma once

// The client's two terminal states. Both drop the round's data (its secrets are wiped by their
// destructors). SecAggClient answers messages in these phases itself (see client.h), so their
// Handle is never reached in normal use; it reports kWrongPhase.

#include "client_state.h"

namespace sotto::secagg::internal {

class ClientCompletedState final : public ClientState {
 public:
  ClientCompletedState() : ClientState(nullptr) {}
  ClientPhase phase() const override { return ClientPhase::kCompleted; }

 protected:
  ClientOutcome HandleOwn(const ServerMessage& message) override;
  int OwnMessageIndex() const override { return -1; }
};

class ClientAbortedState final : public ClientState {
 public:
  ClientAbortedState() : ClientState(nullptr) {}
  ClientPhase phase() const override { return ClientPhase::kAborted; }

 protected:
  ClientOutcome HandleOwn(const ServerMessage& message) override;
  int OwnMessageIndex() const override { return -1; }
};

}  // namespace sotto::secagg::internal
