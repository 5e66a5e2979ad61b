#include "server_collect_keys_state.h"

#include <string>
#include <utility>

#include "server_collect_shares_state.h"
#include "sotto/base/status_macros.h"
#include "sotto/crypto/signature.h"

namespace sotto::secagg::internal {

Status ServerCollectKeysState::Accept(uint32_t index, ClientMessage message, DropReason* reason) {
  ServerRoundData& d = data();
  const auto& advertise = std::get<AdvertiseKeys>(message);
  ASSIGN_OR_RETURN(auto keys, ValidateAdvertiseKeys(advertise));
  const uint64_t id = d.clients[index].id;
  if (!d.options.signing_keys.empty()) {
    *reason = DropReason::kBadSignature;
    auto key = d.options.signing_keys.find(id);
    if (key == d.options.signing_keys.end()) {
      return UnauthenticatedError("no signing key is known for client " + std::to_string(id));
    }
    if (!keys.signature.has_value()) {
      return UnauthenticatedError("AdvertiseKeys is not signed");
    }
    RETURN_IF_ERROR(crypto::VerifyEd25519(
        key->second, AdvertiseSignedBytes(d.config, id, advertise), *keys.signature));
    *reason = DropReason::kMalformedMessage;
  }
  if (seen_keys_.count(keys.mask_key) != 0 || seen_keys_.count(keys.encryption_key) != 0) {
    return InvalidArgumentError("AdvertiseKeys: a public key equals another client's");
  }
  seen_keys_.insert(keys.mask_key);
  seen_keys_.insert(keys.encryption_key);
  d.clients[index].keys = std::move(keys);
  return OkStatus();
}

ServerOutcome ServerCollectKeysState::Advance() {
  ServerRoundData& d = data();
  d.DropSilent();
  auto has_keys = [](const ServerClient& c) { return c.keys.has_value(); };
  const auto pruned = d.PruneToThreshold(has_keys);
  const size_t left = d.CountLive(has_keys) - pruned.size();
  if (left < d.config.threshold) {
    return MakeServerAbort(
        ServerAbortReason::kTooFewSurvivors,
        AbortedError("AdvertiseKeys: " + std::to_string(left) + " clients left, threshold " +
                     std::to_string(d.config.threshold)));
  }
  std::vector<Outgoing> out;
  d.DropPruned(pruned, out);
  for (uint32_t i = 0; i < d.clients.size(); ++i) {
    d.clients[i].in_u1 = d.clients[i].live;
  }
  for (uint32_t i = 0; i < d.clients.size(); ++i) {
    if (!d.clients[i].in_u1) {
      continue;
    }
    ShareKeysRequest request;
    for (uint32_t j : d.graph.ClosedNeighbourhoodIndices(i)) {
      const ServerClient& peer = d.clients[j];
      if (j == i || !peer.in_u1) {
        continue;
      }
      const auto& mask = peer.keys->mask_key.bytes();
      const auto& encryption = peer.keys->encryption_key.bytes();
      request.peers.push_back({peer.id, std::vector<uint8_t>(mask.begin(), mask.end()),
                               std::vector<uint8_t>(encryption.begin(), encryption.end())});
    }
    out.push_back({d.clients[i].id, ServerMessage(std::move(request))});
  }
  d.ResetPhase();
  return ServerTransition{std::make_unique<ServerCollectSharesState>(TakeData()), std::move(out)};
}

}  // namespace sotto::secagg::internal
