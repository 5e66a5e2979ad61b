#pragma once

// X25519 key agreement (RFC 7748) and the per-pair seeds of secure aggregation.
//
// In SecAgg / SecAgg+ every client u advertises two X25519 public keys: one for the pairwise
// masks and one for encrypting Shamir shares. For a neighbour v, both u and v compute
//
//   seed(u, v) = BLAKE2b-256( "sotto/pair-seed/v1" || len(label) || label
//                             || LE64(run_id) || LE64(round_id) || LE64(lo) || LE64(hi)
//                             || X25519(sk_self, pk_peer) || pk_lo || pk_hi )
//
// where lo < hi are the two client ids, pk_lo / pk_hi the public keys that belong to them, and
// label is "mask" or "share-enc" (PairPurpose). Both sides get the same seed; a seed is bound
// to one run, one round, one unordered pair and one purpose, so a mask seed never doubles as
// an encryption key and a seed of round r is useless in round r + 1.
//
// What is refused (BAD_INPUTS row 13, all InvalidArgument):
//   - a public key of the wrong length (including empty);
//   - a non-canonical public key (u-coordinate >= 2^255 - 19, or the unused top bit set), so
//     that byte equality of keys is equality of points and "two clients with the same key"
//     cannot be hidden behind a second encoding;
//   - a low-order public key (its product with any clamped scalar is the all-zero point;
//     libsodium's crypto_scalarmult returns -1): the shared secret would be known to everyone.
//     Checked by comparing the encoding with libsodium's own list of the seven small-order
//     encodings (its has_small_order), not by a scalar multiplication;
//   - a peer key equal to one's own key, or a peer id equal to one's own id.
// X25519PublicKey::FromBytes does the first three checks, so a server can refuse a bad key at
// AdvertiseKeys without a secret key of its own.
//
// Batches: a SecAgg+ client needs about 2k + 2 scalar multiplications per round (two key pairs,
// then a share-encryption seed and a mask seed per neighbour), and a server rebuilding a dropped
// client's masks one per surviving neighbour. GenerateX25519KeyPairs and DerivePairSeeds do many
// at once. Where the CPU has AVX-512 IFMA (chosen at run time) they run eight Montgomery ladders
// side by side, one per 64-bit lane (on Zen 4 a full batch costs about 8.5 us per multiplication
// against libsodium's 30 us; a batch of up to four about 40 us in all); elsewhere they call
// libsodium once per element. Either way the bytes are exactly those of the one-at-a-time
// functions (GenerateX25519KeyPair, DerivePairSeed), which stay on libsodium. The batch code is
// constant time in the secret keys (crypto/src/x25519_batch.h).
//
// Secrets: X25519SecretKey and the derived Seed are SizedSecrets (wiped, never printed); the raw
// shared point only lives inside DerivePairSeed / DerivePairSeeds (wiped before they return) and
// X25519SharedSecret's SecretBytes.
// Thread-safety: all functions are thread-safe; the types are thread-compatible values.

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/secret_bytes.h"

namespace sotto::crypto {

// Sizes of X25519 keys (libsodium's crypto_scalarmult_BYTES / crypto_scalarmult_SCALARBYTES)
// and of the raw shared point.
inline constexpr size_t kX25519PublicKeyBytes = 32;
inline constexpr size_t kX25519SecretKeyBytes = 32;
inline constexpr size_t kX25519SharedSecretBytes = 32;

struct X25519SecretKeyTag;
// 32 secret bytes; libsodium clamps them on use, so any 32 bytes are a valid secret key.
using X25519SecretKey = SizedSecret<kX25519SecretKeyBytes, X25519SecretKeyTag>;
struct X25519KeyPair;

// A validated X25519 public key: 32 bytes, canonical, not of low order. Copyable, printable
// (public keys are not secret).
class X25519PublicKey {
 public:
  // InvalidArgument for a wrong length, a non-canonical encoding or a low-order point. No
  // scalar multiplication: a few hundred byte comparisons (well under a microsecond).
  static StatusOr<X25519PublicKey> FromBytes(std::span<const uint8_t> bytes);

  const std::array<uint8_t, kX25519PublicKeyBytes>& bytes() const { return bytes_; }

  friend bool operator==(const X25519PublicKey&, const X25519PublicKey&) = default;
  friend auto operator<=>(const X25519PublicKey&, const X25519PublicKey&) = default;

