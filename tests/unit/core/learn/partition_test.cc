#include "sotto/core/learn/partition.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <set>
#include <vector>

#include "sotto/base/random.h"

namespace sotto::learn {
namespace {

using ::testing::HasSubstr;

// `per_class` samples of each of `num_classes` labels, in a seeded random order.
std::vector<int32_t> BalancedLabels(int num_classes, size_t per_class, uint64_t seed) {
  std::vector<int32_t> labels;
  for (int k = 0; k < num_classes; ++k) labels.insert(labels.end(), per_class, k);
  Prng rng(seed);
  rng.Shuffle(std::span<int32_t>(labels));
  return labels;
}

// Every sample in exactly one client, each client's indices strictly ascending, no empty
// client.
void ExpectCovers(const Partition& p, size_t num_samples, size_t num_clients, uint64_t seed) {
  ASSERT_EQ(p.size(), num_clients) << "seed " << seed;
  std::vector<int> seen(num_samples, 0);
  for (size_t c = 0; c < p.size(); ++c) {
    EXPECT_FALSE(p[c].empty()) << "client " << c << " seed " << seed;
    for (size_t k = 0; k < p[c].size(); ++k) {
      ASSERT_LT(p[c][k], num_samples) << "client " << c << " seed " << seed;
      if (k > 0) {
        EXPECT_LT(p[c][k - 1], p[c][k]) << "client " << c << " seed " << seed;
      }
      ++seen[p[c][k]];
    }
  }
  for (size_t i = 0; i < num_samples; ++i) {
    ASSERT_EQ(seen[i], 1) << "sample " << i << " seed " << seed;
  }
}

// Mean over clients of the entropy (bits) of the client's label distribution.
double MeanLabelEntropy(const Partition& p, std::span<const int32_t> labels, int num_classes) {
  const auto counts = LabelCounts(p, labels, num_classes);
  double total = 0.0;
  for (const auto& client : counts) {
    size_t n = 0;
    for (size_t c : client) n += c;
    double h = 0.0;
    for (size_t c : client) {
      if (c > 0) {
        const double q = static_cast<double>(c) / static_cast<double>(n);
        h -= q * std::log2(q);
      }
    }
    total += h;
  }
  return total / static_cast<double>(counts.size());
}

TEST(PartitionIidTest, CoversEverySampleWithNearEqualSizes) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    for (size_t n : {10u, 11u, 1000u, 1003u}) {
      for (size_t k : {1u, 3u, 10u}) {
        const StatusOr<Partition> p = PartitionIid(n, k, seed);
        ASSERT_TRUE(p.ok()) << p.status();
        ExpectCovers(*p, n, k, seed);
        for (const auto& client : *p) {
          EXPECT_GE(client.size(), n / k) << "seed " << seed;
          EXPECT_LE(client.size(), n / k + 1) << "seed " << seed;
        }
      }
    }
  }
}

TEST(PartitionIidTest, DeterministicPerSeed) {
  constexpr uint64_t kSeed = 7;
  const auto a = PartitionIid(500, 7, kSeed);
  const auto b = PartitionIid(500, 7, kSeed);
  const auto c = PartitionIid(500, 7, kSeed + 1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b) << "seed " << kSeed;
  EXPECT_NE(*a, *c) << "seed " << kSeed;
}

TEST(PartitionIidTest, IsShuffledNotContiguous) {
  constexpr uint64_t kSeed = 8;
  const auto p = PartitionIid(1000, 4, kSeed);
  ASSERT_TRUE(p.ok());
  // A contiguous split would give client 0 exactly [0, 250).
  EXPECT_GT((*p)[0].back(), 500u) << "seed " << kSeed;
}

