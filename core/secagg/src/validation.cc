#include "sotto/secagg/validation.h"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include "sotto/base/status_macros.h"
#include "sotto/crypto/shamir.h"

namespace sotto::secagg {
namespace {

constexpr std::string_view kAdvertiseLabel = "sotto/secagg/advertise/v1";

void AppendU64(std::vector<uint8_t>& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) {
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  }
}

// Strictly ascending ids.
bool StrictlyAscending(std::span<const uint64_t> ids) {
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i - 1] >= ids[i]) {
      return false;
    }
  }
  return true;
}

bool Contains(std::span<const uint64_t> sorted, uint64_t id) {
  return std::binary_search(sorted.begin(), sorted.end(), id);
}

StatusOr<crypto::X25519PublicKey> ParseKey(const std::vector<uint8_t>& bytes,
                                           std::string_view what) {
  auto key = crypto::X25519PublicKey::FromBytes(bytes);
  if (!key.ok()) {
    return key.status().WithContext(what);
  }
  return key;
}

Status TooFew(std::string_view what, size_t have, uint32_t threshold) {
  return AbortedError(std::string(what) + ": " + std::to_string(have + 1) +
                      " live members of the closed neighbourhood, threshold " +
                      std::to_string(threshold));
}

}  // namespace

StatusOr<ParsedAdvertiseKeys> ValidateAdvertiseKeys(const AdvertiseKeys& message) {
  ASSIGN_OR_RETURN(auto mask_key, ParseKey(message.mask_public_key, "mask public key"));
  ASSIGN_OR_RETURN(auto encryption_key,
                   ParseKey(message.encryption_public_key, "encryption public key"));
  if (mask_key == encryption_key) {
    return InvalidArgumentError("AdvertiseKeys: the two public keys are equal");
  }
  if (message.seed_commitment.size() != kSeedCommitmentBytes) {
    return InvalidArgumentError("AdvertiseKeys: seed commitment has " +
                                std::to_string(message.seed_commitment.size()) + " bytes");
  }
  ParsedAdvertiseKeys parsed{mask_key, encryption_key, {}, std::nullopt};
  std::copy(message.seed_commitment.begin(), message.seed_commitment.end(),
            parsed.seed_commitment.begin());
  if (!message.signature.empty()) {
    auto signature = crypto::Ed25519Signature::FromBytes(message.signature);
    if (!signature.ok()) {
      return signature.status().WithContext("AdvertiseKeys signature");
    }
    parsed.signature = *signature;
  }
  return parsed;
}

std::vector<uint8_t> AdvertiseSignedBytes(const RoundConfig& config, uint64_t client_id,
                                          const AdvertiseKeys& message) {
  std::vector<uint8_t> out(kAdvertiseLabel.begin(), kAdvertiseLabel.end());
  AppendU64(out, config.run_id);
  AppendU64(out, config.round_id);
  AppendU64(out, client_id);
  // Lengths are fixed once validated; include them so that no two field splits collide.
  for (const auto* field :
       {&message.mask_public_key, &message.encryption_public_key, &message.seed_commitment}) {
    AppendU64(out, field->size());
    out.insert(out.end(), field->begin(), field->end());
  }
  return out;
}

Status ValidateShareKeysResponse(const ShareKeysResponse& message,
                                 std::span<const uint64_t> recipients) {
  if (message.shares.size() != recipients.size()) {
    return InvalidArgumentError("ShareKeysResponse: " + std::to_string(message.shares.size()) +
                                " ciphertexts, want " + std::to_string(recipients.size()));
  }
  std::set<uint64_t> seen;
  for (const auto& share : message.shares) {
    if (!Contains(recipients, share.peer_id)) {
      return InvalidArgumentError("ShareKeysResponse: recipient " + std::to_string(share.peer_id) +
                                  " is not a listed neighbour");
    }
    if (!seen.insert(share.peer_id).second) {
      return InvalidArgumentError("ShareKeysResponse: recipient " + std::to_string(share.peer_id) +
                                  " repeated");
    }
    if (share.ciphertext.size() != kShareCiphertextBytes) {
      return InvalidArgumentError("ShareKeysResponse: ciphertext for " +
                                  std::to_string(share.peer_id) + " has " +
                                  std::to_string(share.ciphertext.size()) + " bytes, want " +
                                  std::to_string(kShareCiphertextBytes));
    }
  }
  return OkStatus();
}

