#pragma once

// Client phase 3 (Bonawitz et al. "Round 4 Unmasking"). Takes the UnmaskRequest and checks it
// (ValidateUnmaskRequest, row 16: a peer listed as both alive and dropped, an id it did not mask
// with, itself, or fewer than t - 1 alive peers makes it abort and send nothing). Otherwise it
// sends its shares of the self-mask seed of every alive peer and of itself, and of the mask
// secret key of every dropped peer. It answers one UnmaskRequest only, so it never reveals both
// kinds of share of the same peer. Next: ClientCompletedState.

#include <memory>

#include "client_state.h"

namespace sotto::secagg::internal {

class ClientUnmaskState final : public ClientState {
 public:
  explicit ClientUnmaskState(std::unique_ptr<ClientRoundData> data)
      : ClientState(std::move(data)) {}

  ClientPhase phase() const override { return ClientPhase::kUnmask; }

 protected:
  ClientOutcome HandleOwn(const ServerMessage& message) override;
  int OwnMessageIndex() const override { return 2; }  // UnmaskRequest
};

}  // namespace sotto::secagg::internal
