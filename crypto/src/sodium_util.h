#pragma once

// Private helpers around libsodium: one-time initialisation, scoped wiping of stack buffers,
// and an RAII BLAKE2b state. Nothing here is part of the component's API.

#include <sodium.h>

#include <cstddef>
#include <cstdint>
#include <span>

namespace sotto::crypto::internal {

// Initialises libsodium exactly once (a function-local static, so concurrent first calls are
// safe) and picks its fastest ChaCha20 and BLAKE2b code for this CPU. Every function of this
// component that calls libsodium calls this first; it costs one predictable branch afterwards.
// Aborts if libsodium cannot initialise: that is a broken installation, not an input error.
void EnsureSodium();

// Wipes `size` bytes at `data` when the scope ends, however it ends.
class ScopedWipe {
 public:
  ScopedWipe(void* data, size_t size) : data_(data), size_(size) {}
  ~ScopedWipe() { sodium_memzero(data_, size_); }
  ScopedWipe(const ScopedWipe&) = delete;
  ScopedWipe& operator=(const ScopedWipe&) = delete;

 private:
  void* data_;
  size_t size_;
};

// BLAKE2b (crypto_generichash) with an `out_bytes`-byte digest; the state is wiped on
// destruction because it holds the secret inputs absorbed so far.
class Blake2b {
 public:
  explicit Blake2b(size_t out_bytes);
  ~Blake2b() { sodium_memzero(&state_, sizeof(state_)); }
  Blake2b(const Blake2b&) = delete;
  Blake2b& operator=(const Blake2b&) = delete;

  void Update(std::span<const uint8_t> bytes);
  void UpdateU64(uint64_t value);  // little-endian
  // Writes the digest (out.size() must equal out_bytes) and ends the hash.
  void Final(std::span<uint8_t> out);

 private:
  crypto_generichash_state state_;
  size_t out_bytes_;
};

// Little-endian encoding of a 64-bit integer.
inline void StoreLe64(uint64_t value, uint8_t* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

}  // namespace sotto::crypto::internal