Status ValidateMaskedInput(const MaskedInput& message, size_t support_size, crypto::Ring ring) {
  if (message.values.size() != support_size) {
    return InvalidArgumentError("MaskedInput: " + std::to_string(message.values.size()) +
                                " values, support has " + std::to_string(support_size));
  }
  const uint64_t max_element = RingMaxElement(ring);
  if (max_element != ~uint64_t{0}) {
    // One pass that the compiler vectorises; the position is found only on failure.
    uint64_t any = 0;
    for (uint64_t v : message.values) {
      any |= v > max_element ? 1 : 0;
    }
    if (any != 0) {
      auto it = std::find_if(message.values.begin(), message.values.end(),
                             [&](uint64_t v) { return v > max_element; });
      return InvalidArgumentError("MaskedInput: value " +
                                  std::to_string(it - message.values.begin()) + " >= ring modulus");
    }
    if (message.weight > max_element) {
      return InvalidArgumentError("MaskedInput: weight >= ring modulus");
    }
  }
  return OkStatus();
}

Status ValidateUnmaskResponse(const UnmaskResponse& message, uint64_t sender,
                              const UnmaskRequest& asked) {
  std::vector<uint64_t> want_seeds(asked.alive.begin(), asked.alive.end());
  want_seeds.push_back(sender);
  std::sort(want_seeds.begin(), want_seeds.end());
  std::set<uint64_t> seed_owners;
  for (const auto& share : message.self_mask_seed_shares) {
    if (!std::binary_search(want_seeds.begin(), want_seeds.end(), share.owner_id)) {
      return InvalidArgumentError("UnmaskResponse: self-mask share for " +
                                  std::to_string(share.owner_id) + ", which was not asked for");
    }
    if (!seed_owners.insert(share.owner_id).second) {
      return InvalidArgumentError("UnmaskResponse: two self-mask shares for " +
                                  std::to_string(share.owner_id));
    }
    if (share.value.size() != crypto::kShamirShareBytes) {
      return InvalidArgumentError("UnmaskResponse: share of " + std::to_string(share.owner_id) +
                                  " has the wrong length");
    }
  }
  std::set<uint64_t> key_owners;
  for (const auto& share : message.mask_key_shares) {
    if (seed_owners.count(share.owner_id) != 0) {
      return InvalidArgumentError("UnmaskResponse: both kinds of share for " +
                                  std::to_string(share.owner_id));
    }
    if (!Contains(asked.dropped, share.owner_id)) {
      return InvalidArgumentError("UnmaskResponse: mask-key share for " +
                                  std::to_string(share.owner_id) + ", which was not asked for");
    }
    if (!key_owners.insert(share.owner_id).second) {
      return InvalidArgumentError("UnmaskResponse: two mask-key shares for " +
                                  std::to_string(share.owner_id));
    }
    if (share.value.size() != crypto::kShamirShareBytes) {
      return InvalidArgumentError("UnmaskResponse: share of " + std::to_string(share.owner_id) +
                                  " has the wrong length");
    }
  }
  if (seed_owners.size() != want_seeds.size() || key_owners.size() != asked.dropped.size()) {
    return InvalidArgumentError(
        "UnmaskResponse: missing shares (" + std::to_string(seed_owners.size()) + " of " +
        std::to_string(want_seeds.size()) + " self-mask, " + std::to_string(key_owners.size()) +
        " of " + std::to_string(asked.dropped.size()) + " mask-key)");
  }
  return OkStatus();
}

