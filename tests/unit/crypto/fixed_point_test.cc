#include "sotto/crypto/fixed_point.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace sotto::crypto {
namespace {

constexpr uint64_t kSeed = 2147483647;

FixedPointCodec MakeCodec(double clip, double scale, uint64_t max_clients, Ring ring) {
  auto codec = FixedPointCodec::Create(
      {.clip = clip, .scale = scale, .max_clients = max_clients, .ring = ring});
  EXPECT_TRUE(codec.ok()) << codec.status();
  return std::move(codec).value();
}

template <typename Word>
Ring RingOf() {
  return sizeof(Word) == 4 ? Ring::kRing32 : Ring::kRing64;
}

template <typename Word>
class FixedPointRingTest : public ::testing::Test {};
using Words = ::testing::Types<uint32_t, uint64_t>;
TYPED_TEST_SUITE(FixedPointRingTest, Words);

TYPED_TEST(FixedPointRingTest, RoundTripWithinOneQuantum) {
  using Word = TypeParam;
  const FixedPointCodec codec = MakeCodec(2.0, 1 << 16, 1, RingOf<Word>());
  Prng prng(kSeed);
  std::vector<float> values(4096);
  for (float& v : values) v = static_cast<float>(prng.Normal());
  std::vector<Word> encoded(values.size());
  ASSERT_TRUE(codec.Encode(std::span<const float>(values), prng, std::span<Word>(encoded)).ok());
  std::vector<double> decoded(values.size());
  ASSERT_TRUE(codec.DecodeSum(std::span<const Word>(encoded), 1, std::span<double>(decoded)).ok());
  for (size_t i = 0; i < values.size(); ++i) {
    const double clipped = std::clamp(static_cast<double>(values[i]), -2.0, 2.0);
    ASSERT_LT(std::abs(decoded[i] - clipped), codec.quantum()) << i << " seed " << kSeed;
  }
}

TYPED_TEST(FixedPointRingTest, ClipsToTheRange) {
  using Word = TypeParam;
  const FixedPointCodec codec = MakeCodec(1.5, 1024, 1, RingOf<Word>());
  Prng prng(kSeed);
  const std::vector<double> values = {-1e30, -3.0, -1.5, 1.5, 7.0, 1e30};
  std::vector<Word> encoded(values.size());
  ASSERT_TRUE(codec.Encode(std::span<const double>(values), prng, std::span<Word>(encoded)).ok());
  std::vector<double> decoded(values.size());
  ASSERT_TRUE(codec.DecodeSum(std::span<const Word>(encoded), 1, std::span<double>(decoded)).ok());
  EXPECT_EQ(decoded, (std::vector<double>{-1.5, -1.5, -1.5, 1.5, 1.5, 1.5}));
  EXPECT_EQ(codec.max_magnitude(), 1536u);
}

// Stochastic rounding is unbiased: the mean error over many encodings of one value that sits
// between two grid points is ~0 (and plain rounding would be off by 0.3 quanta).
TYPED_TEST(FixedPointRingTest, StochasticRoundingIsUnbiased) {
  using Word = TypeParam;
  const FixedPointCodec codec = MakeCodec(1.0, 256, 1, RingOf<Word>());
  Prng prng(kSeed);
  for (double x : {0.3 / 256, -0.3 / 256, 100.7 / 256, -77.5 / 256}) {
    const int draws = 20000;
    std::vector<double> values(draws, x);
    std::vector<Word> encoded(draws);
    ASSERT_TRUE(codec.Encode(std::span<const double>(values), prng, std::span<Word>(encoded)).ok());
    std::vector<double> decoded(draws);
    ASSERT_TRUE(
        codec.DecodeSum(std::span<const Word>(encoded), 1, std::span<double>(decoded)).ok());
    double sum = 0;
    for (double v : decoded) {
      // Always one of the two neighbouring grid points.
      ASSERT_TRUE(v == std::floor(x * 256) / 256 || v == std::ceil(x * 256) / 256) << v;
      sum += v - x;
    }
    const double mean_error_in_quanta = sum / draws * 256;
    // sd of one draw <= 0.5 quantum: 5 sd of the mean is 5 * 0.5 / sqrt(20000) ~ 0.018.
    EXPECT_NEAR(mean_error_in_quanta, 0.0, 0.018) << "x " << x << " seed " << kSeed;
  }
}

// The ring sum of n encodings decodes to the real sum of the clipped values within n quanta,
// with negative values and wrap-around in between.
TYPED_TEST(FixedPointRingTest, SumOfManyClientsDecodes) {
  using Word = TypeParam;
  const uint64_t n = 1000;
  const double clip = 4.0;
  auto scale = FinestScale(n, clip, RingOf<Word>());
  ASSERT_TRUE(scale.ok());
  const FixedPointCodec codec = MakeCodec(clip, *scale, n, RingOf<Word>());
  Prng prng(kSeed);
  const size_t d = 64;
  std::vector<Word> ring_sum(d, 0);
  std::vector<double> real_sum(d, 0.0);
  std::vector<float> update(d);
  std::vector<Word> encoded(d);
  for (uint64_t client = 0; client < n; ++client) {
    for (size_t i = 0; i < d; ++i) {
      // Coordinate 0 is always at +clip and 1 at -clip: the sum reaches the edge of the range.
      update[i] = i == 0 ? 100.0f : i == 1 ? -100.0f : static_cast<float>(3.0 * prng.Normal());
      real_sum[i] += std::clamp(static_cast<double>(update[i]), -clip, clip);
    }
    ASSERT_TRUE(codec.Encode(std::span<const float>(update), prng, std::span<Word>(encoded)).ok());
    for (size_t i = 0; i < d; ++i) ring_sum[i] += encoded[i];
  }
  std::vector<double> decoded(d);
  ASSERT_TRUE(codec.DecodeSum(std::span<const Word>(ring_sum), n, std::span<double>(decoded)).ok());
  for (size_t i = 0; i < d; ++i) {
    EXPECT_LE(std::abs(decoded[i] - real_sum[i]), n * codec.quantum()) << i << " seed " << kSeed;
  }
  EXPECT_NEAR(decoded[0], n * clip, n * codec.quantum());
  EXPECT_NEAR(decoded[1], -(n * clip), n * codec.quantum());
}

// BAD_INPUTS row 21: a sum outside what n honest clients can produce is DataLoss, and nothing
// is written.
TYPED_TEST(FixedPointRingTest, OutOfRangeSumIsDataLoss) {
  using Word = TypeParam;
  const uint64_t n = 10;
  const FixedPointCodec codec = MakeCodec(1.0, 1000, n, RingOf<Word>());
  const Word bound = static_cast<Word>(n * codec.max_magnitude());
  std::vector<double> out(1, -7.0);
  for (Word bad :
       {static_cast<Word>(bound + 1), static_cast<Word>(Word{0} - bound - 1),
        static_cast<Word>(Word{1} << (8 * sizeof(Word) - 1)), static_cast<Word>(~Word{0} >> 1)}) {
    std::vector<Word> sum = {bad};
    EXPECT_EQ(codec.DecodeSum(std::span<const Word>(sum), n, std::span<double>(out)).code(),
              StatusCode::kDataLoss)
        << bad;
    EXPECT_EQ(out[0], -7.0);
  }
  // The edges themselves are fine; fewer clients shrink the range.
  std::vector<Word> edge = {bound, static_cast<Word>(Word{0} - bound)};
  std::vector<double> two(2);
  ASSERT_TRUE(codec.DecodeSum(std::span<const Word>(edge), n, std::span<double>(two)).ok());
  EXPECT_DOUBLE_EQ(two[0], 10.0);
  EXPECT_DOUBLE_EQ(two[1], -10.0);
  EXPECT_EQ(codec.DecodeSum(std::span<const Word>(edge), n - 1, std::span<double>(two)).code(),
            StatusCode::kDataLoss);
}

// BAD_INPUTS row 8: the client refuses NaN and Inf before quantising.
TYPED_TEST(FixedPointRingTest, RefusesNonFiniteInput) {
  using Word = TypeParam;
  const FixedPointCodec codec = MakeCodec(1.0, 1000, 1, RingOf<Word>());
  Prng prng(kSeed);
  for (float bad : {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                    -std::numeric_limits<float>::infinity()}) {
    std::vector<float> values = {0.5f, bad, 0.25f};
    std::vector<Word> out(3, 99);
    EXPECT_EQ(codec.Encode(std::span<const float>(values), prng, std::span<Word>(out)).code(),
              StatusCode::kInvalidArgument);
    EXPECT_EQ(out, std::vector<Word>(3, 99));
  }
}

TYPED_TEST(FixedPointRingTest, RefusesMismatchedSpansAndCounts) {
  using Word = TypeParam;
  const FixedPointCodec codec = MakeCodec(1.0, 1000, 4, RingOf<Word>());
  Prng prng(kSeed);
  std::vector<float> values(3, 0.1f);
  std::vector<Word> short_out(2);
  EXPECT_EQ(codec.Encode(std::span<const float>(values), prng, std::span<Word>(short_out)).code(),
            StatusCode::kInvalidArgument);
  std::vector<Word> sum(3, 0);
  std::vector<float> short_decoded(2);
  EXPECT_EQ(codec.DecodeSum(std::span<const Word>(sum), 1, std::span<float>(short_decoded)).code(),
            StatusCode::kInvalidArgument);
  std::vector<float> decoded(3);
  EXPECT_EQ(codec.DecodeSum(std::span<const Word>(sum), 0, std::span<float>(decoded)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(codec.DecodeSum(std::span<const Word>(sum), 5, std::span<float>(decoded)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(codec.DecodeSum(std::span<const Word>(sum), 4, std::span<float>(decoded)).ok());
}

TEST(FixedPointTest, RingAndElementWidthMustAgree) {
  const FixedPointCodec codec32 = MakeCodec(1.0, 1000, 1, Ring::kRing32);
  const FixedPointCodec codec64 = MakeCodec(1.0, 1000, 1, Ring::kRing64);
  Prng prng(kSeed);
  std::vector<float> values(2, 0.5f);
  std::vector<uint32_t> out32(2);
  std::vector<uint64_t> out64(2);
  EXPECT_EQ(codec32.Encode(std::span<const float>(values), prng, std::span<uint64_t>(out64)).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(codec64.Encode(std::span<const float>(values), prng, std::span<uint32_t>(out32)).code(),
            StatusCode::kInvalidArgument);
  std::vector<double> decoded(2);
  EXPECT_EQ(
      codec32.DecodeSum(std::span<const uint64_t>(out64), 1, std::span<double>(decoded)).code(),
      StatusCode::kInvalidArgument);
}

TEST(FixedPointTest, FinestScaleIsTheWrapLimit) {
  for (Ring ring : {Ring::kRing32, Ring::kRing64}) {
    for (uint64_t n : {uint64_t{1}, uint64_t{100}, uint64_t{10000}, uint64_t{1} << 20}) {
      for (double clip : {0.01, 1.0, 8.0, 1000.0}) {
        auto scale = FinestScale(n, clip, ring);
        ASSERT_TRUE(scale.ok()) << scale.status();
        auto codec = FixedPointCodec::Create(
            {.clip = clip, .scale = *scale, .max_clients = n, .ring = ring});
        ASSERT_TRUE(codec.ok()) << codec.status();
        const double half_ring = std::ldexp(1.0, static_cast<int>(ring) - 1);
        EXPECT_LT(static_cast<double>(n) * static_cast<double>(codec->max_magnitude()), half_ring);
        // A scale 1% finer is refused, and names the finest scale.
        auto finer = FixedPointCodec::Create(
            {.clip = clip, .scale = *scale * 1.01, .max_clients = n, .ring = ring});
        EXPECT_EQ(finer.status().code(), StatusCode::kInvalidArgument);
        // The power-of-two helper agrees and is accepted.
        auto bits = FinestFractionBits(n, clip, ring);
        ASSERT_TRUE(bits.ok());
        EXPECT_LE(std::ldexp(1.0, *bits), *scale);
        EXPECT_GT(std::ldexp(1.0, *bits + 1), *scale);
        EXPECT_TRUE(
            FixedPointCodec::Create(
                {.clip = clip, .scale = std::ldexp(1.0, *bits), .max_clients = n, .ring = ring})
                .ok());
      }
    }
  }
  // Ten thousand clients with values in [-1, 1]: 17 fraction bits fit 2^32, 49 fit 2^64.
  EXPECT_EQ(*FinestFractionBits(10000, 1.0, Ring::kRing32), 17);
  EXPECT_EQ(*FinestFractionBits(10000, 1.0, Ring::kRing64), 49);
  // One client in 2^64 is capped by double precision (|q| <= 2^52), not by the ring.
  EXPECT_EQ(*FinestFractionBits(1, 1.0, Ring::kRing64), 52);
}

// Flower's defaults (clipping_range 8, quantization_range 2^22 over [-8, 8], modulus 2^32) are
// scale 2^22 / 16 = 2^18: 1023 clients fit, 1024 could wrap (algorithms.md 4.5's "about 1024").
TEST(FixedPointTest, FlowerDefaultsFitAboutAThousandClients) {
  const double scale = std::ldexp(1.0, 22) / 16.0;
  EXPECT_TRUE(FixedPointCodec::Create(
                  {.clip = 8.0, .scale = scale, .max_clients = 1023, .ring = Ring::kRing32})
                  .ok());
  EXPECT_EQ(FixedPointCodec::Create(
                {.clip = 8.0, .scale = scale, .max_clients = 1024, .ring = Ring::kRing32})
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(FixedPointTest, RefusesBadConfigs) {
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const FixedPointConfig good{.clip = 1.0, .scale = 16.0, .max_clients = 10, .ring = Ring::kRing32};
  ASSERT_TRUE(FixedPointCodec::Create(good).ok());
  std::vector<FixedPointConfig> bad(9, good);
  bad[0].clip = 0;
  bad[1].clip = -1;
  bad[2].clip = inf;
  bad[3].clip = nan;
  bad[4].scale = 0;
  bad[5].scale = nan;
  bad[6].max_clients = 0;
  bad[7].ring = static_cast<Ring>(16);
  bad[8].max_clients = uint64_t{1} << 31;  // wraps 2^32 even at |q| = 1
  for (size_t i = 0; i < bad.size(); ++i) {
    EXPECT_EQ(FixedPointCodec::Create(bad[i]).status().code(), StatusCode::kInvalidArgument) << i;
  }
  EXPECT_EQ(FinestScale(0, 1.0, Ring::kRing64).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FinestScale(10, -1.0, Ring::kRing64).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FinestScale(uint64_t{1} << 31, 1.0, Ring::kRing32).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::crypto
