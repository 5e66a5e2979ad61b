#include "sotto/crypto/key_agreement.h"

#include <sodium.h>

#include <array>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "key_agreement_internal.h"
#include "sodium_util.h"
#include "sotto/base/status_macros.h"
#include "x25519_batch.h"

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

// DerivePairSeed's checks before any scalar multiplication.
Status CheckPairRequest(const X25519KeyPair& self, const X25519PublicKey& peer_public,
                        const PairContext& context) {
  if (PurposeLabel(context.purpose).empty()) {
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
  return OkStatus();
}

Status AllZeroError(const PairContext& context) {
  return InvalidArgumentError("X25519 shared secret with peer " + std::to_string(context.peer_id) +
                              " is the all-zero point (low-order key)");
}

// Constant time in the bytes (the shared point is secret).
bool IsAllZero(std::span<const uint8_t, kX25519SharedSecretBytes> bytes) {
  unsigned any = 0;
  for (uint8_t b : bytes) {
    any |= b;
  }
  return (((any - 1) >> 8) & 1) != 0;
}

// The seed of the file comment from the shared point of a request that passed CheckPairRequest.
StatusOr<Seed> HashPairSeed(const X25519KeyPair& self, const X25519PublicKey& peer_public,
                            const PairContext& context,
                            std::span<const uint8_t, kX25519SharedSecretBytes> shared) {
  const std::string_view label = PurposeLabel(context.purpose);
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

StatusOr<std::vector<X25519KeyPair>> GenerateX25519KeyPairs(Random& random, size_t count) {
  return internal::GenerateX25519KeyPairsWith(internal::BestX25519Isa(), random, count);
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
  RETURN_IF_ERROR(CheckPairRequest(self, peer_public, context));
  uint8_t shared[crypto_scalarmult_BYTES];
  ScopedWipe wipe_shared(shared, sizeof(shared));
  if (crypto_scalarmult(shared, self.secret_key.bytes().data(), peer_public.bytes().data()) != 0) {
    return AllZeroError(context);
  }
  return HashPairSeed(self, peer_public, context, shared);
}

StatusOr<std::vector<Seed>> DerivePairSeeds(std::span<const PairSeedRequest> requests) {
  return internal::DerivePairSeedsWith(internal::BestX25519Isa(), requests);
}

StatusOr<std::vector<Seed>> DerivePairSeeds(const X25519KeyPair& self,
                                            std::span<const X25519PublicKey> peers,
                                            std::span<const PairContext> contexts) {
  if (peers.size() != contexts.size()) {
    return InvalidArgumentError("DerivePairSeeds: " + std::to_string(peers.size()) +
                                " peer keys but " + std::to_string(contexts.size()) + " contexts");
  }
  std::vector<PairSeedRequest> requests;
  requests.reserve(peers.size());
  for (size_t i = 0; i < peers.size(); ++i) {
    requests.push_back({&self, &peers[i], contexts[i]});
  }
  return DerivePairSeeds(requests);
}

namespace internal {

StatusOr<std::vector<X25519KeyPair>> GenerateX25519KeyPairsWith(X25519Isa isa, Random& random,
                                                                size_t count) {
  if (!X25519IsaSupported(isa)) {
    return FailedPreconditionError("X25519 variant not supported on this CPU");
  }
  std::vector<X25519SecretKey> secret_keys;
  secret_keys.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    ASSIGN_OR_RETURN(X25519SecretKey secret_key, X25519SecretKey::Generate(random));
    secret_keys.push_back(std::move(secret_key));
  }
  // The base point, u = 9.
  std::array<uint8_t, kX25519PublicKeyBytes> base = {9};
  std::vector<std::array<uint8_t, kX25519PublicKeyBytes>> public_bytes(count);
  std::vector<const uint8_t*> scalars(count), points(count, base.data());
  std::vector<uint8_t*> out(count);
  for (size_t i = 0; i < count; ++i) {
    scalars[i] = secret_keys[i].bytes().data();
    out[i] = public_bytes[i].data();
  }
  X25519Batch(isa, scalars, points, out);
  std::vector<X25519KeyPair> pairs;
  pairs.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    // A clamped scalar times the base point (of prime order) is never a low-order point, and
    // the batch output is canonical, so this check does not fail.
    auto public_key = X25519PublicKey::FromBytes(public_bytes[i]);
    if (!public_key.ok()) {
      return InternalError("batched X25519 public key refused: " +
                           std::string(public_key.status().message()));
    }
    pairs.push_back(X25519KeyPair{*public_key, std::move(secret_keys[i])});
  }
  return pairs;
}

StatusOr<std::vector<Seed>> DerivePairSeedsWith(X25519Isa isa,
                                                std::span<const PairSeedRequest> requests) {
  EnsureSodium();
  if (!X25519IsaSupported(isa)) {
    return FailedPreconditionError("X25519 variant not supported on this CPU");
  }
  const size_t count = requests.size();
  std::vector<const uint8_t*> scalars(count), points(count);
  for (size_t i = 0; i < count; ++i) {
    const PairSeedRequest& request = requests[i];
    if (request.self == nullptr || request.peer_public == nullptr) {
      return InvalidArgumentError("pair seed request " + std::to_string(i) +
                                  " has no key pair or no peer key");
    }
    RETURN_IF_ERROR(CheckPairRequest(*request.self, *request.peer_public, request.context));
    scalars[i] = request.self->secret_key.bytes().data();
    points[i] = request.peer_public->bytes().data();
  }
  SecretBytes shared(count * kX25519SharedSecretBytes);
  std::vector<uint8_t*> out(count);
  for (size_t i = 0; i < count; ++i) {
    out[i] = shared.mutable_bytes().data() + i * kX25519SharedSecretBytes;
  }
  X25519Batch(isa, scalars, points, out);
  for (size_t i = 0; i < count; ++i) {
    if (IsAllZero(
            std::span<const uint8_t, kX25519SharedSecretBytes>(out[i], kX25519SharedSecretBytes))) {
      return AllZeroError(requests[i].context);
    }
  }
  std::vector<Seed> seeds;
  seeds.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const PairSeedRequest& request = requests[i];
    ASSIGN_OR_RETURN(Seed seed, HashPairSeed(*request.self, *request.peer_public, request.context,
                                             std::span<const uint8_t, kX25519SharedSecretBytes>(
                                                 out[i], kX25519SharedSecretBytes)));
    seeds.push_back(std::move(seed));
  }
  return seeds;
}

}  // namespace internal

}  // namespace sotto::crypto
