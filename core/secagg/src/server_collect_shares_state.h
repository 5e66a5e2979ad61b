#pragma once

// Server phase 1: collects ShareKeysResponse from U1. A response is accepted when it holds
// exactly one ciphertext of the right length for each neighbour of the sender in U1
// (ValidateShareKeysResponse, row 14). Advance: U2 = the senders still live; clients with fewer
// than t members of their closed neighbourhood in U2 are dropped before anyone masks with them;
// fewer than t left aborts (row 19). Each member of U2 gets a MaskedInputRequest with the
// ciphertexts addressed to it by its neighbours in U2 (the server cannot open them).
// Next: ServerCollectMaskedInputsState.

#include <memory>
#include <vector>

#include "server_state.h"

namespace sotto::secagg::internal {

class ServerCollectSharesState final : public ServerState {
 public:
  explicit ServerCollectSharesState(std::unique_ptr<ServerRoundData> data);

  ServerPhase phase() const override { return ServerPhase::kCollectingShares; }
  ServerOutcome Advance() override;

 protected:
  int OwnMessageIndex() const override { return 1; }  // ShareKeysResponse
  Status Accept(uint32_t index, ClientMessage message, DropReason* reason) override;

 private:
  // The ids of client i's neighbours in U1, ascending.
  std::vector<uint64_t> Recipients(uint32_t index) const;

  // By sender index: its envelopes sorted by recipient.
  std::vector<std::vector<EncryptedShares>> envelopes_;
};

}  // namespace sotto::secagg::internal
