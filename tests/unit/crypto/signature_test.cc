#include "sotto/crypto/signature.h"

#include <gtest/gtest.h>

#include <array>
#include <string>
#include <vector>

#include "crypto_test_util.h"

namespace sotto::crypto {
namespace {

using ::sotto::crypto::testing::FailingRandom;
using ::sotto::crypto::testing::FromHex;
using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 8032;

Ed25519KeyPair PairFromSeedHex(std::string_view hex) {
  auto seed = Seed::FromBytes(FromHex(hex));
  EXPECT_TRUE(seed.ok());
  auto pair = Ed25519KeyPairFromSeed(*seed);
  EXPECT_TRUE(pair.ok()) << pair.status();
  return std::move(pair).value();
}

struct Rfc8032Vector {
  const char* secret;
  const char* public_key;
  const char* message;
  const char* signature;
};

// RFC 8032 section 7.1, TEST 1 (empty message) and TEST 2 (one byte).
const Rfc8032Vector kVectors[] = {
    {"9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a", "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b"
     "4"
     "6bd25bf5f0595bbe24655141438e7a100b"},
    {"4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11"
     "d"
     "8c387b2eaeb4302aeeb00d291612bb0c00"},
};

TEST(Ed25519Test, Rfc8032Vectors) {
  for (const Rfc8032Vector& v : kVectors) {
    Ed25519KeyPair pair = PairFromSeedHex(v.secret);
    EXPECT_EQ(ToHex(pair.public_key.bytes()), v.public_key);
    const std::vector<uint8_t> message = FromHex(v.message);
    auto signature = SignEd25519(pair.secret_key, message);
    ASSERT_TRUE(signature.ok()) << signature.status();
    EXPECT_EQ(ToHex(signature->bytes()), v.signature);
    // Verify from the published bytes alone.
    auto public_key = Ed25519PublicKey::FromBytes(FromHex(v.public_key));
    auto published = Ed25519Signature::FromBytes(FromHex(v.signature));
    ASSERT_TRUE(public_key.ok() && published.ok());
    EXPECT_TRUE(VerifyEd25519(*public_key, message, *published).ok());
  }
}

TEST(Ed25519Test, VerifyRefusesWhatWasNotSigned) {
  Ed25519KeyPair pair = PairFromSeedHex(kVectors[1].secret);
  Ed25519KeyPair other = PairFromSeedHex(kVectors[0].secret);
  const std::vector<uint8_t> message = {1, 2, 3, 4};
  auto signature = SignEd25519(pair.secret_key, message);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(VerifyEd25519(pair.public_key, message, *signature).ok());

  const std::vector<uint8_t> altered = {1, 2, 3, 5};
  EXPECT_EQ(VerifyEd25519(pair.public_key, altered, *signature).code(),
            StatusCode::kUnauthenticated);
  EXPECT_EQ(VerifyEd25519(other.public_key, message, *signature).code(),
            StatusCode::kUnauthenticated);
  for (size_t bit = 0; bit < kEd25519SignatureBytes * 8; bit += 7) {
    std::array<uint8_t, kEd25519SignatureBytes> bytes = signature->bytes();
    bytes[bit / 8] ^= static_cast<uint8_t>(1u << (bit % 8));
    auto tampered = Ed25519Signature::FromBytes(bytes);
    ASSERT_TRUE(tampered.ok());
    EXPECT_EQ(VerifyEd25519(pair.public_key, message, *tampered).code(),
              StatusCode::kUnauthenticated)
        << "bit " << bit;
  }
  // An all-zero (small-order) public key verifies nothing.
  auto zero_key = Ed25519PublicKey::FromBytes(std::vector<uint8_t>(kEd25519PublicKeyBytes, 0));
  ASSERT_TRUE(zero_key.ok());
  EXPECT_EQ(VerifyEd25519(*zero_key, message, *signature).code(), StatusCode::kUnauthenticated);
}

TEST(Ed25519Test, FromBytesChecksLengths) {
  for (size_t size : {size_t{0}, size_t{31}, size_t{33}}) {
    EXPECT_EQ(Ed25519PublicKey::FromBytes(std::vector<uint8_t>(size, 1)).status().code(),
              StatusCode::kInvalidArgument);
  }
  for (size_t size : {size_t{0}, size_t{63}, size_t{65}}) {
    EXPECT_EQ(Ed25519Signature::FromBytes(std::vector<uint8_t>(size, 1)).status().code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(Ed25519SecretKey::FromBytes(std::vector<uint8_t>(32, 1)).status().code(),
            StatusCode::kInvalidArgument);
}

// libsodium signs with the public half stored in the secret key; a mismatched half is refused.
TEST(Ed25519Test, SignRefusesInconsistentSecretKey) {
  Ed25519KeyPair pair = PairFromSeedHex(kVectors[0].secret);
  Ed25519KeyPair other = PairFromSeedHex(kVectors[1].secret);
  std::vector<uint8_t> mixed(pair.secret_key.bytes().begin(), pair.secret_key.bytes().begin() + 32);
  mixed.insert(mixed.end(), other.public_key.bytes().begin(), other.public_key.bytes().end());
  auto key = Ed25519SecretKey::FromBytes(mixed);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(SignEd25519(*key, std::vector<uint8_t>{1}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(Ed25519Test, GenerationIsReproducible) {
  SeededRandom r1(kSeed), r2(kSeed);
  auto a = GenerateEd25519KeyPair(r1);
  auto b = GenerateEd25519KeyPair(r2);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->public_key, b->public_key) << "seed " << kSeed;
  FailingRandom failing;
  EXPECT_EQ(GenerateEd25519KeyPair(failing).status().code(), StatusCode::kUnavailable);
}

}  // namespace
}  // namespace sotto::crypto
