#include "sotto/crypto/secret_bytes.h"

#include <sodium.h>

#include <cstring>

namespace sotto::crypto {

SecretBytes::SecretBytes(size_t size)
    : data_(size == 0 ? nullptr : std::make_unique<uint8_t[]>(size)), size_(size) {}

SecretBytes SecretBytes::CopyFrom(std::span<const uint8_t> bytes) {
  SecretBytes out(bytes.size());
  if (!bytes.empty()) {
    std::memcpy(out.data_.get(), bytes.data(), bytes.size());
  }
  return out;
}

StatusOr<SecretBytes> SecretBytes::Generate(size_t size, Random& random) {
  SecretBytes out(size);
  RETURN_IF_ERROR(random.Fill(out.mutable_bytes()));
  return out;
}

SecretBytes::~SecretBytes() { Wipe(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept
    : data_(std::move(other.data_)), size_(other.size_) {
  // The buffer changed owner without being copied; the source now holds nothing.
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    Wipe();
    data_ = std::move(other.data_);
    size_ = other.size_;
    other.size_ = 0;
  }
  return *this;
}

SecretBytes SecretBytes::Clone() const { return CopyFrom(bytes()); }

void SecretBytes::Wipe() {
  if (data_ != nullptr) {
    sodium_memzero(data_.get(), size_);
  }
}

bool operator==(const SecretBytes& a, const SecretBytes& b) {
  if (a.size_ != b.size_) {
    return false;
  }
  if (a.size_ == 0) {
    return true;
  }
  return sodium_memcmp(a.data_.get(), b.data_.get(), a.size_) == 0;
}

}  // namespace sotto::crypto