 private:
  explicit X25519PublicKey(const std::array<uint8_t, kX25519PublicKeyBytes>& bytes)
      : bytes_(bytes) {}
  // Keys computed by libsodium from a secret key are valid by construction.
  friend StatusOr<X25519KeyPair> GenerateX25519KeyPair(Random& random);
  friend StatusOr<X25519PublicKey> X25519PublicKeyFromSecret(const X25519SecretKey& secret_key);

  std::array<uint8_t, kX25519PublicKeyBytes> bytes_;
};

struct X25519KeyPair {
  X25519PublicKey public_key;
  X25519SecretKey secret_key;
};

// A fresh key pair: 32 bytes from `random` as the secret key (so SeededRandom gives
// reproducible keys in tests), its public key by base-point multiplication.
StatusOr<X25519KeyPair> GenerateX25519KeyPair(Random& random);

// `count` fresh key pairs (none for 0), the same as `count` calls of GenerateX25519KeyPair in a
// row: the secret keys are drawn from `random` one after the other, so a SeededRandom gives the
// same keys either way; the public keys are computed in one batch. Fails only if `random` does
// (its status, and no key pair).
StatusOr<std::vector<X25519KeyPair>> GenerateX25519KeyPairs(Random& random, size_t count);

// The public key of `secret_key`. Used by the server to check a secret key rebuilt from Shamir
// shares against the key its owner advertised (BAD_INPUTS row 18). Internal only if libsodium
// fails, which it does not for a clamped scalar.
StatusOr<X25519PublicKey> X25519PublicKeyFromSecret(const X25519SecretKey& secret_key);

// The raw X25519 function of RFC 7748: the shared point secret_key * peer_public. Use
// DerivePairSeed for keys; this exists for known-answer tests and for protocols that hash the
// point themselves. InvalidArgument if the result is the all-zero point.
StatusOr<SecretBytes> X25519SharedSecret(const X25519SecretKey& secret_key,
                                         const X25519PublicKey& peer_public);

// What a pair seed is for; each purpose has its own KDF label.
enum class PairPurpose : uint8_t {
  kMask = 1,             // label "mask": the seed of the pairwise ChaCha20 mask
  kShareEncryption = 2,  // label "share-enc": the XChaCha20-Poly1305 key for Shamir shares
};

// The context a pair seed is bound to. self_id is the id of the caller (the owner of the key
// pair passed to DerivePairSeed), peer_id the id of the owner of peer_public.
struct PairContext {
  uint64_t run_id = 0;
  uint64_t round_id = 0;
  uint64_t self_id = 0;
  uint64_t peer_id = 0;
  PairPurpose purpose = PairPurpose::kMask;
};

// The seed that self and peer share for `context` (see the file comment for the formula).
// InvalidArgument if peer_public equals self.public_key, if self_id == peer_id, if the purpose is
// unknown, or if the shared point is all-zero. The result is the same for (self, peer) and
// (peer, self) with the ids swapped.
StatusOr<Seed> DerivePairSeed(const X25519KeyPair& self, const X25519PublicKey& peer_public,
                              const PairContext& context);

// One seed of a batch: the arguments of DerivePairSeed. Borrows `self` and `peer_public`, which
// must outlive the DerivePairSeeds call.
struct PairSeedRequest {
  const X25519KeyPair* self = nullptr;
  const X25519PublicKey* peer_public = nullptr;
  PairContext context;
};

// The seeds of `requests`, in order: seeds[i] equals DerivePairSeed(*requests[i].self,
// *requests[i].peer_public, requests[i].context), bit for bit. Requests may mix key pairs (a
// client derives its share-encryption and its mask seeds in one batch). All or nothing: if a
// request would make DerivePairSeed fail, InvalidArgument with that request's message (the first
// such request; the checks on ids, purposes and keys of all requests come before the check for
// an all-zero shared point), and no seed; a null pointer is InvalidArgument too. An empty batch
// gives no seeds.
StatusOr<std::vector<Seed>> DerivePairSeeds(std::span<const PairSeedRequest> requests);

// One key pair against many peers: seeds[i] = DerivePairSeed(self, peers[i], contexts[i]).
// InvalidArgument if the two spans differ in length; otherwise as above.
StatusOr<std::vector<Seed>> DerivePairSeeds(const X25519KeyPair& self,
                                            std::span<const X25519PublicKey> peers,
                                            std::span<const PairContext> contexts);

}  // namespace sotto::crypto
