#include "sotto/base/random.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <vector>

namespace sotto {
namespace {

constexpr uint64_t kSeed = 20261123;

TEST(PrngTest, SameSeedSameStream) {
  Prng a(kSeed), b(kSeed), c(kSeed + 1);
  bool any_diff = false;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    any_diff |= (x != c.Next());
  }
  EXPECT_TRUE(any_diff);
}

TEST(PrngTest, UniformIntInRangeAndCoversIt) {
  Prng rng(kSeed);
  std::vector<int> counts(7, 0);
  for (int i = 0; i < 70000; ++i) {
    uint64_t v = rng.UniformInt(7);
    ASSERT_LT(v, 7u);
    ++counts[v];
  }
  for (int c : counts) EXPECT_NEAR(c, 10000, 500) << "seed " << kSeed;
}

TEST(PrngTest, NormalMomentsMatch) {
  Prng rng(kSeed);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    double x = rng.Normal();
    sum += x;
    sum2 += x * x;
  }
  double mean = sum / n;
  EXPECT_NEAR(mean, 0.0, 0.01) << "seed " << kSeed;
  EXPECT_NEAR(sum2 / n - mean * mean, 1.0, 0.02) << "seed " << kSeed;
}

TEST(PrngTest, GammaMeanEqualsShape) {
  Prng rng(kSeed);
  for (double shape : {0.1, 0.5, 1.0, 3.0}) {
    const int n = 100000;
    double sum = 0;
    for (int i = 0; i < n; ++i) {
      double g = rng.Gamma(shape);
      ASSERT_GE(g, 0.0);
      sum += g;
    }
    EXPECT_NEAR(sum / n, shape, 0.03 * std::max(1.0, shape)) << "shape " << shape;
  }
}

TEST(PrngTest, ShuffleIsAPermutation) {
  Prng rng(kSeed);
  std::vector<int> v(1000);
  std::iota(v.begin(), v.end(), 0);
  rng.Shuffle(std::span<int>(v));
  std::vector<int> sorted = v;
  std::sort(sorted.begin(), sorted.end());
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(sorted[i], i);
  int fixed = 0;
  for (int i = 0; i < 1000; ++i) fixed += (v[i] == i);
  EXPECT_LT(fixed, 10);
}

TEST(DeriveSeedTest, StreamsDiffer) {
  EXPECT_NE(DeriveSeed(1, 0), DeriveSeed(1, 1));
  EXPECT_NE(DeriveSeed(1, 0), DeriveSeed(2, 0));
  EXPECT_EQ(DeriveSeed(5, 9), DeriveSeed(5, 9));
}

TEST(RandomTest, SystemRandomFillsAndDiffers) {
  SystemRandom r;
  std::vector<uint8_t> a(64), b(64);
  ASSERT_TRUE(r.Fill(a).ok());
  ASSERT_TRUE(r.Fill(b).ok());
  EXPECT_NE(a, b);
}

TEST(RandomTest, SeededRandomReplays) {
  SeededRandom a(kSeed), b(kSeed);
  std::vector<uint8_t> x(37), y(37);
  ASSERT_TRUE(a.Fill(x).ok());
  ASSERT_TRUE(b.Fill(y).ok());
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace sotto
