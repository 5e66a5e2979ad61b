#include "sotto/crypto/shamir.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <string>
#include <vector>

#include "crypto_test_util.h"

namespace sotto::crypto {
namespace {

using ::sotto::crypto::testing::FailingRandom;
using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 1979;  // Shamir's "How to share a secret"

std::vector<uint8_t> MakeSecret(uint64_t seed) {
  SeededRandom random(seed);
  std::vector<uint8_t> secret(kShamirSecretBytes);
  EXPECT_TRUE(random.Fill(secret).ok());
  return secret;
}

std::vector<ShamirShare> Split(std::span<const uint8_t> secret, uint32_t t, uint32_t n,
                               uint64_t seed) {
  SeededRandom random(seed);
  auto shares = ShamirSplit(secret, t, n, random);
  EXPECT_TRUE(shares.ok()) << shares.status();
  return shares.ok() ? std::move(shares).value() : std::vector<ShamirShare>();
}

// Copies of the shares at `indices` (shares are move-only; tests clone them).
std::vector<ShamirShare> Pick(const std::vector<ShamirShare>& shares,
                              const std::vector<size_t>& indices) {
  std::vector<ShamirShare> out;
  for (size_t i : indices) {
    out.push_back({shares[i].x, shares[i].value.Clone()});
  }
  return out;
}

std::vector<uint8_t> Reconstruct(std::span<const ShamirShare> shares, uint32_t t) {
  auto secret = ShamirReconstruct(shares, t);
  EXPECT_TRUE(secret.ok()) << secret.status();
  return secret.ok() ? std::vector<uint8_t>(secret->bytes().begin(), secret->bytes().end())
                     : std::vector<uint8_t>();
}

TEST(ShamirTest, SharesHaveTheDocumentedShape) {
  const auto secret = MakeSecret(kSeed);
  const auto shares = Split(secret, 3, 5, kSeed);
  ASSERT_EQ(shares.size(), 5u);
  for (size_t i = 0; i < shares.size(); ++i) {
    EXPECT_EQ(shares[i].x, i + 1);
    EXPECT_EQ(shares[i].value.size(), kShamirShareBytes);
    // Each 16-byte element is below 2^127 - 1: the top bit is clear.
    for (size_t c = 0; c < 3; ++c) {
      EXPECT_EQ(shares[i].value.bytes()[16 * c + 15] & 0x80, 0);
    }
  }
}

TEST(ShamirTest, EveryThresholdSubsetReconstructs) {
  const auto secret = MakeSecret(kSeed);
  const uint32_t n = 7, t = 4;
  const auto shares = Split(secret, t, n, kSeed);
  // All C(7, 4) = 35 subsets, each in two orders.
  std::vector<bool> chosen(n, false);
  std::fill(chosen.begin(), chosen.begin() + t, true);
  int subsets = 0;
  do {
    std::vector<size_t> indices;
    for (size_t i = 0; i < n; ++i) {
      if (chosen[i]) indices.push_back(i);
    }
    EXPECT_EQ(Reconstruct(Pick(shares, indices), t), secret) << "seed " << kSeed;
    std::reverse(indices.begin(), indices.end());
    EXPECT_EQ(Reconstruct(Pick(shares, indices), t), secret) << "seed " << kSeed;
    ++subsets;
  } while (std::prev_permutation(chosen.begin(), chosen.end()));
  EXPECT_EQ(subsets, 35);
}

struct Shape {
  uint32_t n;
  uint32_t t;
};

class ShamirShapeTest : public ::testing::TestWithParam<Shape> {};

TEST_P(ShamirShapeTest, RoundTripWithThresholdAndAllShares) {
  const auto [n, t] = GetParam();
  for (uint64_t seed = kSeed; seed < kSeed + 3; ++seed) {
    const auto secret = MakeSecret(seed);
    const auto shares = Split(secret, t, n, seed);
    ASSERT_EQ(shares.size(), n);
    // The last t shares, then all n (the extra ones are checked for consistency).
    std::vector<size_t> last(t);
    std::iota(last.begin(), last.end(), n - t);
    EXPECT_EQ(Reconstruct(Pick(shares, last), t), secret) << "seed " << seed;
    EXPECT_EQ(Reconstruct(shares, t), secret) << "seed " << seed;
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, ShamirShapeTest,
                         ::testing::Values(Shape{1, 1}, Shape{2, 1}, Shape{2, 2}, Shape{5, 3},
                                           Shape{10, 10}, Shape{33, 17}, Shape{100, 51}),
                         [](const ::testing::TestParamInfo<Shape>& info) {
                           return "n" + std::to_string(info.param.n) + "_t" +
                                  std::to_string(info.param.t);
                         });

TEST(ShamirTest, SecretsAtTheEdgesOfTheChunkRanges) {
  for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xff}}) {
    const std::vector<uint8_t> secret(kShamirSecretBytes, fill);
    const auto shares = Split(secret, 3, 4, kSeed);
    EXPECT_EQ(Reconstruct(Pick(shares, {3, 1, 0}), 3), secret) << int{fill};
  }
}

