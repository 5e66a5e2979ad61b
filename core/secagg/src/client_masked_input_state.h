#pragma once

// Client phase 2 (Bonawitz et al. "Round 2 MaskedInputCollection"). Takes the
// MaskedInputRequest (envelopes from the neighbours in U2), checks it
// (ValidateMaskedInputRequest), opens every envelope (an AEAD failure, or a sender / recipient
// inside that differs from the envelope, aborts with kBadShareEnvelope: row 17; the server
// cannot redirect or forge shares), keeps the shares, and sends
//   y = x + PRG(b_u) + sum_{v in U2 n N(u)} (u < v ? +PRG(s_uv) : -PRG(s_uv))   (mod 2^w)
// on the support, with the weight masked by the seeds' weight stream; the pair seeds s_uv were
// derived at ShareKeys (ClientPeer::mask_seed). The plaintext input is dropped afterwards.
// Next: ClientUnmaskState.

#include <memory>

#include "client_state.h"

namespace sotto::secagg::internal {

class ClientMaskedInputState final : public ClientState {
 public:
  explicit ClientMaskedInputState(std::unique_ptr<ClientRoundData> data)
      : ClientState(std::move(data)) {}

  ClientPhase phase() const override { return ClientPhase::kMaskedInput; }

 protected:
  ClientOutcome HandleOwn(const ServerMessage& message) override;
  int OwnMessageIndex() const override { return 1; }  // MaskedInputRequest
};

}  // namespace sotto::secagg::internal
