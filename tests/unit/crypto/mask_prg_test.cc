#include "sotto/crypto/mask_prg.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "crypto_test_util.h"

namespace sotto::crypto {
namespace {

using ::sotto::crypto::testing::FromHex;
using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 20181;

Seed SeedFromBytes(const std::vector<uint8_t>& bytes) {
  auto seed = Seed::FromBytes(bytes);
  EXPECT_TRUE(seed.ok());
  return std::move(seed).value();
}

Seed RandomSeed(uint64_t seed) {
  SeededRandom random(seed);
  auto out = Seed::Generate(random);
  EXPECT_TRUE(out.ok());
  return std::move(out).value();
}

std::vector<uint8_t> CountingKey() {
  std::vector<uint8_t> key(32);
  for (size_t i = 0; i < key.size(); ++i) key[i] = static_cast<uint8_t>(i);
  return key;
}

// Keystream bytes [16 * first_word, ...) as produced through the uint32 mask API.
std::string KeystreamHex(const MaskPrg& prg, uint64_t first_word, size_t words) {
  std::vector<uint32_t> masks(words);
  EXPECT_TRUE(prg.ApplyDense(first_word, masks, MaskOp::kSet).ok());
  std::vector<uint8_t> bytes(words * 4);
  std::memcpy(bytes.data(), masks.data(), bytes.size());  // little-endian host
  return ToHex(bytes);
}

std::vector<uint32_t> Dense32(const MaskPrg& prg, uint64_t begin, size_t n) {
  std::vector<uint32_t> out(n);
  EXPECT_TRUE(prg.ApplyDense(begin, out, MaskOp::kSet).ok());
  return out;
}

std::vector<uint64_t> Dense64(const MaskPrg& prg, uint64_t begin, size_t n) {
  std::vector<uint64_t> out(n);
  EXPECT_TRUE(prg.ApplyDense(begin, out, MaskOp::kSet).ok());
  return out;
}

// A seeded random strictly ascending support of about density * d coordinates below d.
std::vector<uint32_t> RandomSupport(uint64_t seed, uint32_t d, double density) {
  Prng prng(seed);
  std::vector<uint32_t> support;
  for (uint32_t j = 0; j < d; ++j) {
    if (prng.Uniform() < density) support.push_back(j);
  }
  return support;
}

// RFC 8439 appendix A.1, test vectors 1 and 2: all-zero key and nonce, blocks 0 and 1. With the
// default stream 0 the nonce is all-zero, so these are words 0..31 of the uint32 masks.
TEST(MaskPrgTest, Rfc8439AppendixA1ZeroKey) {
  MaskPrg prg(SeedFromBytes(std::vector<uint8_t>(32, 0)));
  EXPECT_EQ(KeystreamHex(prg, 0, 16),
            "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7"
            "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586");
  EXPECT_EQ(KeystreamHex(prg, 16, 16),
            "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed"
            "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f");
}

// RFC 8439 section 2.3.2: key 00..1f, nonce 00 00 00 09 00 00 00 4a 00 00 00 00, block 1. The
// nonce is LE64(stream) || 0^4 with stream = 0x4a00000009000000; block 1 is words 16..31.
TEST(MaskPrgTest, Rfc8439Section232Block) {
  MaskPrg prg(SeedFromBytes(CountingKey()), 0x4a00000009000000ULL);
  EXPECT_EQ(KeystreamHex(prg, 16, 16),
            "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e"
            "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e");
  // The same block through a sparse support that touches only it.
  std::vector<uint32_t> support = {16, 20, 31};
  std::vector<uint32_t> sparse(3);
  ASSERT_TRUE(prg.ApplySparse(support, sparse, MaskOp::kSet).ok());
  const auto dense = Dense32(prg, 16, 16);
  EXPECT_EQ(sparse, (std::vector<uint32_t>{dense[0], dense[4], dense[15]}));
}

// RFC 8439 section 2.4.2: the same key, nonce 00 00 00 00 00 00 00 4a 00 00 00 00, counter 1;
// the keystream is ciphertext XOR plaintext.
TEST(MaskPrgTest, Rfc8439Section242Encryption) {
  const std::string plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the "
      "future, sunscreen would be it.";
  const std::vector<uint8_t> ciphertext = FromHex(
      "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b"
      "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8"
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736"
      "5af90bbf74a35be6b40b8eedf2785e42874d");
  ASSERT_EQ(ciphertext.size(), plaintext.size());
  std::vector<uint8_t> keystream(ciphertext.size());
  for (size_t i = 0; i < keystream.size(); ++i) {
    keystream[i] = ciphertext[i] ^ static_cast<uint8_t>(plaintext[i]);
  }
  const size_t words = keystream.size() / 4;  // 28 whole words
  MaskPrg prg(SeedFromBytes(CountingKey()), 0x4a00000000000000ULL);
  EXPECT_EQ(KeystreamHex(prg, 16, words), ToHex(std::span(keystream).first(words * 4)));
  // In the 2^64 ring, coordinate j is keystream bytes [8j, 8j + 8): block 1 starts at j = 8.
  const auto masks64 = Dense64(prg, 8, words / 2);
  std::vector<uint8_t> bytes(masks64.size() * 8);
  std::memcpy(bytes.data(), masks64.data(), bytes.size());
  EXPECT_EQ(ToHex(bytes), ToHex(std::span(keystream).first(bytes.size())));
}

// Ring 2^64 layout: mask64(j) = word(2j) | word(2j + 1) << 32.
TEST(MaskPrgTest, Ring64UsesTwoConsecutiveWords) {
  MaskPrg prg(RandomSeed(kSeed));
  const auto words = Dense32(prg, 0, 2 * 300);
  const auto masks = Dense64(prg, 0, 300);
  for (size_t j = 0; j < masks.size(); ++j) {
    ASSERT_EQ(masks[j], words[2 * j] | (uint64_t{words[2 * j + 1]} << 32)) << j;
  }
}

// Edge sizes and unaligned starts: every dense range equals the slice of one long range.
TEST(MaskPrgTest, DenseRangesAgreeAtAnyOffsetAndLength) {
  MaskPrg prg(RandomSeed(kSeed));
  const size_t total = 3 * 4096 + 100;
  const auto ref32 = Dense32(prg, 0, total);
  const auto ref64 = Dense64(prg, 0, total);
  for (uint64_t begin : {0u, 1u, 7u, 15u, 16u, 17u, 1023u, 4095u, 4097u}) {
    for (size_t n : {0u, 1u, 15u, 16u, 17u, 31u, 32u, 33u, 1025u, 4096u, 4097u}) {
      if (begin + n > total) continue;
      EXPECT_TRUE(std::equal(ref32.begin() + begin, ref32.begin() + begin + n,
                             Dense32(prg, begin, n).begin()))
          << begin << "+" << n;
      EXPECT_TRUE(std::equal(ref64.begin() + begin, ref64.begin() + begin + n,
                             Dense64(prg, begin, n).begin()))
          << begin << "+" << n;
    }
  }
}

// Sparse generation equals dense generation on the support, for several densities, and the
// mask of a coordinate does not depend on which other coordinates are in the support.
TEST(MaskPrgTest, SparseEqualsDenseOnTheSupport) {
  const uint32_t d = 20000;
  MaskPrg prg(RandomSeed(kSeed));
  const auto dense32 = Dense32(prg, 0, d);
  const auto dense64 = Dense64(prg, 0, d);
  for (double density : {0.001, 0.01, 0.1, 0.5, 1.0}) {
    const auto support = RandomSupport(kSeed + static_cast<uint64_t>(density * 1000), d, density);
    std::vector<uint32_t> sparse32(support.size());
    std::vector<uint64_t> sparse64(support.size());
    ASSERT_TRUE(prg.ApplySparse(support, sparse32, MaskOp::kSet).ok());
    ASSERT_TRUE(prg.ApplySparse(support, sparse64, MaskOp::kSet).ok());
    for (size_t i = 0; i < support.size(); ++i) {
      ASSERT_EQ(sparse32[i], dense32[support[i]]) << "density " << density << " seed " << kSeed;
      ASSERT_EQ(sparse64[i], dense64[support[i]]) << "density " << density << " seed " << kSeed;
    }
  }
}

TEST(MaskPrgTest, MaskOfACoordinateIsIndependentOfTheSupport) {
  MaskPrg prg(RandomSeed(kSeed));
  const std::vector<uint32_t> a = {3, 64, 65, 1000, 70000};
  const std::vector<uint32_t> b = {64, 1000, 1001, 5000000};
  std::vector<uint32_t> ma(a.size()), mb(b.size());
  ASSERT_TRUE(prg.ApplySparse(a, ma, MaskOp::kSet).ok());
  ASSERT_TRUE(prg.ApplySparse(b, mb, MaskOp::kSet).ok());
  EXPECT_EQ(ma[1], mb[0]);  // coordinate 64
  EXPECT_EQ(ma[3], mb[1]);  // coordinate 1000
  // And the same (seed, support) always gives the same masks, from a fresh generator too.
  MaskPrg again(RandomSeed(kSeed));
  std::vector<uint32_t> ma2(a.size());
  ASSERT_TRUE(again.ApplySparse(a, ma2, MaskOp::kSet).ok());
  EXPECT_EQ(ma, ma2);
}

TEST(MaskPrgTest, SeedsAndStreamsGiveDifferentMasks) {
  MaskPrg a(RandomSeed(kSeed));
  MaskPrg b(RandomSeed(kSeed + 1));
  MaskPrg c(RandomSeed(kSeed), 1);
  const auto ma = Dense32(a, 0, 64);
  EXPECT_NE(ma, Dense32(b, 0, 64));
  EXPECT_NE(ma, Dense32(c, 0, 64));
  EXPECT_EQ(c.stream(), 1u);
}

// Pairwise masks cancel: u adds the pair mask, v subtracts it, on the same support.
TEST(MaskPrgTest, AddAndSubtractCancel) {
  MaskPrg prg(RandomSeed(kSeed));
  const auto support = RandomSupport(kSeed, 5000, 0.05);
  Prng prng(kSeed);
  std::vector<uint32_t> x32(support.size()), y32(support.size());
  std::vector<uint64_t> x64(support.size()), y64(support.size());
  for (size_t i = 0; i < support.size(); ++i) {
    x32[i] = static_cast<uint32_t>(prng.Next());
    y32[i] = static_cast<uint32_t>(prng.Next());
    x64[i] = prng.Next();
    y64[i] = prng.Next();
  }
  auto u32 = x32, v32 = y32;
  auto u64 = x64, v64 = y64;
  ASSERT_TRUE(prg.ApplySparse(support, u32, MaskOp::kAdd).ok());
  ASSERT_TRUE(prg.ApplySparse(support, v32, MaskOp::kSubtract).ok());
  ASSERT_TRUE(prg.ApplySparse(support, u64, MaskOp::kAdd).ok());
  ASSERT_TRUE(prg.ApplySparse(support, v64, MaskOp::kSubtract).ok());
  std::vector<uint32_t> masks(support.size());
  ASSERT_TRUE(prg.ApplySparse(support, masks, MaskOp::kSet).ok());
  for (size_t i = 0; i < support.size(); ++i) {
    ASSERT_EQ(static_cast<uint32_t>(u32[i] + v32[i]), static_cast<uint32_t>(x32[i] + y32[i]));
    ASSERT_EQ(u64[i] + v64[i], x64[i] + y64[i]);
    ASSERT_EQ(u32[i], static_cast<uint32_t>(x32[i] + masks[i]));
  }
  // Dense add then subtract restores the input.
  std::vector<uint64_t> dense(5000, 12345);
  ASSERT_TRUE(prg.ApplyDense(3, dense, MaskOp::kAdd).ok());
  EXPECT_NE(dense[0], 12345u);
  ASSERT_TRUE(prg.ApplyDense(3, dense, MaskOp::kSubtract).ok());
  EXPECT_EQ(dense, std::vector<uint64_t>(5000, 12345));
}

TEST(MaskPrgTest, TheLastCoordinatesAreReachable) {
  MaskPrg prg(RandomSeed(kSeed));
  const uint64_t last = kMaxMaskCoordinates - 1;
  std::vector<uint32_t> tail32(5);
  std::vector<uint64_t> tail64(5);
  ASSERT_TRUE(prg.ApplyDense(last - 4, tail32, MaskOp::kSet).ok());
  ASSERT_TRUE(prg.ApplyDense(last - 4, tail64, MaskOp::kSet).ok());
  const std::vector<uint32_t> support = {0, static_cast<uint32_t>(last)};
  std::vector<uint32_t> sparse32(2);
  std::vector<uint64_t> sparse64(2);
  ASSERT_TRUE(prg.ApplySparse(support, sparse32, MaskOp::kSet).ok());
  ASSERT_TRUE(prg.ApplySparse(support, sparse64, MaskOp::kSet).ok());
  EXPECT_EQ(sparse32[1], tail32[4]);
  EXPECT_EQ(sparse64[1], tail64[4]);
}

TEST(MaskPrgTest, RejectsBadArgumentsWithoutWriting) {
  MaskPrg prg(RandomSeed(kSeed));
  std::vector<uint32_t> values(3, 7);
  std::vector<uint64_t> values64(3, 7);
  const std::vector<uint32_t> unsorted = {5, 4, 9};
  const std::vector<uint32_t> duplicate = {5, 9, 9};
  const std::vector<uint32_t> short_support = {1, 2};
  for (const auto* support : {&unsorted, &duplicate, &short_support}) {
    EXPECT_EQ(prg.ApplySparse(*support, values, MaskOp::kAdd).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(prg.ApplySparse(*support, values64, MaskOp::kAdd).code(),
              StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(prg.ApplyDense(kMaxMaskCoordinates - 2, values, MaskOp::kSet).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(prg.ApplyDense(kMaxMaskCoordinates, values64, MaskOp::kSet).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(prg.ApplyDense(0, values, static_cast<MaskOp>(9)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(prg.ApplySparse(std::vector<uint32_t>{1, 2, 3}, values, static_cast<MaskOp>(9)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(values, std::vector<uint32_t>(3, 7));
  EXPECT_EQ(values64, std::vector<uint64_t>(3, 7));
  // Empty ranges and supports are fine.
  EXPECT_TRUE(prg.ApplyDense(kMaxMaskCoordinates, std::span<uint32_t>(), MaskOp::kSet).ok());
  EXPECT_TRUE(prg.ApplySparse({}, std::span<uint32_t>(), MaskOp::kSet).ok());
}

TEST(MaskPrgTest, MovedFromGeneratorRefusesWork) {
  MaskPrg a(RandomSeed(kSeed));
  const auto expected = Dense32(a, 0, 16);
  MaskPrg b(std::move(a));
  EXPECT_EQ(Dense32(b, 0, 16), expected);
  std::vector<uint32_t> values(4);
  EXPECT_EQ(a.ApplyDense(0, values, MaskOp::kSet).code(),  // NOLINT(bugprone-use-after-move)
            StatusCode::kInvalidArgument);
}

TEST(MaskPrgTest, MasksLookUniform) {
  // Sanity, not a proof: bit balance over 2^16 words of one stream.
  MaskPrg prg(RandomSeed(kSeed));
  const auto words = Dense32(prg, 0, 1 << 16);
  uint64_t ones = 0;
  for (uint32_t w : words) ones += static_cast<uint64_t>(__builtin_popcount(w));
  const double expected = 16.0 * words.size();
  EXPECT_NEAR(static_cast<double>(ones), expected, 6 * std::sqrt(8.0 * words.size()))
      << "seed " << kSeed;
}

}  // namespace
}  // namespace sotto::crypto