StatusOr<std::vector<ParsedPeerKeys>> ValidateShareKeysRequest(
    const ShareKeysRequest& message, const NeighbourGraph& graph, uint64_t self,
    const crypto::X25519PublicKey& own_mask_key, const crypto::X25519PublicKey& own_encryption_key,
    uint32_t threshold) {
  std::vector<ParsedPeerKeys> peers;
  peers.reserve(message.peers.size());
  std::set<crypto::X25519PublicKey> keys = {own_mask_key, own_encryption_key};
  for (size_t i = 0; i < message.peers.size(); ++i) {
    const PeerKeys& peer = message.peers[i];
    if (i > 0 && message.peers[i - 1].id >= peer.id) {
      return InvalidArgumentError("ShareKeysRequest: peers not strictly ascending");
    }
    if (peer.id == self) {
      return InvalidArgumentError("ShareKeysRequest: lists the recipient itself");
    }
    if (!graph.AreNeighbours(self, peer.id)) {
      return InvalidArgumentError("ShareKeysRequest: " + std::to_string(peer.id) +
                                  " is not a neighbour");
    }
    ASSIGN_OR_RETURN(auto mask_key, ParseKey(peer.mask_public_key, "peer mask key"));
    ASSIGN_OR_RETURN(auto encryption_key,
                     ParseKey(peer.encryption_public_key, "peer encryption key"));
    if (!keys.insert(mask_key).second || !keys.insert(encryption_key).second) {
      return InvalidArgumentError("ShareKeysRequest: public key of " + std::to_string(peer.id) +
                                  " repeats another key");
    }
    peers.push_back({peer.id, mask_key, encryption_key});
  }
  if (peers.size() + 1 < threshold) {
    return TooFew("ShareKeysRequest", peers.size(), threshold);
  }
  return peers;
}

Status ValidateMaskedInputRequest(const MaskedInputRequest& message,
                                  std::span<const uint64_t> peers, uint32_t threshold) {
  for (size_t i = 0; i < message.shares.size(); ++i) {
    const auto& share = message.shares[i];
    if (i > 0 && message.shares[i - 1].peer_id >= share.peer_id) {
      return InvalidArgumentError("MaskedInputRequest: senders not strictly ascending");
    }
    if (!Contains(peers, share.peer_id)) {
      return InvalidArgumentError("MaskedInputRequest: " + std::to_string(share.peer_id) +
                                  " is not a peer of ShareKeysRequest");
    }
    if (share.ciphertext.size() != kShareCiphertextBytes) {
      return InvalidArgumentError("MaskedInputRequest: ciphertext from " +
                                  std::to_string(share.peer_id) + " has the wrong length");
    }
  }
  if (message.shares.size() + 1 < threshold) {
    return TooFew("MaskedInputRequest", message.shares.size(), threshold);
  }
  return OkStatus();
}

Status ValidateUnmaskRequest(const UnmaskRequest& message, uint64_t self,
                             std::span<const uint64_t> peers, uint32_t threshold) {
  if (!StrictlyAscending(message.alive) || !StrictlyAscending(message.dropped)) {
    return InvalidArgumentError("UnmaskRequest: lists not strictly ascending");
  }
  for (const auto* list : {&message.alive, &message.dropped}) {
    for (uint64_t id : *list) {
      if (id == self) {
        return InvalidArgumentError("UnmaskRequest: lists the recipient itself");
      }
      if (!Contains(peers, id)) {
        return InvalidArgumentError("UnmaskRequest: " + std::to_string(id) +
                                    " is not a peer the client masked with");
      }
    }
  }
  for (uint64_t id : message.alive) {
    if (Contains(message.dropped, id)) {
      return InvalidArgumentError("UnmaskRequest: " + std::to_string(id) +
                                  " is listed as alive and dropped");
    }
  }
  if (message.alive.size() + 1 < threshold) {
    return TooFew("UnmaskRequest", message.alive.size(), threshold);
  }
  return OkStatus();
}

}  // namespace sotto::secagg
