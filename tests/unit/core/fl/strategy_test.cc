#include "sotto/core/strategy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

namespace sotto::core {
namespace {

std::unique_ptr<Strategy> Make(StrategyKind kind, double lr) {
  StrategyOptions o;
  o.kind = kind;
  o.server_lr = lr;
  auto s = MakeStrategy(o);
  EXPECT_TRUE(s.ok()) << s.status();
  return std::move(s).value();
}

TEST(StrategyTest, FedAvgStepsByServerLr) {
  auto s = Make(StrategyKind::kFedAvg, 0.5);
  std::vector<float> x = {1.0f, -2.0f, 3.0f};
  ASSERT_TRUE(s->Apply(x, std::vector<float>{2.0f, 2.0f, -4.0f}).ok());
  EXPECT_EQ(x, (std::vector<float>{0.0f, -3.0f, 5.0f}));
  EXPECT_EQ(s->Name(), "fedavg");
}

TEST(StrategyTest, FedAdamFirstStepMatchesFormula) {
  StrategyOptions o;
  o.kind = StrategyKind::kFedAdam;
  o.server_lr = 0.1;
  auto s = std::move(MakeStrategy(o)).value();
  std::vector<float> x = {0.0f};
  ASSERT_TRUE(s->Apply(x, std::vector<float>{1.0f}).ok());
  const double m = 0.1, v = o.beta2 * o.tau * o.tau + 0.01;
  EXPECT_NEAR(x[0], -0.1 * m / (std::sqrt(v) + o.tau), 1e-6);
}

TEST(StrategyTest, FedYogiMovesAgainstTheGradientAndDiffersFromAdam) {
  auto adam = Make(StrategyKind::kFedAdam, 0.1);
  auto yogi = Make(StrategyKind::kFedYogi, 0.1);
  std::vector<float> xa = {1.0f}, xy = {1.0f};
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(adam->Apply(xa, std::vector<float>{0.5f}).ok());
    ASSERT_TRUE(yogi->Apply(xy, std::vector<float>{0.5f}).ok());
  }
  EXPECT_LT(xa[0], 1.0f);
  EXPECT_LT(xy[0], 1.0f);
  EXPECT_NE(xa[0], xy[0]);
}

TEST(StrategyTest, RefusesBadUpdatesWithoutMoving) {
  auto s = Make(StrategyKind::kFedAvg, 1.0);
  std::vector<float> x = {1.0f, 2.0f};
  EXPECT_EQ(s->Apply(x, std::vector<float>{1.0f}).code(), StatusCode::kInvalidArgument);
  std::vector<float> bad = {0.0f, std::numeric_limits<float>::quiet_NaN()};
  EXPECT_EQ(s->Apply(x, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(x, (std::vector<float>{1.0f, 2.0f}));
}

TEST(StrategyTest, RefusesBadOptions) {
  StrategyOptions o;
  o.server_lr = 0;
  EXPECT_NE(MakeStrategy(o).status().message().find("server_lr"), std::string::npos);
  o = StrategyOptions{};
  o.beta2 = 1.0;
  EXPECT_NE(MakeStrategy(o).status().message().find("beta2"), std::string::npos);
  o = StrategyOptions{};
  o.tau = -1;
  EXPECT_EQ(MakeStrategy(o).status().code(), StatusCode::kInvalidArgument);
}

TEST(StrategyTest, ParsesNames) {
  for (StrategyKind k : {StrategyKind::kFedAvg, StrategyKind::kFedSgd, StrategyKind::kFedAdam,
                         StrategyKind::kFedYogi}) {
    EXPECT_EQ(*ParseStrategyKind(StrategyKindName(k)), k);
  }
  EXPECT_EQ(ParseStrategyKind("fedprox").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::core
