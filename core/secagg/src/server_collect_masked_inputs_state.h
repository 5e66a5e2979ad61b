#pragma once

// Server phase 2: collects MaskedInput from U2 and adds each accepted one to a running sum at
// once (server memory O(|S|), not O(n |S|)). A message is accepted when it has |S| values, each
// and the weight below the modulus (ValidateMaskedInput, rows 6, 7); nothing is added from a
// refused one. The range check rides along with the addition (one pass over the values, split
// over ServerOptions::num_threads from 2^18 elements per thread); a refused input is subtracted
// again. Advance: U3 = the clients whose input is in the sum; fewer than t aborts
// (row 19), as does a member of U3 (or a dropped member of U2 with a neighbour in U3) whose
// closed neighbourhood holds fewer than t live members of U3, since its secret could not be
// rebuilt. Each live member of U3 gets an UnmaskRequest: its neighbours in U3 as alive and in
// U2 \ U3 as dropped. Next: ServerCollectUnmaskState.

#include <memory>

#include "masking.h"
#include "server_state.h"

namespace sotto::secagg::internal {

class ServerCollectMaskedInputsState final : public ServerState {
 public:
  explicit ServerCollectMaskedInputsState(std::unique_ptr<ServerRoundData> data);

  ServerPhase phase() const override { return ServerPhase::kCollectingMaskedInputs; }
  ServerOutcome Advance() override;

 protected:
  int OwnMessageIndex() const override { return 2; }  // MaskedInput
  Status Accept(uint32_t index, ClientMessage message, DropReason* reason) override;

 private:
  MaskedSum sum_;
};

}  // namespace sotto::secagg::internal
