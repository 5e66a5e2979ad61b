#pragma once

// Authenticated encryption of Shamir shares from one client to another (SecAgg ShareKeys):
// XChaCha20-Poly1305 (IETF construction, libsodium's crypto_aead_xchacha20poly1305_ietf_*).
//
// The key is the pair seed DerivePairSeed(..., PairPurpose::kShareEncryption). The associated
// data binds the message to its run, round, sender and recipient:
//
//   AD = "sotto/share-aead/v1" || LE64(run_id) || LE64(round_id) || LE64(sender_id)
//        || LE64(recipient_id)
//
// so a ciphertext that the server replays to another recipient, into another round, or with
// sender and recipient swapped fails to open (BAD_INPUTS row 17), exactly like a forged one.
//
// Wire layout of a sealed message (a wire contract):
//   nonce (24 bytes, random) || ciphertext (plaintext length) || tag (16 bytes)
// Random nonces are safe with XChaCha20's 192-bit nonce, and keys are per pair and per round.
//
// Errors of AeadOpen: InvalidArgument if the message is shorter than kAeadOverheadBytes;
// Unauthenticated if the tag does not verify (wrong key, wrong context, any flipped bit). It
// never crashes on any input. The caller decides what a failure means (drop the peer or abort).
//
// Secrets: the key (a Seed) and the opened plaintext (SecretBytes). The sealed bytes are
// public. Thread-safety: the functions are thread-safe.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/secret_bytes.h"

namespace sotto::crypto {

// crypto_aead_xchacha20poly1305_ietf_KEYBYTES / NPUBBYTES / ABYTES.
inline constexpr size_t kAeadKeyBytes = kSeedBytes;
inline constexpr size_t kAeadNonceBytes = 24;
inline constexpr size_t kAeadTagBytes = 16;
// Sealed size = plaintext size + kAeadOverheadBytes.
inline constexpr size_t kAeadOverheadBytes = kAeadNonceBytes + kAeadTagBytes;
// Largest plaintext AeadSeal accepts (far above any share message; keeps sizes in 32 bits).
inline constexpr size_t kAeadMaxPlaintextBytes = size_t{1} << 30;

// Who sends what to whom, bound into the associated data.
struct AeadContext {
  uint64_t run_id = 0;
  uint64_t round_id = 0;
  uint64_t sender_id = 0;
  uint64_t recipient_id = 0;
};

// Encrypts `plaintext` under `key` for `context`, with a fresh nonce from `random`.
// InvalidArgument if the plaintext is larger than kAeadMaxPlaintextBytes; otherwise fails only
// when `random` does.
StatusOr<std::vector<uint8_t>> AeadSeal(const Seed& key, const AeadContext& context,
                                        std::span<const uint8_t> plaintext, Random& random);

// Decrypts and authenticates a message made by AeadSeal with the same key and context.
StatusOr<SecretBytes> AeadOpen(const Seed& key, const AeadContext& context,
                               std::span<const uint8_t> sealed);

}  // namespace sotto::crypto
