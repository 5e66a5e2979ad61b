#pragma once

// Types that hold secret bytes: key material, seeds, Shamir shares, decrypted plaintexts.
//
// - SecretBytes: a heap buffer of any length. Move-only: a copy must be asked for (Clone), so
//   secrets are not duplicated by accident. The buffer is wiped with sodium_memzero when the
//   object is destroyed or assigned over. A move hands the buffer over without copying it, so
//   no stale copy is left behind: the moved-from SecretBytes is empty.
//   Equality is constant time in the contents (sodium_memcmp); the length is not secret.
//   There is no operator<<: a SecretBytes cannot be streamed into a log. GoogleTest prints it
//   as "SecretBytes(<redacted>, N bytes)".
// - SizedSecret<N, Tag>: a SecretBytes of exactly N bytes, with a Tag so that secrets of the
//   same size but a different meaning (an X25519 secret key, a seed) are different types.
// - Seed: the 32-byte secret of this component: a ChaCha20 mask seed, a per-pair seed from
//   key agreement, a symmetric AEAD key, an Ed25519 key seed.
//
// Ownership: each object owns its buffer. The spans returned by bytes()/mutable_bytes() are
// views that die with the object; copy out of them only into another secret type.
// Thread-safety: thread-compatible (const methods may run concurrently; mutation needs
// external synchronisation), like a std::vector.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <ostream>
#include <span>
#include <string>
#include <utility>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/status_macros.h"
#include "sotto/base/statusor.h"

namespace sotto::crypto {

class SecretBytes {
 public:
  // Empty.
  SecretBytes() = default;
  // `size` zero bytes.
  explicit SecretBytes(size_t size);
  // A copy of `bytes`. The caller wipes its own copy if that one is secret too.
  static SecretBytes CopyFrom(std::span<const uint8_t> bytes);
  // `size` bytes from `random`; fails only when the source does.
  static StatusOr<SecretBytes> Generate(size_t size, Random& random);

  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  // An explicit copy.
  SecretBytes Clone() const;

  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  std::span<const uint8_t> bytes() const { return {data_.get(), size_}; }
  std::span<uint8_t> mutable_bytes() { return {data_.get(), size_}; }

  // Constant time in the contents (sodium_memcmp); different sizes compare unequal at once.
  friend bool operator==(const SecretBytes& a, const SecretBytes& b);

  // Never print secrets.
  friend std::ostream& operator<<(std::ostream& os, const SecretBytes& s) = delete;
  friend void PrintTo(const SecretBytes& s, std::ostream* os) {
    *os << "SecretBytes(<redacted>, " << s.size() << " bytes)";
  }

 private:
  void Wipe();

  std::unique_ptr<uint8_t[]> data_;
  size_t size_ = 0;
};

// A secret of exactly N bytes (see the file comment). Tag only distinguishes types.
template <size_t N, typename Tag>
class SizedSecret {
 public:
  static constexpr size_t kSize = N;

  // InvalidArgument unless `bytes` has exactly N bytes.
  static StatusOr<SizedSecret> FromBytes(std::span<const uint8_t> bytes) {
    if (bytes.size() != N) {
      return InvalidArgumentError("secret has " + std::to_string(bytes.size()) + " bytes, want " +
                                  std::to_string(N));
    }
    return SizedSecret(SecretBytes::CopyFrom(bytes));
  }
  // N uniformly random bytes from `random`.
  static StatusOr<SizedSecret> Generate(Random& random) {
    ASSIGN_OR_RETURN(SecretBytes bytes, SecretBytes::Generate(N, random));
    return SizedSecret(std::move(bytes));
  }

  SizedSecret(SizedSecret&&) noexcept = default;
  SizedSecret& operator=(SizedSecret&&) noexcept = default;
  SizedSecret(const SizedSecret&) = delete;
  SizedSecret& operator=(const SizedSecret&) = delete;

  SizedSecret Clone() const { return SizedSecret(bytes_.Clone()); }

  // N bytes. Empty only on a moved-from object (using one is a programming error).
  std::span<const uint8_t> bytes() const { return bytes_.bytes(); }

  friend bool operator==(const SizedSecret& a, const SizedSecret& b) {
    return a.bytes_ == b.bytes_;
  }
  friend std::ostream& operator<<(std::ostream& os, const SizedSecret& s) = delete;
  friend void PrintTo(const SizedSecret&, std::ostream* os) { *os << "<redacted secret>"; }

 private:
  explicit SizedSecret(SecretBytes bytes) : bytes_(std::move(bytes)) {}

  SecretBytes bytes_;
};

// Size of a Seed (a ChaCha20 key, an XChaCha20-Poly1305 key, an Ed25519 key seed).
inline constexpr size_t kSeedBytes = 32;

struct SeedTag;
using Seed = SizedSecret<kSeedBytes, SeedTag>;

}  // namespace sotto::crypto
