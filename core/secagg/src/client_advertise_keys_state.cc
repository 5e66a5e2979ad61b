#include "client_advertise_keys_state.h"

#include <utility>

#include "client_share_keys_state.h"
#include "masking.h"
#include "sotto/crypto/signature.h"

namespace sotto::secagg::internal {
namespace {

std::vector<uint8_t> ToVector(std::span<const uint8_t> bytes) {
  return std::vector<uint8_t>(bytes.begin(), bytes.end());
}

}  // namespace

ClientOutcome ClientAdvertiseKeysState::Start() {
  ClientRoundData& d = data();
  // Both key pairs in one batch (their two scalar multiplications side by side); the secret
  // keys are drawn in the same order as by two GenerateX25519KeyPair calls: mask, encryption.
  auto key_pairs = crypto::GenerateX25519KeyPairs(*d.random, 2);
  auto seed = crypto::Seed::Generate(*d.random);
  for (const Status& status : {key_pairs.status(), seed.status()}) {
    if (!status.ok()) {
      return MakeClientAbort(ClientAbortReason::kInternal, status);
    }
  }
  crypto::X25519KeyPair& mask_keys = (*key_pairs)[0];
  crypto::X25519KeyPair& encryption_keys = (*key_pairs)[1];
  AdvertiseKeys message;
  message.mask_public_key = ToVector(mask_keys.public_key.bytes());
  message.encryption_public_key = ToVector(encryption_keys.public_key.bytes());
  message.seed_commitment = ToVector(SeedCommitment(d.config, d.self_id, seed->bytes()));
  if (d.options.signing_key != nullptr) {
    auto signature = crypto::SignEd25519(*d.options.signing_key,
                                         AdvertiseSignedBytes(d.config, d.self_id, message));
    if (!signature.ok()) {
      return MakeClientAbort(ClientAbortReason::kInternal, signature.status());
    }
    message.signature = ToVector(signature->bytes());
  }
  d.mask_keys = std::move(mask_keys);
  d.encryption_keys = std::move(encryption_keys);
  d.self_mask_seed = std::move(seed).value();
  return ClientTransition{std::make_unique<ClientShareKeysState>(TakeData()),
                          ClientMessage(std::move(message))};
}

ClientOutcome ClientAdvertiseKeysState::HandleOwn(const ServerMessage& message) {
  // Unreachable: OwnMessageIndex() is -1, so ClientState::Handle answers every message.
  return MakeClientAbort(
      ClientAbortReason::kWrongPhase,
      FailedPreconditionError(std::string(MessageName(message)) + " before AdvertiseKeys"));
}

}  // namespace sotto::secagg::internal
