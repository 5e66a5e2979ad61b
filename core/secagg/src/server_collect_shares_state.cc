#include "server_collect_shares_state.h"

#include <algorithm>
#include <string>
#include <utility>

#include "server_collect_masked_inputs_state.h"
#include "sotto/base/status_macros.h"

namespace sotto::secagg::internal {

ServerCollectSharesState::ServerCollectSharesState(std::unique_ptr<ServerRoundData> data)
    : ServerState(std::move(data)) {
  envelopes_.resize(round_data()->clients.size());
}

std::vector<uint64_t> ServerCollectSharesState::Recipients(uint32_t index) const {
  const ServerRoundData& d = *round_data();
  std::vector<uint64_t> out;
  for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(index)) {
    if (j != index && d.clients[j].in_u1) {
      out.push_back(d.clients[j].id);
    }
  }
  return out;
}

Status ServerCollectSharesState::Accept(uint32_t index, ClientMessage message, DropReason*) {
  auto& response = std::get<ShareKeysResponse>(message);
  RETURN_IF_ERROR(ValidateShareKeysResponse(response, Recipients(index)));
  std::sort(
      response.shares.begin(), response.shares.end(),
      [](const EncryptedShares& a, const EncryptedShares& b) { return a.peer_id < b.peer_id; });
  envelopes_[index] = std::move(response.shares);
  return OkStatus();
}

ServerOutcome ServerCollectSharesState::Advance() {
  ServerRoundData& d = data();
  d.DropSilent();
  // Members of U2 so far: live members of U1 that sent their envelopes.
  for (uint32_t i = 0; i < d.clients.size(); ++i) {
    d.clients[i].in_u2 = d.clients[i].live && d.clients[i].in_u1;
  }
  auto in_u2 = [](const ServerClient& c) { return c.in_u2; };
  const auto pruned = d.PruneToThreshold(in_u2);
  const size_t left = d.CountLive(in_u2) - pruned.size();
  if (left < d.config.threshold) {
    return MakeServerAbort(
        ServerAbortReason::kTooFewSurvivors,
        AbortedError("ShareKeys: " + std::to_string(left) + " clients left, threshold " +
                     std::to_string(d.config.threshold)));
  }
  std::vector<Outgoing> out;
  d.DropPruned(pruned, out);
  for (auto& c : d.clients) {
    c.in_u2 = c.in_u2 && c.live;
  }
  for (uint32_t i = 0; i < d.clients.size(); ++i) {
    if (!d.clients[i].in_u2) {
      continue;
    }
    const uint64_t recipient = d.clients[i].id;
    MaskedInputRequest request;
    for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(i)) {
      if (j == i || !d.clients[j].in_u2) {
        continue;
      }
      auto& from = envelopes_[j];
      auto it =
          std::lower_bound(from.begin(), from.end(), recipient,
                           [](const EncryptedShares& e, uint64_t id) { return e.peer_id < id; });
      // Validated: every member of U2 sent one envelope to each neighbour in U1.
      if (it == from.end() || it->peer_id != recipient) {
        return MakeServerAbort(
            ServerAbortReason::kInternal,
            InternalError("missing envelope from " + std::to_string(d.clients[j].id)));
      }
      request.shares.push_back({d.clients[j].id, std::move(it->ciphertext)});
    }
    out.push_back({recipient, ServerMessage(std::move(request))});
  }
  d.ResetPhase();
  return ServerTransition{std::make_unique<ServerCollectMaskedInputsState>(TakeData()),
                          std::move(out)};
}

}  // namespace sotto::secagg::internal
