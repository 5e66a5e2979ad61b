#include "sotto/crypto/signature.h"

#include <sodium.h>

#include <algorithm>

#include "sodium_util.h"
#include "sotto/base/status_macros.h"

namespace sotto::crypto {

static_assert(kEd25519PublicKeyBytes == crypto_sign_PUBLICKEYBYTES);
static_assert(kEd25519SecretKeyBytes == crypto_sign_SECRETKEYBYTES);
static_assert(kEd25519SeedBytes == crypto_sign_SEEDBYTES);
static_assert(kEd25519SignatureBytes == crypto_sign_BYTES);

StatusOr<Ed25519PublicKey> Ed25519PublicKey::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kEd25519PublicKeyBytes) {
    return InvalidArgumentError("Ed25519 public key has " + std::to_string(bytes.size()) +
                                " bytes, want " + std::to_string(kEd25519PublicKeyBytes));
  }
  Ed25519PublicKey key;
  std::copy(bytes.begin(), bytes.end(), key.bytes_.begin());
  return key;
}

StatusOr<Ed25519Signature> Ed25519Signature::FromBytes(std::span<const uint8_t> bytes) {
  if (bytes.size() != kEd25519SignatureBytes) {
    return InvalidArgumentError("Ed25519 signature has " + std::to_string(bytes.size()) +
                                " bytes, want " + std::to_string(kEd25519SignatureBytes));
  }
  Ed25519Signature signature;
  std::copy(bytes.begin(), bytes.end(), signature.bytes_.begin());
  return signature;
}

StatusOr<Ed25519KeyPair> Ed25519KeyPairFromSeed(const Seed& seed) {
  internal::EnsureSodium();
  if (seed.bytes().size() != kEd25519SeedBytes) {
    return InvalidArgumentError("Ed25519 seed is empty (moved from)");
  }
  uint8_t public_bytes[crypto_sign_PUBLICKEYBYTES];
  uint8_t secret_bytes[crypto_sign_SECRETKEYBYTES];
  internal::ScopedWipe wipe_secret(secret_bytes, sizeof(secret_bytes));
  if (crypto_sign_seed_keypair(public_bytes, secret_bytes, seed.bytes().data()) != 0) {
    return InternalError("crypto_sign_seed_keypair failed");
  }
  ASSIGN_OR_RETURN(Ed25519PublicKey public_key, Ed25519PublicKey::FromBytes(public_bytes));
  ASSIGN_OR_RETURN(Ed25519SecretKey secret_key, Ed25519SecretKey::FromBytes(secret_bytes));
  return Ed25519KeyPair{public_key, std::move(secret_key)};
}

StatusOr<Ed25519KeyPair> GenerateEd25519KeyPair(Random& random) {
  ASSIGN_OR_RETURN(Seed seed, Seed::Generate(random));
  return Ed25519KeyPairFromSeed(seed);
}

StatusOr<Ed25519Signature> SignEd25519(const Ed25519SecretKey& secret_key,
                                       std::span<const uint8_t> message) {
  internal::EnsureSodium();
  const std::span<const uint8_t> sk = secret_key.bytes();
  if (sk.size() != kEd25519SecretKeyBytes) {
    return InvalidArgumentError("Ed25519 secret key is empty (moved from)");
  }
  // libsodium signs with the public key stored in the second half of the secret key; a
  // mismatched half would produce signatures that leak the key, so check it first.
  uint8_t public_bytes[crypto_sign_PUBLICKEYBYTES];
  uint8_t expanded[crypto_sign_SECRETKEYBYTES];
  internal::ScopedWipe wipe_expanded(expanded, sizeof(expanded));
  if (crypto_sign_seed_keypair(public_bytes, expanded, sk.data()) != 0) {
    return InternalError("crypto_sign_seed_keypair failed");
  }
  if (sodium_memcmp(public_bytes, sk.data() + crypto_sign_SEEDBYTES, sizeof(public_bytes)) != 0) {
    return InvalidArgumentError("Ed25519 secret key's public half does not match its seed");
  }
  uint8_t signature_bytes[crypto_sign_BYTES];
  if (crypto_sign_detached(signature_bytes, nullptr, message.data(), message.size(), sk.data()) !=
      0) {
    return InternalError("crypto_sign_detached failed");
  }
  return Ed25519Signature::FromBytes(signature_bytes);
}

Status VerifyEd25519(const Ed25519PublicKey& public_key, std::span<const uint8_t> message,
                     const Ed25519Signature& signature) {
  internal::EnsureSodium();
  if (crypto_sign_verify_detached(signature.bytes().data(), message.data(), message.size(),
                                  public_key.bytes().data()) != 0) {
    return UnauthenticatedError("Ed25519 signature does not verify");
  }
  return OkStatus();
}

}  // namespace sotto::crypto
