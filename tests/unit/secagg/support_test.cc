// Support policies (sotto/secagg/support.h): pure functions of public inputs.

#include "sotto/secagg/support.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

#include "sotto/base/random.h"

namespace sotto::secagg {
namespace {

TEST(SupportPolicyTest, Names) {
  EXPECT_EQ(SupportPolicyName(SupportPolicy::kDense), "dense");
  EXPECT_EQ(SupportPolicyName(SupportPolicy::kSharedRandom), "shared_random");
  EXPECT_EQ(SupportPolicyName(SupportPolicy::kGlobalTopK), "global_topk");
  EXPECT_EQ(SupportPolicyName(SupportPolicy::kUnionThreshold), "union_threshold");
}

TEST(SharedRandomSupportTest, SameSeedSameSetDifferentSeedDifferentSet) {
  auto a = SharedRandomSupport(100000, 1000, 7);
  auto b = SharedRandomSupport(100000, 1000, 7);
  auto c = SharedRandomSupport(100000, 1000, 8);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(*a, *b);
  EXPECT_FALSE(*a == *c);
  EXPECT_EQ(a->size(), 1000u);
  EXPECT_TRUE(std::is_sorted(a->indices().begin(), a->indices().end()));
  EXPECT_TRUE(SharedRandomSupport(10, 10, 1).ok());
  EXPECT_TRUE(SharedRandomSupport(10, 0, 1).ok());
  EXPECT_EQ(SharedRandomSupport(10, 11, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(SharedRandomSupport(0, 0, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(GlobalTopKSupportTest, TopCoordinatesPlusSeededExploration) {
  std::vector<float> previous(1000, 0.01f);
  previous[5] = -9.f;
  previous[500] = 8.f;
  previous[999] = 7.f;
  auto s = GlobalTopKSupport(previous, 3, 20, 42);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->size(), 23u);
  const auto idx = s->indices();
  EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
  EXPECT_EQ(std::adjacent_find(idx.begin(), idx.end()), idx.end());
  for (uint32_t top : {5u, 500u, 999u}) {
    EXPECT_TRUE(std::binary_search(idx.begin(), idx.end(), top)) << top;
  }
  EXPECT_EQ(*s, *GlobalTopKSupport(previous, 3, 20, 42));
  EXPECT_FALSE(*s == *GlobalTopKSupport(previous, 3, 20, 43));
  // Everything: top_k + explore = dim.
  auto all = GlobalTopKSupport(previous, 10, 990, 1);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 1000u);
}

TEST(GlobalTopKSupportTest, RefusesBadInputs) {
  std::vector<float> previous(10, 1.f);
  EXPECT_EQ(GlobalTopKSupport(previous, 8, 3, 1).status().code(), StatusCode::kInvalidArgument);
  previous[3] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(GlobalTopKSupport(previous, 2, 2, 1).status().code(), StatusCode::kInvalidArgument);
  previous[3] = std::numeric_limits<float>::infinity();
  EXPECT_EQ(GlobalTopKSupport(previous, 2, 2, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(GlobalTopKSupport({}, 0, 0, 1).status().code(), StatusCode::kInvalidArgument);
}

TEST(UnionThresholdSupportTest, KeepsCoordinatesChosenByAtLeastMinCount) {
  const std::vector<int64_t> counts = {0, 3, 2, 5, 3, 1};
  auto s = UnionThresholdSupport(counts, 3);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(std::vector<uint32_t>(s->indices().begin(), s->indices().end()),
            (std::vector<uint32_t>{1, 3, 4}));
  EXPECT_EQ(s->dim(), 6u);
  EXPECT_EQ(UnionThresholdSupport(counts, 0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(UnionThresholdSupport(std::vector<int64_t>{1, -1}, 1).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::secagg