TEST(ShamirTest, TenThousandShares) {
  // n = 10,000 with a threshold that keeps Debug + ASan quick; bench/crypto_bench.cc times
  // t = 5,001.
  const uint32_t n = 10000, t = 101;
  const auto secret = MakeSecret(kSeed);
  const auto shares = Split(secret, t, n, kSeed);
  ASSERT_EQ(shares.size(), n);
  EXPECT_EQ(shares.back().x, n);
  // Highest points, a seeded random subset, and t + 5 shares (consistency checked).
  std::vector<size_t> high(t);
  std::iota(high.begin(), high.end(), n - t);
  EXPECT_EQ(Reconstruct(Pick(shares, high), t), secret);
  std::vector<size_t> all(n);
  std::iota(all.begin(), all.end(), 0);
  Prng prng(kSeed);
  prng.Shuffle(std::span<size_t>(all));
  all.resize(t + 5);
  EXPECT_EQ(Reconstruct(Pick(shares, all), t), secret) << "seed " << kSeed;
}

TEST(ShamirTest, SplitIsReproducibleWithASeededSource) {
  const auto secret = MakeSecret(kSeed);
  const auto a = Split(secret, 3, 5, kSeed);
  const auto b = Split(secret, 3, 5, kSeed);
  const auto c = Split(secret, 3, 5, kSeed + 1);
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_TRUE(a[i].value == b[i].value);
    EXPECT_FALSE(a[i].value == c[i].value);
  }
}

