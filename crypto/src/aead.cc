#include "sotto/crypto/aead.h"

#include <sodium.h>

#include <array>
#include <string_view>

#include "sodium_util.h"
#include "sotto/base/status_macros.h"

namespace sotto::crypto {

static_assert(kAeadKeyBytes == crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
static_assert(kAeadNonceBytes == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
static_assert(kAeadTagBytes == crypto_aead_xchacha20poly1305_ietf_ABYTES);

namespace {

constexpr std::string_view kAeadLabel = "sotto/share-aead/v1";
constexpr size_t kAssociatedDataBytes = kAeadLabel.size() + 4 * 8;

std::array<uint8_t, kAssociatedDataBytes> AssociatedData(const AeadContext& context) {
  std::array<uint8_t, kAssociatedDataBytes> ad;
  std::copy(kAeadLabel.begin(), kAeadLabel.end(), ad.begin());
  uint8_t* p = ad.data() + kAeadLabel.size();
  internal::StoreLe64(context.run_id, p);
  internal::StoreLe64(context.round_id, p + 8);
  internal::StoreLe64(context.sender_id, p + 16);
  internal::StoreLe64(context.recipient_id, p + 24);
  return ad;
}

}  // namespace

StatusOr<std::vector<uint8_t>> AeadSeal(const Seed& key, const AeadContext& context,
                                        std::span<const uint8_t> plaintext, Random& random) {
  internal::EnsureSodium();
  if (key.bytes().size() != kAeadKeyBytes) {
    return InvalidArgumentError("AEAD key is empty (moved from)");
  }
  if (plaintext.size() > kAeadMaxPlaintextBytes) {
    return InvalidArgumentError("AEAD plaintext of " + std::to_string(plaintext.size()) +
                                " bytes exceeds the limit of " +
                                std::to_string(kAeadMaxPlaintextBytes));
  }
  std::vector<uint8_t> sealed(plaintext.size() + kAeadOverheadBytes);
  std::span<uint8_t> nonce(sealed.data(), kAeadNonceBytes);
  RETURN_IF_ERROR(random.Fill(nonce));
  const auto ad = AssociatedData(context);
  unsigned long long ciphertext_size = 0;  // NOLINT(runtime/int): libsodium's type
  if (crypto_aead_xchacha20poly1305_ietf_encrypt(
          sealed.data() + kAeadNonceBytes, &ciphertext_size, plaintext.data(), plaintext.size(),
          ad.data(), ad.size(), nullptr, nonce.data(), key.bytes().data()) != 0 ||
      ciphertext_size != plaintext.size() + kAeadTagBytes) {
    return InternalError("crypto_aead_xchacha20poly1305_ietf_encrypt failed");
  }
  return sealed;
}

StatusOr<SecretBytes> AeadOpen(const Seed& key, const AeadContext& context,
                               std::span<const uint8_t> sealed) {
  internal::EnsureSodium();
  if (key.bytes().size() != kAeadKeyBytes) {
    return InvalidArgumentError("AEAD key is empty (moved from)");
  }
  if (sealed.size() < kAeadOverheadBytes) {
    return InvalidArgumentError("sealed message of " + std::to_string(sealed.size()) +
                                " bytes is shorter than the " + std::to_string(kAeadOverheadBytes) +
                                "-byte nonce and tag");
  }
  const uint8_t* nonce = sealed.data();
  const uint8_t* ciphertext = sealed.data() + kAeadNonceBytes;
  const size_t ciphertext_size = sealed.size() - kAeadNonceBytes;
  SecretBytes plaintext(ciphertext_size - kAeadTagBytes);
  const auto ad = AssociatedData(context);
  unsigned long long plaintext_size = 0;  // NOLINT(runtime/int): libsodium's type
  // libsodium needs a writable pointer even for an empty plaintext.
  uint8_t empty_sink = 0;
  uint8_t* out = plaintext.empty() ? &empty_sink : plaintext.mutable_bytes().data();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &plaintext_size, nullptr, ciphertext,
                                                 ciphertext_size, ad.data(), ad.size(), nonce,
                                                 key.bytes().data()) != 0) {
    return UnauthenticatedError(
        "AEAD authentication failed (forged or corrupted message, or wrong key, run, round, "
        "sender or recipient)");
  }
  if (plaintext_size != plaintext.size()) {
    return InternalError("crypto_aead_xchacha20poly1305_ietf_decrypt returned a wrong size");
  }
  return plaintext;
}

}  // namespace sotto::crypto
