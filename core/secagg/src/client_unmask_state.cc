#include "client_unmask_state.h"

#include <algorithm>
#include <utility>

#include "client_terminal_states.h"

namespace sotto::secagg::internal {

ClientOutcome ClientUnmaskState::HandleOwn(const ServerMessage& message) {
  ClientRoundData& d = data();
  const auto& request = std::get<UnmaskRequest>(message);
  std::vector<uint64_t> owners;
  owners.reserve(d.held.size());
  for (const auto& h : d.held) {
    owners.push_back(h.owner_id);
  }
  if (Status status = ValidateUnmaskRequest(request, d.self_id, owners, d.config.threshold);
      !status.ok()) {
    return AbortFromValidation(std::move(status));
  }
  auto held_of = [&](uint64_t id) -> const HeldShares& {
    return d.held[std::lower_bound(owners.begin(), owners.end(), id) - owners.begin()];
  };
  UnmaskResponse response;
  response.self_mask_seed_shares.push_back({d.self_id, d.own_seed_share.Clone()});
  for (uint64_t id : request.alive) {
    response.self_mask_seed_shares.push_back({id, held_of(id).seed_share.Clone()});
  }
  std::sort(response.self_mask_seed_shares.begin(), response.self_mask_seed_shares.end(),
            [](const RevealedShare& a, const RevealedShare& b) { return a.owner_id < b.owner_id; });
  for (uint64_t id : request.dropped) {
    response.mask_key_shares.push_back({id, held_of(id).key_share.Clone()});
  }
  return ClientTransition{std::make_unique<ClientCompletedState>(),
                          ClientMessage(std::move(response))};
}

}  // namespace sotto::secagg::internal
