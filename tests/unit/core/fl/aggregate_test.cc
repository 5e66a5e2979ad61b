#include "sotto/core/aggregate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace sotto::core {
namespace {

TEST(WeightedMeanAggregatorTest, WeightsByExamples) {
  WeightedMeanAggregator agg(2);
  ASSERT_TRUE(agg.Add(std::vector<float>{1.0f, 0.0f}, 1.0).ok());
  ASSERT_TRUE(agg.Add(std::vector<float>{4.0f, 3.0f}, 2.0).ok());
  std::vector<float> mean(2);
  ASSERT_TRUE(agg.Mean(mean).ok());
  EXPECT_FLOAT_EQ(mean[0], 3.0f);
  EXPECT_FLOAT_EQ(mean[1], 2.0f);
  EXPECT_EQ(agg.count(), 2u);
  EXPECT_DOUBLE_EQ(agg.total_weight(), 3.0);
}

TEST(WeightedMeanAggregatorTest, RefusedUpdateLeavesNoTrace) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  WeightedMeanAggregator agg(2, /*max_weight=*/100);
  ASSERT_TRUE(agg.Add(std::vector<float>{2.0f, 2.0f}, 1.0).ok());
  // BAD_INPUTS rows 6, 8, 20.
  EXPECT_EQ(agg.Add(std::vector<float>{1.0f}, 1.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Add(std::vector<float>{1.0f, nan}, 1.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Add(std::vector<float>{inf, 1.0f}, 1.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Add(std::vector<float>{1.0f, 1.0f}, 0.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Add(std::vector<float>{1.0f, 1.0f}, -3.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Add(std::vector<float>{1.0f, 1.0f}, 101.0).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(agg.Add(std::vector<float>{1.0f, 1.0f}, std::nan("")).code(),
            StatusCode::kInvalidArgument);
  std::vector<float> mean(2);
  ASSERT_TRUE(agg.Mean(mean).ok());
  EXPECT_EQ(mean, (std::vector<float>{2.0f, 2.0f}));
  EXPECT_EQ(agg.count(), 1u);
}

TEST(WeightedMeanAggregatorTest, SparseUpdatesAddOnTheirSupport) {
  WeightedMeanAggregator agg(4);
  ASSERT_TRUE(agg.AddSparse(std::vector<uint32_t>{0, 3}, std::vector<float>{2.0f, 4.0f}, 1.0).ok());
  ASSERT_TRUE(agg.Add(std::vector<float>{1.0f, 1.0f, 1.0f, 1.0f}, 1.0).ok());
  // Refused: unsorted, duplicate, out of range, count mismatch, NaN, bad weight.
  EXPECT_FALSE(agg.AddSparse(std::vector<uint32_t>{2, 1}, std::vector<float>{1, 1}, 1).ok());
  EXPECT_FALSE(agg.AddSparse(std::vector<uint32_t>{1, 1}, std::vector<float>{1, 1}, 1).ok());
  EXPECT_FALSE(agg.AddSparse(std::vector<uint32_t>{4}, std::vector<float>{1}, 1).ok());
  EXPECT_FALSE(agg.AddSparse(std::vector<uint32_t>{1}, std::vector<float>{1, 2}, 1).ok());
  EXPECT_FALSE(agg.AddSparse(std::vector<uint32_t>{1}, std::vector<float>{std::nanf("")}, 1).ok());
  EXPECT_FALSE(agg.AddSparse(std::vector<uint32_t>{1}, std::vector<float>{1}, 0).ok());
  std::vector<float> mean(4);
  ASSERT_TRUE(agg.Mean(mean).ok());
  EXPECT_EQ(mean, (std::vector<float>{1.5f, 0.5f, 0.5f, 2.5f}));
  EXPECT_EQ(agg.count(), 2u);
}

TEST(WeightedMeanAggregatorTest, EmptyRoundIsAPreconditionFailure) {
  WeightedMeanAggregator agg(3);
  std::vector<float> mean(3);
  EXPECT_EQ(agg.Mean(mean).code(), StatusCode::kFailedPrecondition);
  ASSERT_TRUE(agg.Add(std::vector<float>{1, 1, 1}, 1).ok());
  agg.Reset();
  EXPECT_EQ(agg.Mean(mean).code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace sotto::core
