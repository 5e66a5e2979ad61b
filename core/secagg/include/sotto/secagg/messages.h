#pragma once

// The messages of one secure-aggregation round, as plain structs (the protobuf schema and the
// frame codec come with the network issue; sotto/secagg/wire.h is a small byte format for
// fuzzing and tests). Fields that arrive from the other side are untrusted and are validated
// by sotto/secagg/validation.h before use; byte fields are std::vector so that a wrong length
// can be represented and refused.
//
// Client -> server (ClientMessage), in order:
//   AdvertiseKeys      two X25519 public keys (pairwise masks, share encryption), a BLAKE2b
//                      commitment to the self-mask seed, an optional Ed25519 signature.
//   ShareKeysResponse  for each neighbour listed in the ShareKeysRequest, one AEAD ciphertext
//                      of (sender, recipient, share of the self-mask seed, share of the mask
//                      secret key): see kSharePlaintextBytes.
//   MaskedInput        |S| ring elements (the input plus masks, mod 2^w) and the masked weight.
//   UnmaskResponse     shares of the self-mask seed of the alive neighbours (and its own) and
//                      shares of the mask secret key of the dropped ones.
// Server -> client (ServerMessage):
//   ShareKeysRequest   the public keys of the recipient's neighbours that advertised (U1).
//   MaskedInputRequest the ciphertexts addressed to the recipient by neighbours in U2.
//   UnmaskRequest      the recipient's neighbours that sent a masked input (alive, U3) and those
//                      that shared keys but did not (dropped, U2 \ U3).
//   AbortRound         the round ended without an aggregate.
// The sender of a client message is the transport's authenticated identity, not a field.
//
// Secrets: the shares inside UnmaskResponse are SecretBytes (a client reveals them on purpose,
// but they stay wiped and unprintable), so UnmaskResponse and ClientMessage are move-only.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "sotto/crypto/aead.h"
#include "sotto/crypto/hash.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/secret_bytes.h"
#include "sotto/crypto/shamir.h"
#include "sotto/crypto/signature.h"

namespace sotto::secagg {

// BLAKE2b-256 of the self-mask seed and its context (see SeedCommitment in the client).
inline constexpr size_t kSeedCommitmentBytes = crypto::kBlake2b256Bytes;
// Plaintext of one share envelope: LE64(sender) || LE64(recipient) || self-mask-seed share ||
// mask-secret-key share.
inline constexpr size_t kSharePlaintextBytes = 8 + 8 + 2 * crypto::kShamirShareBytes;
// Its sealed size (nonce || ciphertext || tag).
inline constexpr size_t kShareCiphertextBytes = kSharePlaintextBytes + crypto::kAeadOverheadBytes;

struct AdvertiseKeys {
  std::vector<uint8_t> mask_public_key;        // kX25519PublicKeyBytes
  std::vector<uint8_t> encryption_public_key;  // kX25519PublicKeyBytes
  std::vector<uint8_t> seed_commitment;        // kSeedCommitmentBytes
  std::vector<uint8_t> signature;  // empty, or kEd25519SignatureBytes (AdvertiseSignedBytes)

  friend bool operator==(const AdvertiseKeys&, const AdvertiseKeys&) = default;
};

struct PeerKeys {
  uint64_t id = 0;
  std::vector<uint8_t> mask_public_key;
  std::vector<uint8_t> encryption_public_key;

  friend bool operator==(const PeerKeys&, const PeerKeys&) = default;
};

struct ShareKeysRequest {
  std::vector<PeerKeys> peers;  // ascending id; never the recipient itself

  friend bool operator==(const ShareKeysRequest&, const ShareKeysRequest&) = default;
};

struct EncryptedShares {
  uint64_t peer_id = 0;             // the recipient (in a response) or the sender (in a request)
  std::vector<uint8_t> ciphertext;  // kShareCiphertextBytes

  friend bool operator==(const EncryptedShares&, const EncryptedShares&) = default;
};

struct ShareKeysResponse {
  std::vector<EncryptedShares> shares;  // peer_id = recipient; one per requested peer

  friend bool operator==(const ShareKeysResponse&, const ShareKeysResponse&) = default;
};

struct MaskedInputRequest {
  std::vector<EncryptedShares> shares;  // peer_id = sender; ascending

  friend bool operator==(const MaskedInputRequest&, const MaskedInputRequest&) = default;
};

struct MaskedInput {
  std::vector<uint64_t> values;  // |S| elements, each < 2^w
  uint64_t weight = 0;           // < 2^w

  friend bool operator==(const MaskedInput&, const MaskedInput&) = default;
};

struct UnmaskRequest {
  std::vector<uint64_t> alive;    // neighbours in U3 (ascending; not the recipient)
  std::vector<uint64_t> dropped;  // neighbours in U2 \ U3 (ascending)

  friend bool operator==(const UnmaskRequest&, const UnmaskRequest&) = default;
};

struct RevealedShare {
  uint64_t owner_id = 0;      // whose secret this is a share of
  crypto::SecretBytes value;  // kShamirShareBytes; its x is implied by (owner, sender)

  friend bool operator==(const RevealedShare&, const RevealedShare&) = default;
};

struct UnmaskResponse {
  std::vector<RevealedShare> self_mask_seed_shares;  // owners: alive neighbours and the sender
  std::vector<RevealedShare> mask_key_shares;        // owners: dropped neighbours

  friend bool operator==(const UnmaskResponse&, const UnmaskResponse&) = default;
};

struct AbortRound {
  std::string reason;  // for logs; never carries a secret

  friend bool operator==(const AbortRound&, const AbortRound&) = default;
};

using ClientMessage = std::variant<AdvertiseKeys, ShareKeysResponse, MaskedInput, UnmaskResponse>;
using ServerMessage = std::variant<ShareKeysRequest, MaskedInputRequest, UnmaskRequest, AbortRound>;

// "AdvertiseKeys", "ShareKeysResponse", ... for logs and errors.
const char* MessageName(const ClientMessage& message);
const char* MessageName(const ServerMessage& message);

// Explicit deep copies (the shares are SecretBytes). Two names, not overloads: an overload set
// that includes ClientMessage makes the compiler try to copy an UnmaskResponse into the variant.
UnmaskResponse Clone(const UnmaskResponse& message);
ClientMessage CloneClientMessage(const ClientMessage& message);

}  // namespace sotto::secagg
