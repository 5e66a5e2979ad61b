#include "sotto/crypto/key_agreement.h"

#include <sodium.h>

#include <string_view>

#include "sodium_util.h"
#include "sotto/base/status_macros.h"

namespace sotto::crypto {

static_assert(kX25519PublicKeyBytes == crypto_scalarmult_BYTES);
static_assert(kX25519SecretKeyBytes == crypto_scalarmult_SCALARBYTES);
static_assert(kX25519SharedSecretBytes == crypto_scalarmult_BYTES);
static_assert(kSeedBytes <= crypto_generichash_BYTES_MAX);

namespace {

using internal::Blake2b;
using internal::EnsureSodium;
using internal::ScopedWipe;

constexpr std::string_view kPairSeedLabel = "sotto/pair-seed/v1";

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// u < 2^255 - 19 with the top bit clear. p = 2^255 - 19 is ed ff .. ff 7f little-endian, so
// u >= p exactly when byte 31 is 0x7f, bytes 1..30 are 0xff and byte 0 is >= 0xed.
bool IsCanonical(std::span<const uint8_t, kX25519PublicKeyBytes> u) {
  if ((u[31] & 0x80) != 0) {
    return false;
  }
  if (u[31] != 0x7f) {
    return true;
  }
  for (size_t i = 1; i < 31; ++i) {
    if (u[i] != 0xff) {
      return true;
    }
  }
  return u[0] < 0xed;
}

// A clamped scalar is 8 * m with m < 2^252 < the prime orders of the curve and of the twist, so
// its product with a point is the all-zero point exactly when the point's order divides 8 (the
// low-order points), and crypto_scalarmult reports that as -1. Any fixed scalar does.
bool HasLowOrder(std::span<const uint8_t, kX25519PublicKeyBytes> u) {
  static constexpr uint8_t kProbeScalar[crypto_scalarmult_SCALARBYTES] = {
      0x53, 0x6f, 0x74, 0x74, 0x6f, 0x20, 0x6c, 0x6f, 0x77, 0x2d, 0x6f,
      0x72, 0x64, 0x65, 0x72, 0x20, 0x70, 0x72, 0x6f, 0x62, 0x65, 0x20,
      0x73, 0x63, 0x61, 0x6c, 0x61, 0x72, 0x20, 0x76, 0x31, 0x2e};
  uint8_t product[crypto_scalarmult_BYTES];
  const int rc = crypto_scalarmult(product, kProbeScalar, u.data());
  return rc != 0;
}

std::string_view PurposeLabel(PairPurpose purpose) {
  switch (purpose) {
    case PairPurpose::kMask:
      return "mask";
    case PairPurpose::kShareEncryption:
      return "share-enc";
  }
  return {};
}

}  // namespace

StatusOr<X25519PublicKey> X25519PublicKey::FromBytes(std::span<const uint8_t> bytes) {
  EnsureSodium();
  if (bytes.size() != kX25519PublicKeyBytes) {
    return InvalidArgumentError("X25519 public key has " + std::to_string(bytes.size()) +
                                " bytes, want " + std::to_string(kX25519PublicKeyBytes));
  }
  std::span<const uint8_t, kX25519PublicKeyBytes> fixed(bytes.data(), kX25519PublicKeyBytes);
  if (!IsCanonical(fixed)) {
    return InvalidArgumentError("X25519 public key is not canonically encoded");
  }
  if (HasLowOrder(fixed)) {
    return InvalidArgumentError("X25519 public key is a low-order point");
  }
  std::array<uint8_t, kX25519PublicKeyBytes> array;
  std::copy(bytes.begin(), bytes.end(), array.begin());
  return X25519PublicKey(array);
}

StatusOr<X25519PublicKey> X25519PublicKeyFromSecret(const X25519SecretKey& secret_key) {
  EnsureSodium();
  if (secret_key.bytes().size() != kX25519SecretKeyBytes) {
    return InvalidArgumentError("X25519 secret key is empty (moved from)");
  }
  std::array<uint8_t, kX25519PublicKeyBytes> public_bytes;
  if (crypto_scalarmult_base(public_bytes.data(), secret_key.bytes().data()) != 0) {
    return InternalError("crypto_scalarmult_base failed");
  }
  return X25519PublicKey(public_bytes);
}

StatusOr<X25519KeyPair> GenerateX25519KeyPair(Random& random) {
  ASSIGN_OR_RETURN(X25519SecretKey secret_key, X25519SecretKey::Generate(random));
  ASSIGN_OR_RETURN(X25519PublicKey public_key, X25519PublicKeyFromSecret(secret_key));
  return X25519KeyPair{public_key, std::move(secret_key)};
}

StatusOr<SecretBytes> X25519SharedSecret(const X25519SecretKey& secret_key,
                                         const X25519PublicKey& peer_public) {
  EnsureSodium();
  if (secret_key.bytes().size() != kX25519SecretKeyBytes) {
    return InvalidArgumentError("X25519 secret key is empty (moved from)");
  }
  SecretBytes shared(kX25519SharedSecretBytes);
  if (crypto_scalarmult(shared.mutable_bytes().data(), secret_key.bytes().data(),
                        peer_public.bytes().data()) != 0) {
    return InvalidArgumentError("X25519 shared secret is the all-zero point (low-order key)");
  }
  return shared;
}

StatusOr<Seed> DerivePairSeed(const X25519KeyPair& self, const X25519PublicKey& peer_public,
                              const PairContext& context) {
  EnsureSodium();
  const std::string_view label = PurposeLabel(context.purpose);
  if (label.empty()) {
    return InvalidArgumentError("unknown pair purpose " +
                                std::to_string(static_cast<int>(context.purpose)));
  }
  if (context.self_id == context.peer_id) {
    return InvalidArgumentError(
        "pair seed with oneself (self_id == peer_id == " + std::to_string(context.self_id) + ")");
  }
  if (peer_public == self.public_key) {
    return InvalidArgumentError("peer " + std::to_string(context.peer_id) +
                                " advertised the same public key as client " +
                                std::to_string(context.self_id));
  }
  if (self.secret_key.bytes().size() != kX25519SecretKeyBytes) {
    return InvalidArgumentError("X25519 secret key is empty (moved from)");
  }

  uint8_t shared[crypto_scalarmult_BYTES];
  ScopedWipe wipe_shared(shared, sizeof(shared));
  if (crypto_scalarmult(shared, self.secret_key.bytes().data(), peer_public.bytes().data()) != 0) {
    return InvalidArgumentError("X25519 shared secret with peer " +
                                std::to_string(context.peer_id) +
                                " is the all-zero point (low-order key)");
  }

  // Canonical order: the lower id and its key first, so both sides hash the same bytes.
  const bool self_is_lo = context.self_id < context.peer_id;
  const uint64_t lo_id = self_is_lo ? context.self_id : context.peer_id;
  const uint64_t hi_id = self_is_lo ? context.peer_id : context.self_id;
  const X25519PublicKey& lo_key = self_is_lo ? self.public_key : peer_public;
  const X25519PublicKey& hi_key = self_is_lo ? peer_public : self.public_key;

  Blake2b hash(kSeedBytes);
  hash.Update(AsBytes(kPairSeedLabel));
  const uint8_t label_size = static_cast<uint8_t>(label.size());
  hash.Update(std::span<const uint8_t>(&label_size, 1));
  hash.Update(AsBytes(label));
  hash.UpdateU64(context.run_id);
  hash.UpdateU64(context.round_id);
  hash.UpdateU64(lo_id);
  hash.UpdateU64(hi_id);
  hash.Update(shared);
  hash.Update(lo_key.bytes());
  hash.Update(hi_key.bytes());

  uint8_t digest[kSeedBytes];
  ScopedWipe wipe_digest(digest, sizeof(digest));
  hash.Final(digest);
  return Seed::FromBytes(digest);
}

}  // namespace sotto::crypto