// Fewer than t shares are refused, not guessed at.
TEST(ShamirTest, FewerThanThresholdSharesAreRefused) {
  const auto secret = MakeSecret(kSeed);
  const auto shares = Split(secret, 5, 8, kSeed);
  auto result = ShamirReconstruct(Pick(shares, {0, 1, 2, 3}), 5);
  EXPECT_EQ(result.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirReconstruct({}, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirReconstruct(Pick(shares, {0, 1, 2, 3, 4}), 0).status().code(),
            StatusCode::kInvalidArgument);
}

// With t - 1 shares, every secret is equally likely: for t = 2, the value of one share is
// uniform whatever the secret. Chi-square over the top byte of each share element (values
// 0..127), for an all-zero and an all-0xff secret.
TEST(ShamirTest, SingleShareOfTwoOfNLooksUniform) {
  for (uint8_t fill : {uint8_t{0x00}, uint8_t{0xff}}) {
    const std::vector<uint8_t> secret(kShamirSecretBytes, fill);
    std::vector<int> counts(128, 0);
    const int draws = 2048;
    SeededRandom random(kSeed);
    for (int d = 0; d < draws; ++d) {
      auto shares = ShamirSplit(secret, 2, 2, random);
      ASSERT_TRUE(shares.ok());
      for (size_t c = 0; c < 3; ++c) {
        ++counts[(*shares)[0].value.bytes()[16 * c + 15]];
      }
    }
    const double expected = 3.0 * draws / 128;
    double chi2 = 0;
    for (int count : counts) chi2 += (count - expected) * (count - expected) / expected;
    // 127 degrees of freedom: mean 127, sd ~16; 220 is beyond 5 sd.
    EXPECT_LT(chi2, 220.0) << "fill " << int{fill} << " seed " << kSeed;
  }
}

TEST(ShamirTest, ReconstructValidatesShares) {
  const auto secret = MakeSecret(kSeed);
  const auto shares = Split(secret, 3, 5, kSeed);

  auto zero_x = Pick(shares, {0, 1, 2});
  zero_x[1].x = 0;
  EXPECT_EQ(ShamirReconstruct(zero_x, 3).status().code(), StatusCode::kInvalidArgument);

  auto duplicate = Pick(shares, {0, 1, 2, 3});
  duplicate[3].x = duplicate[0].x;
  EXPECT_EQ(ShamirReconstruct(duplicate, 3).status().code(), StatusCode::kInvalidArgument);

  for (size_t size : {size_t{0}, size_t{16}, kShamirShareBytes - 1, kShamirShareBytes + 1}) {
    auto wrong_length = Pick(shares, {0, 1, 2});
    wrong_length[2].value = SecretBytes(size);
    EXPECT_EQ(ShamirReconstruct(wrong_length, 3).status().code(), StatusCode::kInvalidArgument)
        << size;
  }

  // A field element >= p: top bit set, and exactly p = 2^127 - 1.
  for (size_t element = 0; element < 3; ++element) {
    auto top_bit = Pick(shares, {0, 1, 2});
    top_bit[0].value.mutable_bytes()[16 * element + 15] |= 0x80;
    EXPECT_EQ(ShamirReconstruct(top_bit, 3).status().code(), StatusCode::kInvalidArgument);
    auto exactly_p = Pick(shares, {0, 1, 2});
    auto bytes = exactly_p[0].value.mutable_bytes().subspan(16 * element, 16);
    std::fill(bytes.begin(), bytes.end(), 0xff);
    bytes[15] = 0x7f;
    EXPECT_EQ(ShamirReconstruct(exactly_p, 3).status().code(), StatusCode::kInvalidArgument);
    bytes[0] = 0xfe;  // p - 1 is a field element: accepted (and rebuilds some other secret)
    EXPECT_NE(ShamirReconstruct(exactly_p, 3).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(ShamirTest, SplitValidatesArguments) {
  SeededRandom random(kSeed);
  const auto secret = MakeSecret(kSeed);
  EXPECT_EQ(ShamirSplit(std::span<const uint8_t>(secret).first(31), 2, 3, random).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(std::vector<uint8_t>(33), 2, 3, random).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(secret, 0, 3, random).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(secret, 4, 3, random).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ShamirSplit(secret, 2, kShamirMaxShares + 1, random).status().code(),
            StatusCode::kInvalidArgument);
  FailingRandom failing;
  EXPECT_EQ(ShamirSplit(secret, 2, 3, failing).status().code(), StatusCode::kUnavailable);
  // Threshold 1 needs no randomness: every share is the secret.
  auto trivial = ShamirSplit(secret, 1, 3, failing);
  ASSERT_TRUE(trivial.ok());
  EXPECT_EQ(Reconstruct(Pick(*trivial, {2}), 1), secret);
}

// A randomly corrupted share among exactly t never yields the secret silently: the rebuilt
// chunks leave their range (DataLoss) or, rarely, give a different secret.
TEST(ShamirTest, CorruptShareAmongThresholdIsNotTheSecret) {
  for (uint64_t seed = kSeed; seed < kSeed + 20; ++seed) {
    const auto secret = MakeSecret(seed);
    const auto shares = Split(secret, 4, 6, seed);
    auto picked = Pick(shares, {0, 2, 3, 5});
    Prng prng(seed);
    const size_t victim = prng.UniformInt(4);
    const size_t byte = prng.UniformInt(kShamirShareBytes - 1);  // keep elements < p mostly
    picked[victim].value.mutable_bytes()[byte] ^= 0x01;
    auto result = ShamirReconstruct(picked, 4);
    if (result.ok()) {
      EXPECT_NE(ToHex(result->bytes()), ToHex(secret)) << "seed " << seed;
    } else {
      EXPECT_EQ(result.status().code(), StatusCode::kDataLoss) << "seed " << seed;
    }
  }
}

// A crafted corruption that stays in range rebuilds a *different* secret with no error; only
// the protocol's check against the commitment / public key can catch it (BAD_INPUTS row 18).
// For t = 2 with x = 1, 2 the secret is 2 y1 - y2, so y2 + 1 lowers every chunk by one.
TEST(ShamirTest, CraftedCorruptionGivesADifferentSecret) {
  std::vector<uint8_t> secret(kShamirSecretBytes, 0x10);
  const auto shares = Split(secret, 2, 2, kSeed);
  auto picked = Pick(shares, {0, 1});
  for (size_t c = 0; c < 3; ++c) {
    // Add 1 to element c of share x = 2 (little-endian, with carry; it stays < p unless it was
    // p - 1, which the fixed seed does not produce).
    auto element = picked[1].value.mutable_bytes().subspan(16 * c, 16);
    for (uint8_t& b : element) {
      if (++b != 0) break;
    }
  }
  auto result = ShamirReconstruct(picked, 2);
  ASSERT_TRUE(result.ok()) << result.status() << " seed " << kSeed;
  std::vector<uint8_t> expected = secret;
  expected[0] = 0x0f;   // chunk 0 starts at byte 0
  expected[11] = 0x0f;  // chunk 1 at byte 11
  expected[22] = 0x0f;  // chunk 2 at byte 22
  EXPECT_EQ(ToHex(result->bytes()), ToHex(expected));
}

// More than t shares: any share off the polynomial is detected.
TEST(ShamirTest, CorruptExtraShareIsDataLoss) {
  const auto secret = MakeSecret(kSeed);
  const auto shares = Split(secret, 3, 6, kSeed);
  for (size_t victim = 0; victim < 6; ++victim) {
    auto all = Pick(shares, {0, 1, 2, 3, 4, 5});
    all[victim].value.mutable_bytes()[victim] ^= 0x40;
    EXPECT_EQ(ShamirReconstruct(all, 3).status().code(), StatusCode::kDataLoss) << victim;
  }
  // Shares of another split of the same secret do not mix either.
  const auto other = Split(secret, 3, 6, kSeed + 1);
  auto mixed = Pick(shares, {0, 1, 2});
  mixed.push_back({other[3].x, other[3].value.Clone()});
  EXPECT_EQ(ShamirReconstruct(mixed, 3).status().code(), StatusCode::kDataLoss);
}

}  // namespace
}  // namespace sotto::crypto
