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

// The u-coordinates of the points whose order divides 8, on the curve and on its twist: for
// them, the product with any clamped scalar (a multiple of 8) is the all-zero point. The list
// and the comparison are libsodium's own (has_small_order in
// crypto_scalarmult/curve25519/ref10/x25519_ref10.c, which crypto_scalarmult runs before every
// multiplication): byte 31 is compared with its top bit cleared, and the non-canonical encodings
// p and p + 1 of 0 and 1 are listed too. Replaces one scalar multiplication (about 30 us) by
// 224 byte comparisons; the key is public, but the comparison is branch-free all the same.
constexpr size_t kSmallOrderPoints = 7;
constexpr uint8_t kSmallOrderEncodings[kSmallOrderPoints][kX25519PublicKeyBytes] = {
    // 0 (order 4)
    {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    // 1 (order 1)
    {0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
     0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00},
    // 325606250916557431795983626356110631294008115727848805560023387167927233504 (order 8)
    {0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3,
     0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32,
     0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
    // 39382357235489614581723060781553021112529911719440698176882885853963445705823 (order 8)
    {0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1,
     0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c,
     0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
    // p - 1 (order 2)
    {0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    // p (= 0, order 4; not canonical)
    {0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
    // p + 1 (= 1, order 1; not canonical)
    {0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
     0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
};

bool HasLowOrder(std::span<const uint8_t, kX25519PublicKeyBytes> u) {
  uint8_t differs[kSmallOrderPoints] = {};
  for (size_t j = 0; j < kSmallOrderPoints; ++j) {
    for (size_t i = 0; i + 1 < kX25519PublicKeyBytes; ++i) {
      differs[j] |= static_cast<uint8_t>(u[i] ^ kSmallOrderEncodings[j][i]);
    }
    differs[j] |= static_cast<uint8_t>((u[31] & 0x7f) ^ kSmallOrderEncodings[j][31]);
  }
  // (differs - 1) >> 8 is 1 exactly when differs == 0.
  unsigned match = 0;
  for (size_t j = 0; j < kSmallOrderPoints; ++j) {
    match |= (static_cast<unsigned>(differs[j]) - 1) >> 8;
  }
  return (match & 1) != 0;
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
