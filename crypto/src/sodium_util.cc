#include "sodium_util.h"

#include "sotto/base/check.h"

namespace sotto::crypto::internal {

void EnsureSodium() {
  // sodium_init() returns 0 on the first call, 1 if already initialised, -1 on failure.
  static const int init_result = sodium_init();
  SOTTO_CHECK(init_result >= 0) << "libsodium failed to initialise";
}

Blake2b::Blake2b(size_t out_bytes) : out_bytes_(out_bytes) {
  EnsureSodium();
  SOTTO_CHECK(out_bytes >= crypto_generichash_BYTES_MIN &&
              out_bytes <= crypto_generichash_BYTES_MAX);
  SOTTO_CHECK(crypto_generichash_init(&state_, nullptr, 0, out_bytes) == 0);
}

void Blake2b::Update(std::span<const uint8_t> bytes) {
  SOTTO_CHECK(crypto_generichash_update(&state_, bytes.data(), bytes.size()) == 0);
}

void Blake2b::UpdateU64(uint64_t value) {
  uint8_t le[8];
  StoreLe64(value, le);
  Update(le);
}

void Blake2b::Final(std::span<uint8_t> out) {
  SOTTO_CHECK(out.size() == out_bytes_);
  SOTTO_CHECK(crypto_generichash_final(&state_, out.data(), out.size()) == 0);
}

}  // namespace sotto::crypto::internal
