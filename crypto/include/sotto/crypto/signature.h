#pragma once

// Ed25519 signatures (RFC 8032, libsodium's crypto_sign_*), for the active-adversary mode of
// secure aggregation: each client signs the public keys it advertises (and, in SecAgg's
// ConsistencyCheck, the list of survivors) with a long-term signing key whose public half the
// coordinator knows from enrolment.
//
// Keys: an Ed25519 key pair is made from a 32-byte Seed (RFC 8032's "private key"); the
// Ed25519SecretKey is libsodium's 64-byte expanded form (seed || public key). Signatures are
// deterministic (RFC 8032), so signing needs no randomness.
//
// VerifyEd25519 returns Unauthenticated for a signature that does not verify, including one
// made with another key, over another message, a non-canonical signature, or a small-order
// public key (libsodium rejects those). Wrong lengths are refused earlier, by FromBytes
// (InvalidArgument).
//
// Secrets: Ed25519SecretKey and the Seed. Public keys and signatures are public values.
// Thread-safety: the functions are thread-safe; the types are thread-compatible values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/secret_bytes.h"

namespace sotto::crypto {

// crypto_sign_PUBLICKEYBYTES, crypto_sign_SECRETKEYBYTES, crypto_sign_SEEDBYTES,
// crypto_sign_BYTES.
inline constexpr size_t kEd25519PublicKeyBytes = 32;
inline constexpr size_t kEd25519SecretKeyBytes = 64;
inline constexpr size_t kEd25519SeedBytes = kSeedBytes;
inline constexpr size_t kEd25519SignatureBytes = 64;

class Ed25519PublicKey {
 public:
  // InvalidArgument unless `bytes` has kEd25519PublicKeyBytes bytes. The point itself is checked
  // when a signature is verified.
  static StatusOr<Ed25519PublicKey> FromBytes(std::span<const uint8_t> bytes);

  const std::array<uint8_t, kEd25519PublicKeyBytes>& bytes() const { return bytes_; }
  friend bool operator==(const Ed25519PublicKey&, const Ed25519PublicKey&) = default;

 private:
  Ed25519PublicKey() = default;
  std::array<uint8_t, kEd25519PublicKeyBytes> bytes_{};
};

class Ed25519Signature {
 public:
  // InvalidArgument unless `bytes` has kEd25519SignatureBytes bytes.
  static StatusOr<Ed25519Signature> FromBytes(std::span<const uint8_t> bytes);

  const std::array<uint8_t, kEd25519SignatureBytes>& bytes() const { return bytes_; }
  friend bool operator==(const Ed25519Signature&, const Ed25519Signature&) = default;

 private:
  Ed25519Signature() = default;
  std::array<uint8_t, kEd25519SignatureBytes> bytes_{};
};

struct Ed25519SecretKeyTag;
using Ed25519SecretKey = SizedSecret<kEd25519SecretKeyBytes, Ed25519SecretKeyTag>;

struct Ed25519KeyPair {
  Ed25519PublicKey public_key;
  Ed25519SecretKey secret_key;
};

// The key pair of RFC 8032 for `seed` (deterministic).
StatusOr<Ed25519KeyPair> Ed25519KeyPairFromSeed(const Seed& seed);
// A key pair from a fresh seed drawn from `random`.
StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair(Random& random);

// The detached signature of `message`. InvalidArgument only for a secret key that is not
// libsodium's 64-byte form whose second half is the public key of its first half.
StatusOr<Ed25519Signature> SignEd25519(const Ed25519SecretKey& secret_key,
                                       std::span<const uint8_t> message);

// OK if `signature` is a valid signature of `message` under `public_key`, else Unauthenticated.
Status VerifyEd25519(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                     const Ed25519Signature& signature);

}  // namespace sotto::crypto
