#pragma once

// Client phase 1 (Bonawitz et al. "Round 1 ShareKeys"). Takes the ShareKeysRequest (the
// public keys of this client's neighbours in U1), checks it (ValidateShareKeysRequest: keys
// valid and distinct, only neighbours, at least t - 1 of them), Shamir-splits the self-mask
// seed and the mask secret key t-of-|N[u]|, and sends each listed neighbour its two shares in an
// AEAD envelope keyed by DerivePairSeed(kShareEncryption) and bound to (run, round, sender,
// recipient). Keeps its own shares, and the mask seeds DerivePairSeed(kMask) of all listed
// neighbours, computed in the same batch as the envelope keys. Next: ClientMaskedInputState.

#include <memory>

#include "client_state.h"

namespace sotto::secagg::internal {

class ClientShareKeysState final : public ClientState {
 public:
  explicit ClientShareKeysState(std::unique_ptr<ClientRoundData> data)
      : ClientState(std::move(data)) {}

  ClientPhase phase() const override { return ClientPhase::kShareKeys; }

 protected:
  ClientOutcome HandleOwn(const ServerMessage& message) override;
  int OwnMessageIndex() const override { return 0; }  // ShareKeysRequest
};

}  // namespace sotto::secagg::internal
