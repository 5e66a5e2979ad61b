#pragma once

// Server phase 3: collects UnmaskResponse from the live members of U3 and finishes the round.
// A response is accepted when it holds exactly the shares asked for (ValidateUnmaskResponse,
// row 15). Advance:
//   1. every member of U3 needs t self-mask-seed shares and every member of U2 \ U3 with a
//      neighbour in U3 t mask-key shares, else the round aborts (row 19);
//   2. each secret is rebuilt and checked, the seed against its commitment and the key against
//      the advertised public key, trying other t-subsets on a mismatch (ReconstructChecked);
//      none checks out: DataLoss abort (row 18), never a wrong sum;
//   3. the self masks of U3 and the pair masks between each dropped client and its neighbours
//      in U3 are removed from the running sum;
//   4. a sum that |U3| honest clients could not produce (an element of magnitude > |U3| M, a
//      weight outside [|U3|, |U3| max_weight]) aborts with DataLoss (row 21).
// Steps 2-4 use up to ServerOptions::num_threads threads: one job per secret in step 2 (the first
// failure in job order decides the abort), contiguous coordinate ranges in step 3 (each thread
// applies every seed to its own range), blocks of the sum in step 4 (the first bad element is
// reported). Nothing is reduced across threads, so the outcome does not depend on their number.
// Next: ServerCompletedState with the AggregateResult.

#include <memory>
#include <optional>
#include <vector>

#include "masking.h"
#include "server_state.h"
#include "sotto/crypto/shamir.h"

namespace sotto::secagg::internal {

class ServerCollectUnmaskState final : public ServerState {
 public:
  ServerCollectUnmaskState(std::unique_ptr<ServerRoundData> data, MaskedSum sum,
                           std::vector<std::optional<UnmaskRequest>> requests);

  ServerPhase phase() const override { return ServerPhase::kCollectingUnmaskResponses; }
  ServerOutcome Advance() override;

 protected:
  int OwnMessageIndex() const override { return 3; }  // UnmaskResponse
  Status Accept(uint32_t index, ClientMessage message, DropReason* reason) override;

 private:
  MaskedSum sum_;
  std::vector<std::optional<UnmaskRequest>> requests_;         // by client index
  std::vector<std::vector<crypto::ShamirShare>> seed_shares_;  // by owner index
  std::vector<std::vector<crypto::ShamirShare>> key_shares_;   // by owner index
};

}  // namespace sotto::secagg::internal