TEST(PartitionIidTest, Errors) {
  EXPECT_EQ(PartitionIid(10, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionIid(3, 4, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionIid(0, 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(PartitionIid(4, 4, 1).ok());
}

TEST(PartitionDirichletTest, CoversAndMeetsMinimum) {
  const std::vector<int32_t> labels = BalancedLabels(10, 300, 100);
  for (uint64_t seed : {1u, 2u, 3u, 4u}) {
    for (double alpha : {0.1, 0.5, 1.0, 100.0}) {
      const StatusOr<Partition> p = PartitionDirichlet(labels, 10, 20, alpha, seed, 10);
      ASSERT_TRUE(p.ok()) << p.status() << " seed " << seed << " alpha " << alpha;
      ExpectCovers(*p, labels.size(), 20, seed);
      for (const auto& client : *p) {
        EXPECT_GE(client.size(), 10u) << "seed " << seed << " alpha " << alpha;
      }
    }
  }
}

TEST(PartitionDirichletTest, DeterministicPerSeed) {
  constexpr uint64_t kSeed = 9;
  const std::vector<int32_t> labels = BalancedLabels(5, 200, 101);
  const auto a = PartitionDirichlet(labels, 5, 8, 0.5, kSeed);
  const auto b = PartitionDirichlet(labels, 5, 8, 0.5, kSeed);
  const auto c = PartitionDirichlet(labels, 5, 8, 0.5, kSeed + 1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok()) << a.status() << b.status() << c.status();
  EXPECT_EQ(*a, *b) << "seed " << kSeed;
  EXPECT_NE(*a, *c) << "seed " << kSeed;
}

TEST(PartitionDirichletTest, SmallAlphaIsFarMoreSkewed) {
  const std::vector<int32_t> labels = BalancedLabels(10, 500, 102);
  for (uint64_t seed : {11u, 12u, 13u}) {
    const auto skewed = PartitionDirichlet(labels, 10, 20, 0.1, seed);
    const auto even = PartitionDirichlet(labels, 10, 20, 100.0, seed);
    ASSERT_TRUE(skewed.ok()) << skewed.status() << " seed " << seed;
    ASSERT_TRUE(even.ok()) << even.status() << " seed " << seed;
    const double h_skewed = MeanLabelEntropy(*skewed, labels, 10);
    const double h_even = MeanLabelEntropy(*even, labels, 10);
    // log2(10) = 3.32 bits is a perfectly mixed client.
    EXPECT_GT(h_even, 3.2) << "seed " << seed;
    EXPECT_LT(h_skewed, 2.0) << "seed " << seed;
    EXPECT_LT(h_skewed, 0.6 * h_even) << "seed " << seed;
  }
}

TEST(PartitionDirichletTest, TinyAlphaStillPartitions) {
  // Gamma draws underflow to zero for alpha this small; each class goes to one client.
  constexpr uint64_t kSeed = 14;
  const std::vector<int32_t> labels = BalancedLabels(20, 50, 103);
  const auto p = PartitionDirichlet(labels, 20, 4, 1e-4, kSeed, 1);
  ASSERT_TRUE(p.ok()) << p.status() << " seed " << kSeed;
  ExpectCovers(*p, labels.size(), 4, kSeed);
  const auto counts = LabelCounts(*p, labels, 20);
  for (int k = 0; k < 20; ++k) {
    int holders = 0;
    for (const auto& client : counts) holders += client[static_cast<size_t>(k)] > 0;
    EXPECT_EQ(holders, 1) << "class " << k << " seed " << kSeed;
  }
}

TEST(PartitionDirichletTest, Errors) {
  const std::vector<int32_t> labels = BalancedLabels(3, 20, 104);
  EXPECT_EQ(PartitionDirichlet(labels, 3, 0, 1.0, 1).status().code(), StatusCode::kInvalidArgument);
  for (double alpha : {0.0, -1.0, std::numeric_limits<double>::infinity(),
                       std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_EQ(PartitionDirichlet(labels, 3, 2, alpha, 1).status().code(),
              StatusCode::kInvalidArgument)
        << "alpha " << alpha;
  }
  EXPECT_EQ(PartitionDirichlet(labels, 3, 61, 1.0, 1, 0).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionDirichlet(labels, 2, 2, 1.0, 1).status().code(),
            StatusCode::kInvalidArgument);  // label 2 outside [0, 2)
  EXPECT_EQ(PartitionDirichlet(labels, 0, 2, 1.0, 1).status().code(), StatusCode::kInvalidArgument);
  const std::vector<int32_t> negative = {0, 1, -1, 0};
  EXPECT_EQ(PartitionDirichlet(negative, 2, 2, 1.0, 1, 1).status().code(),
            StatusCode::kInvalidArgument);

  // Impossible minimum: 60 samples cannot give 7 clients 10 each.
  const auto impossible = PartitionDirichlet(labels, 3, 7, 1.0, 1, 10);
  EXPECT_EQ(impossible.status().code(), StatusCode::kFailedPrecondition) << impossible.status();
}

TEST(PartitionDirichletTest, GivesUpWithFailedPreconditionNamingTheClient) {
  // One class, 40 clients, alpha 0.01: almost all mass lands on one client, so some client
  // stays empty in every draw.
  constexpr uint64_t kSeed = 15;
  const std::vector<int32_t> labels(400, 0);
  const auto p = PartitionDirichlet(labels, 1, 40, 0.01, kSeed, 1);
  EXPECT_EQ(p.status().code(), StatusCode::kFailedPrecondition) << p.status();
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("empty partition"));
  EXPECT_THAT(std::string(p.status().message()), HasSubstr("client "));
}

TEST(PartitionShardsTest, EachClientGetsAtMostItsShardsLabels) {
  const std::vector<int32_t> labels = BalancedLabels(10, 300, 105);
  for (uint64_t seed : {21u, 22u, 23u}) {
    // 100 shards of 30: shards never straddle a class.
    const StatusOr<Partition> p = PartitionShards(labels, 50, 2, seed);
    ASSERT_TRUE(p.ok()) << p.status();
    ExpectCovers(*p, labels.size(), 50, seed);
    const auto counts = LabelCounts(*p, labels, 10);
    size_t clients_with_two = 0;
    for (size_t c = 0; c < counts.size(); ++c) {
      EXPECT_EQ((*p)[c].size(), 60u) << "client " << c << " seed " << seed;
      size_t distinct = 0;
      for (size_t n : counts[c]) {
        distinct += n > 0;
        EXPECT_EQ(n % 30, 0u) << "client " << c << " seed " << seed;
      }
      EXPECT_GE(distinct, 1u);
      EXPECT_LE(distinct, 2u) << "client " << c << " seed " << seed;
      clients_with_two += distinct == 2;
    }
    // Random dealing puts two different classes on most clients.
    EXPECT_GT(clients_with_two, 25u) << "seed " << seed;
  }
}

TEST(PartitionShardsTest, UnevenSizesStillCover) {
  const std::vector<int32_t> labels = BalancedLabels(7, 13, 106);  // 91 samples
  constexpr uint64_t kSeed = 24;
  const auto p = PartitionShards(labels, 6, 3, kSeed);  // 18 shards of 5 or 6
  ASSERT_TRUE(p.ok()) << p.status();
  ExpectCovers(*p, labels.size(), 6, kSeed);
}

TEST(PartitionShardsTest, DeterministicPerSeed) {
  constexpr uint64_t kSeed = 25;
  const std::vector<int32_t> labels = BalancedLabels(10, 100, 107);
  const auto a = PartitionShards(labels, 20, 2, kSeed);
  const auto b = PartitionShards(labels, 20, 2, kSeed);
  const auto c = PartitionShards(labels, 20, 2, kSeed + 1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b) << "seed " << kSeed;
  EXPECT_NE(*a, *c) << "seed " << kSeed;
}

TEST(PartitionShardsTest, Errors) {
  const std::vector<int32_t> labels = BalancedLabels(2, 5, 108);
  EXPECT_EQ(PartitionShards(labels, 0, 2, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionShards(labels, 2, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionShards(labels, 11, 1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(PartitionShards(labels, 3, 4, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(PartitionShards(labels, 5, 2, 1).ok());
  const std::vector<int32_t> negative = {0, 1, -1, 0};
  EXPECT_EQ(PartitionShards(negative, 2, 1, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(LabelCountsTest, CountsPerClient) {
  const std::vector<int32_t> labels = {0, 1, 1, 2, 0, 2, 2};
  const Partition p = {{0, 1, 2}, {3, 4}, {5, 6}};
  const auto counts = LabelCounts(p, labels, 3);
  EXPECT_EQ(counts, (std::vector<std::vector<size_t>>{{1, 2, 0}, {1, 0, 1}, {0, 0, 2}}));
}

TEST(LabelCountsDeathTest, IndexOutOfRangeIsAProgrammingError) {
  const std::vector<int32_t> labels = {0, 1};
  const Partition p = {{0, 5}};
  EXPECT_DEATH(LabelCounts(p, labels, 2), "sample 5");
}

}  // namespace
}  // namespace sotto::learn
