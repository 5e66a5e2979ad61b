#include "sotto/crypto/hash.h"

#include "sodium_util.h"

namespace sotto::crypto {

struct Blake2b256Hasher::State {
  internal::Blake2b hash{kBlake2b256Bytes};
};

Blake2b256Hasher::Blake2b256Hasher() : state_(std::make_unique<State>()) {}
Blake2b256Hasher::~Blake2b256Hasher() = default;

void Blake2b256Hasher::Update(std::span<const uint8_t> bytes) { state_->hash.Update(bytes); }

void Blake2b256Hasher::UpdateU64(uint64_t value) { state_->hash.UpdateU64(value); }

Blake2b256Digest Blake2b256Hasher::Final() {
  Blake2b256Digest out;
  state_->hash.Final(out);
  return out;
}

Blake2b256Digest Blake2b256(std::span<const uint8_t> bytes) {
  Blake2b256Hasher hasher;
  hasher.Update(bytes);
  return hasher.Final();
}

}  // namespace sotto::crypto
