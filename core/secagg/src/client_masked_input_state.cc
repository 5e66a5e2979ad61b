#include "client_masked_input_state.h"

#include <algorithm>
#include <utility>

#include "client_unmask_state.h"
#include "masking.h"
#include "sotto/crypto/aead.h"
#include "sotto/crypto/shamir.h"

namespace sotto::secagg::internal {

ClientOutcome ClientMaskedInputState::HandleOwn(const ServerMessage& message) {
  ClientRoundData& d = data();
  const auto& request = std::get<MaskedInputRequest>(message);
  std::vector<uint64_t> peer_ids;
  peer_ids.reserve(d.peers.size());
  for (const auto& peer : d.peers) {
    peer_ids.push_back(peer.id);
  }
  if (Status status = ValidateMaskedInputRequest(request, peer_ids, d.config.threshold);
      !status.ok()) {
    return AbortFromValidation(std::move(status));
  }

  // Open every envelope before masking anything: one bad envelope aborts the whole phase.
  std::vector<HeldShares> held;
  held.reserve(request.shares.size());
  std::vector<const ClientPeer*> senders;
  for (const auto& envelope : request.shares) {
    auto it = std::lower_bound(peer_ids.begin(), peer_ids.end(), envelope.peer_id);
    const ClientPeer& peer = d.peers[it - peer_ids.begin()];
    auto opened = crypto::AeadOpen(peer.envelope_key, MakeAeadContext(d.config, peer.id, d.self_id),
                                   envelope.ciphertext);
    if (!opened.ok()) {
      return MakeClientAbort(
          ClientAbortReason::kBadShareEnvelope,
          opened.status().WithContext("envelope from " + std::to_string(peer.id)));
    }
    const auto bytes = opened->bytes();
    if (bytes.size() != kSharePlaintextBytes || LoadLe64(bytes.data()) != peer.id ||
        LoadLe64(bytes.data() + 8) != d.self_id) {
      return MakeClientAbort(ClientAbortReason::kBadShareEnvelope,
                             InvalidArgumentError("envelope from " + std::to_string(peer.id) +
                                                  " names another sender or recipient inside"));
    }
    HeldShares shares;
    shares.owner_id = peer.id;
    shares.seed_share = crypto::SecretBytes::CopyFrom(bytes.subspan(16, crypto::kShamirShareBytes));
    shares.key_share = crypto::SecretBytes::CopyFrom(
        bytes.subspan(16 + crypto::kShamirShareBytes, crypto::kShamirShareBytes));
    held.push_back(std::move(shares));
    senders.push_back(&peer);
  }

  // Every mask in one pass per coordinate range (threads split the coordinates; the result is
  // the same for any thread count). The pair seeds of the senders were derived at ShareKeys.
  std::vector<MaskedSum::SeedOp> ops;
  ops.reserve(senders.size() + 1);
  ops.push_back({&*d.self_mask_seed, crypto::MaskOp::kAdd});
  for (const ClientPeer* peer : senders) {
    ops.push_back({&peer->mask_seed, PairMaskOp(d.self_id, peer->id)});
  }
  MaskedSum sum(d.config.fixed_point.ring, d.config.support.size());
  sum.Assign(d.input.values, d.input.weight);
  if (Status status =
          sum.ApplySeeds(ops, d.config.support, d.config.mask_indexing, d.options.num_threads);
      !status.ok()) {
    return MakeClientAbort(ClientAbortReason::kInternal, std::move(status));
  }
  MaskedInput reply{sum.Values(), sum.Weight()};
  d.held = std::move(held);
  d.input = ClientInput{};  // the plaintext is no longer needed
  return ClientTransition{std::make_unique<ClientUnmaskState>(TakeData()),
                          ClientMessage(std::move(reply))};
}

}  // namespace sotto::secagg::internal
