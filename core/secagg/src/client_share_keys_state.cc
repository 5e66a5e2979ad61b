#include "client_share_keys_state.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "client_masked_input_state.h"
#include "masking.h"
#include "sotto/crypto/aead.h"
#include "sotto/crypto/shamir.h"

namespace sotto::secagg::internal {

ClientOutcome ClientShareKeysState::HandleOwn(const ServerMessage& message) {
  ClientRoundData& d = data();
  const auto& request = std::get<ShareKeysRequest>(message);
  auto peers = ValidateShareKeysRequest(request, d.graph, d.self_id, d.mask_keys->public_key,
                                        d.encryption_keys->public_key, d.config.threshold);
  if (!peers.ok()) {
    return AbortFromValidation(peers.status());
  }

  // Every pair seed of the round in one batch: the envelope key and the mask seed of each
  // neighbour (2 |N[u]| scalar multiplications side by side; crypto's DerivePairSeeds). The mask
  // seeds wait for MaskedInput; those of neighbours that drop before it are never used.
  std::vector<crypto::PairSeedRequest> requests;
  requests.reserve(2 * peers->size());
  for (const auto& peer : *peers) {
    requests.push_back(
        {&*d.encryption_keys, &peer.encryption_key,
         MakePairContext(d.config, d.self_id, peer.id, crypto::PairPurpose::kShareEncryption)});
    requests.push_back({&*d.mask_keys, &peer.mask_key,
                        MakePairContext(d.config, d.self_id, peer.id, crypto::PairPurpose::kMask)});
  }
  auto seeds = crypto::DerivePairSeeds(requests);
  if (!seeds.ok()) {
    return MakeClientAbort(ClientAbortReason::kMalformedRequest, seeds.status());
  }
  std::vector<ClientPeer> with_keys;
  with_keys.reserve(peers->size());
  for (size_t i = 0; i < peers->size(); ++i) {
    const auto& peer = (*peers)[i];
    with_keys.push_back({peer.id, peer.mask_key, peer.encryption_key, std::move((*seeds)[2 * i]),
                         std::move((*seeds)[2 * i + 1])});
  }

  const uint32_t num_shares = d.graph.num_shares();
  auto seed_shares =
      crypto::ShamirSplit(d.self_mask_seed->bytes(), d.config.threshold, num_shares, *d.random);
  if (!seed_shares.ok()) {
    return MakeClientAbort(ClientAbortReason::kInternal, seed_shares.status());
  }
  auto key_shares = crypto::ShamirSplit(d.mask_keys->secret_key.bytes(), d.config.threshold,
                                        num_shares, *d.random);
  if (!key_shares.ok()) {
    return MakeClientAbort(ClientAbortReason::kInternal, key_shares.status());
  }

  ShareKeysResponse response;
  response.shares.reserve(with_keys.size());
  for (const ClientPeer& peer : with_keys) {
    const uint32_t x = d.graph.ShareIndex(d.self_id, peer.id);
    // Validated neighbours always have an x; a zero would be our own bug.
    if (x == 0) {
      return MakeClientAbort(ClientAbortReason::kInternal,
                             InternalError("a validated neighbour has no share index"));
    }
    crypto::SecretBytes plaintext(kSharePlaintextBytes);
    uint8_t* p = plaintext.mutable_bytes().data();
    StoreLe64(d.self_id, p);
    StoreLe64(peer.id, p + 8);
    const auto seed_share = (*seed_shares)[x - 1].value.bytes();
    const auto key_share = (*key_shares)[x - 1].value.bytes();
    std::copy(seed_share.begin(), seed_share.end(), p + 16);
    std::copy(key_share.begin(), key_share.end(), p + 16 + crypto::kShamirShareBytes);
    auto sealed = crypto::AeadSeal(peer.envelope_key, MakeAeadContext(d.config, d.self_id, peer.id),
                                   plaintext.bytes(), *d.random);
    if (!sealed.ok()) {
      return MakeClientAbort(ClientAbortReason::kInternal, sealed.status());
    }
    response.shares.push_back({peer.id, std::move(sealed).value()});
  }
  const uint32_t own_x = d.graph.ShareIndex(d.self_id, d.self_id);
  d.own_seed_share = std::move((*seed_shares)[own_x - 1].value);
  d.own_key_share = std::move((*key_shares)[own_x - 1].value);
  d.peers = std::move(with_keys);
  return ClientTransition{std::make_unique<ClientMaskedInputState>(TakeData()),
                          ClientMessage(std::move(response))};
}

}  // namespace sotto::secagg::internal
