// Client inputs in ring elements, and the real-valued helpers (BAD_INPUTS rows 8, 20, 21).

#include "sotto/secagg/input.h"

#include <gtest/gtest.h>

#include <limits>

#include "round_harness.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::MakeConfig;

TEST(EncodeClientInputTest, ScalesByTheWeightShare) {
  RoundConfig config = MakeConfig(3, 2, DenseSupport(3), crypto::Ring::kRing64);
  Prng prng(1);
  const std::vector<float> x = {0.5f, -0.5f, 0.f};
  auto input = EncodeClientInput(config, x, 250.0, prng);
  ASSERT_TRUE(input.ok()) << input.status();
  EXPECT_EQ(input->weight, 250u);
  // 0.5 * 250/1000 = 0.125 at scale 2^40 is exact.
  EXPECT_EQ(input->values[0], uint64_t{1} << 37);
  EXPECT_EQ(input->values[1], uint64_t{0} - (uint64_t{1} << 37));
  EXPECT_EQ(input->values[2], 0u);
  EXPECT_TRUE(ValidateClientInput(config, *input).ok());
}

TEST(EncodeClientInputTest, RefusesBadWeightsAndValues) {
  RoundConfig config = MakeConfig(3, 2, DenseSupport(2));
  Prng prng(1);
  const std::vector<float> x = {0.1f, 0.2f};
  for (double w : {0.0, -1.0, 0.4, 1000.5, std::numeric_limits<double>::infinity(),
                   std::numeric_limits<double>::quiet_NaN()}) {
    EXPECT_EQ(EncodeClientInput(config, x, w, prng).status().code(), StatusCode::kInvalidArgument)
        << w;
  }
  const std::vector<float> nan = {0.1f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_EQ(EncodeClientInput(config, nan, 1.0, prng).status().code(),
            StatusCode::kInvalidArgument);
  const std::vector<float> short_x = {0.1f};
  EXPECT_EQ(EncodeClientInput(config, short_x, 1.0, prng).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(IndicatorInputTest, OnesAtTheChosenCoordinates) {
  RoundConfig config = MakeConfig(3, 2, DenseSupport(6));
  config.fixed_point.scale = 1.0;
  auto input = IndicatorInput(config, std::vector<uint32_t>{1, 4});
  ASSERT_TRUE(input.ok());
  EXPECT_EQ(input->values, (std::vector<uint64_t>{0, 1, 0, 0, 1, 0}));
  EXPECT_FALSE(IndicatorInput(config, std::vector<uint32_t>{4, 1}).ok());
  EXPECT_FALSE(IndicatorInput(config, std::vector<uint32_t>{6}).ok());
  RoundConfig sparse = MakeConfig(3, 2, *Support::Sparse(6, {1, 2}));
  EXPECT_FALSE(IndicatorInput(sparse, std::vector<uint32_t>{1}).ok());
}

TEST(DecodeWeightedMeanTest, DividesByTheWeightSumAndChecksTheRange) {
  RoundConfig config = MakeConfig(3, 2, DenseSupport(2), crypto::Ring::kRing64);
  AggregateResult result;
  result.contributors = {1000, 1007};
  result.weight_sum = 500;
  // sum of w x / max_weight = 0.25 (scale 2^40) -> mean = 0.25 * 1000 / 500 = 0.5.
  result.sum = {uint64_t{1} << 38, 0};
  auto mean = DecodeWeightedMean(config, result);
  ASSERT_TRUE(mean.ok()) << mean.status();
  EXPECT_DOUBLE_EQ((*mean)[0], 0.5);
  EXPECT_DOUBLE_EQ((*mean)[1], 0.0);
  result.sum[1] = uint64_t{1} << 62;  // beyond what two clients can produce: row 21
  EXPECT_EQ(DecodeWeightedMean(config, result).status().code(), StatusCode::kDataLoss);
  result.weight_sum = 0;
  EXPECT_EQ(DecodeWeightedMean(config, result).status().code(), StatusCode::kInvalidArgument);
}

TEST(SignedSumsTest, ReadsTwosComplementInTheRing) {
  RoundConfig config = MakeConfig(3, 2, DenseSupport(2));
  AggregateResult result;
  result.sum = {0xffffffffu, 5};
  EXPECT_EQ(SignedSums(config, result), (std::vector<int64_t>{-1, 5}));
}

}  // namespace
}  // namespace sotto::secagg
