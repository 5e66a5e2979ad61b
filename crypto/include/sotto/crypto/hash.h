#pragma once

// BLAKE2b-256 (RFC 7693, libsodium's crypto_generichash with a 32-byte digest, no key), for
// commitments: secure aggregation commits to each client's self-mask seed at AdvertiseKeys so
// that the server can check a seed rebuilt from Shamir shares (BAD_INPUTS row 18).
//
// Blake2b256Hasher absorbs any number of parts; Final() writes the digest once. The state is
// wiped on destruction because it may hold secret input. A commitment should put a
// domain-separation label and its context before the secret (see sotto/secagg).
//
// Thread-safety: Blake2b256 is thread-safe; a hasher is thread-compatible.

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>

namespace sotto::crypto {

inline constexpr size_t kBlake2b256Bytes = 32;
using Blake2b256Digest = std::array<uint8_t, kBlake2b256Bytes>;

class Blake2b256Hasher {
 public:
  Blake2b256Hasher();
  ~Blake2b256Hasher();
  Blake2b256Hasher(const Blake2b256Hasher&) = delete;
  Blake2b256Hasher& operator=(const Blake2b256Hasher&) = delete;

  void Update(std::span<const uint8_t> bytes);
  // Absorbs the 8 little-endian bytes of `value`.
  void UpdateU64(uint64_t value);
  // The digest of everything absorbed. Call once; the hasher is unusable afterwards.
  Blake2b256Digest Final();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

// The digest of `bytes`.
Blake2b256Digest Blake2b256(std::span<const uint8_t> bytes);

}  // namespace sotto::crypto
