#include "sotto/secagg/messages.h"

#include <type_traits>
#include <utility>

namespace sotto::secagg {

const char* MessageName(const ClientMessage& message) {
  static constexpr const char* kNames[] = {"AdvertiseKeys", "ShareKeysResponse", "MaskedInput",
                                           "UnmaskResponse"};
  return kNames[message.index()];
}

const char* MessageName(const ServerMessage& message) {
  static constexpr const char* kNames[] = {"ShareKeysRequest", "MaskedInputRequest",
                                           "UnmaskRequest", "AbortRound"};
  return kNames[message.index()];
}

namespace {

std::vector<RevealedShare> CloneShares(const std::vector<RevealedShare>& shares) {
  std::vector<RevealedShare> out;
  out.reserve(shares.size());
  for (const auto& share : shares) {
    out.push_back({share.owner_id, share.value.Clone()});
  }
  return out;
}

}  // namespace

UnmaskResponse Clone(const UnmaskResponse& message) {
  return {CloneShares(message.self_mask_seed_shares), CloneShares(message.mask_key_shares)};
}

ClientMessage CloneClientMessage(const ClientMessage& message) {
  return std::visit(
      [](const auto& m) -> ClientMessage {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, UnmaskResponse>) {
          UnmaskResponse copy{CloneShares(m.self_mask_seed_shares), CloneShares(m.mask_key_shares)};
          return ClientMessage(std::in_place_type<UnmaskResponse>, std::move(copy));
        } else {
          return m;
        }
      },
      message);
}

}  // namespace sotto::secagg
