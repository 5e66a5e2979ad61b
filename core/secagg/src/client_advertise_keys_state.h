#pragma once

// Client phase 0 (Bonawitz et al. "Round 0 AdvertiseKeys"). Start() makes two fresh X25519
// key pairs (pairwise masks; share encryption) and a fresh self-mask seed b_u, and sends the
// public keys with the seed's commitment (signed when ClientOptions::signing_key is set).
// Next: ClientShareKeysState. Any server message before Start aborts (kWrongPhase).

#include <memory>

#include "client_state.h"

namespace sotto::secagg::internal {

class ClientAdvertiseKeysState final : public ClientState {
 public:
  explicit ClientAdvertiseKeysState(std::unique_ptr<ClientRoundData> data)
      : ClientState(std::move(data)) {}

  ClientPhase phase() const override { return ClientPhase::kAdvertiseKeys; }
  ClientOutcome Start() override;

 protected:
  ClientOutcome HandleOwn(const ServerMessage& message) override;
  int OwnMessageIndex() const override { return -1; }
};

}  // namespace sotto::secagg::internal
