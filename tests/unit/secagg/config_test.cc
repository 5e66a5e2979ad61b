// RoundConfig validation (BAD_INPUTS row 25), Support, and the neighbourhood graph.

#include "sotto/secagg/config.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "round_harness.h"
#include "sotto/secagg/graph.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::MakeConfig;

TEST(SupportTest, DenseAndSparse) {
  auto dense = Support::Dense(10);
  ASSERT_TRUE(dense.ok());
  EXPECT_TRUE(dense->is_dense());
  EXPECT_EQ(dense->size(), 10u);
  EXPECT_EQ(dense->Coordinate(7), 7u);
  auto sparse = Support::Sparse(100, {1, 5, 99});
  ASSERT_TRUE(sparse.ok());
  EXPECT_EQ(sparse->size(), 3u);
  EXPECT_EQ(sparse->Coordinate(2), 99u);
  EXPECT_TRUE(Support::Sparse(100, {}).ok());
  const Support copy = *sparse;
  EXPECT_EQ(copy, *sparse);
  EXPECT_FALSE(copy == *dense);
}

TEST(SupportTest, RefusesBadSupports) {
  EXPECT_EQ(Support::Dense(0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Support::Dense(kMaxSupportDim + 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Support::Sparse(10, {1, 10}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Support::Sparse(10, {3, 3}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Support::Sparse(10, {4, 3}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(Support::Sparse(0, {}).status().code(), StatusCode::kInvalidArgument);
}

TEST(RoundConfigTest, AcceptsTheTestConfigs) {
  EXPECT_TRUE(ValidateRoundConfig(MakeConfig(3, 2, DenseSupport(4))).ok());
  EXPECT_TRUE(
      ValidateRoundConfig(MakeConfig(100, 7, DenseSupport(4), crypto::Ring::kRing64, 12)).ok());
}

TEST(RoundConfigTest, RefusesImpossibleValuesNamingTheField) {
  auto expect = [](RoundConfig c, const char* field) {
    const Status s = ValidateRoundConfig(c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(s.message().find(field), std::string_view::npos) << s;
  };
  RoundConfig c = MakeConfig(5, 3, DenseSupport(4));
  c.client_ids.resize(1);
  expect(c, "client_ids");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.client_ids[1] = c.client_ids[0];
  expect(c, "client_ids");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.threshold = 6;  // t > n
  expect(c, "threshold");
  c.threshold = 2;  // not a majority of 5
  expect(c, "threshold");
  c = MakeConfig(9, 3, DenseSupport(4));
  c.degree = 3;  // odd
  expect(c, "degree");
  c.degree = 8;  // >= n - 1
  expect(c, "degree");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.fixed_point.max_clients = 4;
  expect(c, "max_clients");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.fixed_point.scale = double(1u << 30);  // 5 * 2^30 wraps 2^31
  expect(c, "fixed_point");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.max_weight = 0;
  expect(c, "max_weight");
  c.max_weight = uint64_t{1} << 30;
  expect(c, "max_weight");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.support = Support();
  expect(c, "support");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.support_policy = SupportPolicy::kGlobalTopK;
  expect(c, "support_policy");
  c = MakeConfig(5, 3, *Support::Sparse(10, {1, 2}));
  c.support_policy = SupportPolicy::kDense;
  expect(c, "support_policy");
  c = MakeConfig(5, 3, DenseSupport(4));
  c.mask_indexing = static_cast<MaskIndexing>(7);
  expect(c, "mask_indexing");
}

TEST(RoundConfigTest, RecommendedDegreeIsLogarithmicAndEven) {
  EXPECT_EQ(RecommendedSecAggPlusDegree(10), 0u);  // ceil(3 log2 10) = 10 -> 11 shares >= n
  for (uint64_t n : {50u, 100u, 1000u, 10000u, 1000000u}) {
    const uint32_t k = RecommendedSecAggPlusDegree(n);
    EXPECT_EQ(k % 2, 0u) << n;
    EXPECT_GE(k + 1, 3 * std::log2(double(n))) << n;
    EXPECT_LE(k, 3 * std::log2(double(n)) + 1) << n;
  }
  EXPECT_EQ(MajorityThreshold(21), 11u);
}

TEST(NeighbourGraphTest, CompleteGraph) {
  auto g = NeighbourGraph::Create(MakeConfig(5, 3, DenseSupport(1)));
  ASSERT_TRUE(g.ok());
  EXPECT_TRUE(g->is_complete());
  EXPECT_EQ(g->num_shares(), 5u);
  const auto ids = std::vector<uint64_t>(g->ids().begin(), g->ids().end());
  EXPECT_EQ(g->ClosedNeighbourhood(ids[2]), ids);
  EXPECT_TRUE(g->AreNeighbours(ids[0], ids[4]));
  EXPECT_FALSE(g->AreNeighbours(ids[0], ids[0]));
  EXPECT_FALSE(g->AreNeighbours(ids[0], 3));
  EXPECT_EQ(g->ShareIndex(ids[1], ids[3]), 4u);
  EXPECT_EQ(g->ShareIndex(ids[1], 3), 0u);
}

TEST(NeighbourGraphTest, SecAggPlusGraphIsRegularSymmetricAndSeeded) {
  for (uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(seed);
    RoundConfig config = MakeConfig(41, 5, DenseSupport(1), crypto::Ring::kRing32, 8, seed);
    auto g = NeighbourGraph::Create(config);
    ASSERT_TRUE(g.ok());
    EXPECT_EQ(g->num_shares(), 9u);
    for (uint64_t a : g->ids()) {
      const auto closed = g->ClosedNeighbourhood(a);
      ASSERT_EQ(closed.size(), 9u);
      EXPECT_TRUE(std::is_sorted(closed.begin(), closed.end()));
      size_t degree = 0;
      for (uint64_t b : g->ids()) {
        EXPECT_EQ(g->AreNeighbours(a, b), g->AreNeighbours(b, a));
        if (g->AreNeighbours(a, b)) {
          ++degree;
          EXPECT_TRUE(std::binary_search(closed.begin(), closed.end(), b));
          const uint32_t x = g->ShareIndex(a, b);
          EXPECT_EQ(closed[x - 1], b);
        } else if (a != b) {
          EXPECT_EQ(g->ShareIndex(a, b), 0u);
        }
      }
      EXPECT_EQ(degree, 8u);
    }
  }
  // A different seed labels the ring differently.
  auto g1 = NeighbourGraph::Create(MakeConfig(41, 5, DenseSupport(1), crypto::Ring::kRing32, 8, 1));
  auto g2 = NeighbourGraph::Create(MakeConfig(41, 5, DenseSupport(1), crypto::Ring::kRing32, 8, 2));
  const uint64_t first = g1->ids()[0];
  EXPECT_NE(g1->ClosedNeighbourhood(first), g2->ClosedNeighbourhood(first));
}

}  // namespace
}  // namespace sotto::secagg
