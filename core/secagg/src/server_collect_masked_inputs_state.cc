#include "server_collect_masked_inputs_state.h"

#include <string>
#include <utility>

#include "server_collect_unmask_state.h"
#include "sotto/base/status_macros.h"

namespace sotto::secagg::internal {

ServerCollectMaskedInputsState::ServerCollectMaskedInputsState(
    std::unique_ptr<ServerRoundData> data)
    : ServerState(std::move(data)),
      sum_(round_data()->config.fixed_point.ring, round_data()->config.support.size()) {}

Status ServerCollectMaskedInputsState::Accept(uint32_t index, ClientMessage message, DropReason*) {
  ServerRoundData& d = data();
  const auto& input = std::get<MaskedInput>(message);
  // The range check rides along with the addition (one pass over 8 bytes per element); a refused
  // input is taken out of the sum again, and ValidateMaskedInput then names what is wrong.
  if (input.values.size() != d.config.support.size() ||
      !sum_.AddIfInRing(input.values, input.weight, d.options.num_threads)) {
    RETURN_IF_ERROR(ValidateMaskedInput(input, d.config.support.size(), d.config.fixed_point.ring));
    return InternalError("MaskedInput: refused by the sum but not by ValidateMaskedInput");
  }
  d.clients[index].in_u3 = true;
  return OkStatus();
}

ServerOutcome ServerCollectMaskedInputsState::Advance() {
  ServerRoundData& d = data();
  d.DropSilent();
  const auto u3 = d.Select([](const ServerClient& c) { return c.in_u3; });
  if (u3.size() < d.config.threshold) {
    return MakeServerAbort(
        ServerAbortReason::kTooFewSurvivors,
        AbortedError("MaskedInput: " + std::to_string(u3.size()) + " inputs, threshold " +
                     std::to_string(d.config.threshold)));
  }
  // Every secret the unmasking needs must still have t live holders.
  for (uint32_t i = 0; i < d.clients.size(); ++i) {
    const ServerClient& c = d.clients[i];
    if (!c.in_u2) {
      continue;
    }
    size_t holders = 0;
    bool has_u3_neighbour = false;
    for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(i)) {
      const ServerClient& h = d.clients[j];
      if (h.in_u3 && h.live) {
        ++holders;
      }
      has_u3_neighbour = has_u3_neighbour || (j != i && h.in_u3);
    }
    const bool needed = c.in_u3 || has_u3_neighbour;
    if (needed && holders < d.config.threshold) {
      return MakeServerAbort(
          ServerAbortReason::kTooFewSurvivors,
          AbortedError("MaskedInput: the secret of client " + std::to_string(c.id) + " has " +
                       std::to_string(holders) + " live holders, threshold " +
                       std::to_string(d.config.threshold)));
    }
  }
  std::vector<Outgoing> out;
  std::vector<std::optional<UnmaskRequest>> requests(d.clients.size());
  for (uint32_t i = 0; i < d.clients.size(); ++i) {
    if (!d.clients[i].live || !d.clients[i].in_u3) {
      continue;
    }
    UnmaskRequest request;
    for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(i)) {
      const ServerClient& peer = d.clients[j];
      if (j == i || !peer.in_u2) {
        continue;
      }
      (peer.in_u3 ? request.alive : request.dropped).push_back(peer.id);
    }
    requests[i] = request;
    out.push_back({d.clients[i].id, ServerMessage(std::move(request))});
  }
  d.ResetPhase();
  return ServerTransition{
      std::make_unique<ServerCollectUnmaskState>(TakeData(), std::move(sum_), std::move(requests)),
      std::move(out)};
}

}  // namespace sotto::secagg::internal
