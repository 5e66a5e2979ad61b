#pragma once

// Stateless validators for every message of the protocol (BAD_INPUTS rows 6, 7, 13-17). The
// state machines call them before touching a message, and tests/fuzz/secagg_fuzz.cc feeds them
// arbitrary bytes through sotto/secagg/wire.h. Each takes only public facts (the config, the
// graph, what was asked) and never asserts on its input: a violation is a Status.
//
// Codes: InvalidArgument for a malformed or inconsistent message (drop the sender / abort the
// client); Aborted for a request that leaves a client fewer than t live neighbours (row 16,
// client side). Higher-level checks (a key equal to another client's, phases, duplicates, who
// is alive) belong to the states.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/fixed_point.h"
#include "sotto/crypto/hash.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/signature.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/graph.h"
#include "sotto/secagg/messages.h"

namespace sotto::secagg {

// ---- Server side: messages from clients ------------------------------------------------------

struct ParsedAdvertiseKeys {
  crypto::X25519PublicKey mask_key;
  crypto::X25519PublicKey encryption_key;
  crypto::Blake2b256Digest seed_commitment;
  std::optional<crypto::Ed25519Signature> signature;
};

// Row 13: each key present, of the right length, canonical and not of low order; the two keys
// differ; the commitment is kSeedCommitmentBytes; the signature is empty or
// kEd25519SignatureBytes.
StatusOr<ParsedAdvertiseKeys> ValidateAdvertiseKeys(const AdvertiseKeys& message);

// The bytes a client signs in AdvertiseKeys (Ed25519, active-adversary mode):
//   "sotto/secagg/advertise/v1" || LE64(run) || LE64(round) || LE64(client_id)
//   || mask key || encryption key || seed commitment
std::vector<uint8_t> AdvertiseSignedBytes(const RoundConfig& config, uint64_t client_id,
                                          const AdvertiseKeys& message);

// Row 14: exactly one ciphertext for each of `recipients` (the sender's neighbours in U1,
// ascending), no unknown or repeated recipient, each kShareCiphertextBytes long.
Status ValidateShareKeysResponse(const ShareKeysResponse& message,
                                 std::span<const uint64_t> recipients);

// Rows 6, 7: |S| values, each value and the weight < 2^w.
Status ValidateMaskedInput(const MaskedInput& message, size_t support_size, crypto::Ring ring);

// Row 15: self-mask-seed shares for exactly the alive peers of `asked` plus `sender` itself,
// mask-key shares for exactly its dropped peers; no owner twice, none in both lists; each share
// kShamirShareBytes long.
Status ValidateUnmaskResponse(const UnmaskResponse& message, uint64_t sender,
                              const UnmaskRequest& asked);

// ---- Client side: messages from the server ---------------------------------------------------

struct ParsedPeerKeys {
  uint64_t id = 0;
  crypto::X25519PublicKey mask_key;
  crypto::X25519PublicKey encryption_key;
};

// Peers strictly ascending, each a neighbour of `self` in `graph` (never `self`), every key
// valid (row 13) and no key repeated among the peers and the client's own two keys
// (InvalidArgument); at least threshold - 1 peers (Aborted).
StatusOr<std::vector<ParsedPeerKeys>> ValidateShareKeysRequest(
    const ShareKeysRequest& message, const NeighbourGraph& graph, uint64_t self,
    const crypto::X25519PublicKey& own_mask_key, const crypto::X25519PublicKey& own_encryption_key,
    uint32_t threshold);

// Senders strictly ascending, each one of `peers` (the neighbours of the ShareKeysRequest),
// ciphertexts kShareCiphertextBytes long (InvalidArgument); at least threshold - 1 senders
// (Aborted).
Status ValidateMaskedInputRequest(const MaskedInputRequest& message,
                                  std::span<const uint64_t> peers, uint32_t threshold);

// Row 16: alive and dropped strictly ascending, disjoint, each one of `peers` (the senders of
// the MaskedInputRequest, i.e. the neighbours the client masked with), never `self`
// (InvalidArgument); at least threshold - 1 alive peers (Aborted).
Status ValidateUnmaskRequest(const UnmaskRequest& message, uint64_t self,
                             std::span<const uint64_t> peers, uint32_t threshold);

}  // namespace sotto::secagg
