#pragma once

// Server phase 0: collects AdvertiseKeys. A message is accepted when ValidateAdvertiseKeys
// passes (row 13), when neither key equals a key another client already advertised (row 13:
// the later client is refused), and, with ServerOptions::signing_keys, when its signature
// verifies (Unauthenticated otherwise). Advance: U1 = the clients with keys; clients with fewer
// than t members of their closed neighbourhood in U1 are dropped; fewer than t left aborts
// (row 19). Each member of U1 gets a ShareKeysRequest with the keys of its neighbours in U1.
// Next: ServerCollectSharesState.

#include <memory>
#include <set>

#include "server_state.h"

namespace sotto::secagg::internal {

class ServerCollectKeysState final : public ServerState {
 public:
  explicit ServerCollectKeysState(std::unique_ptr<ServerRoundData> data)
      : ServerState(std::move(data)) {}

  ServerPhase phase() const override { return ServerPhase::kCollectingKeys; }
  ServerOutcome Advance() override;

 protected:
  int OwnMessageIndex() const override { return 0; }  // AdvertiseKeys
  Status Accept(uint32_t index, ClientMessage message, DropReason* reason) override;

 private:
  std::set<crypto::X25519PublicKey> seen_keys_;
};

}  // namespace sotto::secagg::internal
