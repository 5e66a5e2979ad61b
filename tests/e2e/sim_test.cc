// Whole simulated federations on the small synthetic problem: they must learn, be deterministic
// whatever the thread count, and refuse impossible configs.

#include <gtest/gtest.h>

#include "sotto/secagg/support.h"
#include "sotto/sim/simulation.h"

namespace sotto::sim {
namespace {

constexpr uint64_t kSeed = 7;

SimConfig SmallConfig() {
  SimConfig c;
  c.dataset = "synthetic";
  c.num_clients = 5;
  c.rounds = 6;
  c.partition = PartitionKind::kIid;
  c.model.kind = learn::ModelKind::kLogisticRegression;
  c.model.l2 = 1e-3;
  c.local.learning_rate = 0.1;
  c.local.momentum = 0.0;
  c.seed = kSeed;
  c.threads = 1;
  return c;
}

StatusOr<SimResult> RunConfig(const SimConfig& c) {
  auto sim = Simulation::Create(c);
  if (!sim.ok()) return sim.status();
  return (*sim)->Run();
}

TEST(SimulationTest, LearnsTheSyntheticProblem) {
  auto result = RunConfig(SmallConfig());
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_EQ(result->rounds.size(), 6u);
  EXPECT_GT(result->final_accuracy, 0.75) << "seed " << kSeed;
  EXPECT_LT(result->rounds.back().train_loss, result->rounds.front().train_loss);
  EXPECT_EQ(result->rounds[0].participants, 5u);
  EXPECT_EQ(result->total_uplink_bytes, result->dense_uplink_bytes);
  EXPECT_GT(result->rounds[0].uplink_bytes, 5u * 4u * result->num_parameters - 1);
}

TEST(SimulationTest, DeterministicAcrossThreadCounts) {
  SimConfig one = SmallConfig();
  SimConfig two = SmallConfig();
  two.threads = 2;
  auto a = Simulation::Create(one);
  auto b = Simulation::Create(two);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Run().ok());
  ASSERT_TRUE((*b)->Run().ok());
  EXPECT_EQ((*a)->params(), (*b)->params()) << "seed " << kSeed;
}

TEST(SimulationTest, PartialParticipationSelectsAFraction) {
  SimConfig c = SmallConfig();
  c.fraction = 0.4;
  auto result = RunConfig(c);
  ASSERT_TRUE(result.ok()) << result.status();
  for (const RoundRecord& r : result->rounds) EXPECT_EQ(r.participants, 2u);
}

TEST(SimulationTest, TopKWithErrorFeedbackLearnsOnFewerBytes) {
  SimConfig c = SmallConfig();
  c.rounds = 10;
  c.compression = CompressionMode::kSparse;
  c.compressor.sparsifier = compress::SparsifierKind::kTopK;
  c.compressor.density = 0.25;
  auto result = RunConfig(c);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->final_accuracy, 0.75) << "seed " << kSeed;
  // 21 parameters: the fixed per-message framing is most of a message here.
  EXPECT_LT(result->total_uplink_bytes, result->dense_uplink_bytes * 6 / 10);
}

TEST(SimulationTest, GdSecLearnsOnFewerBytes) {
  SimConfig c = SmallConfig();
  c.rounds = 10;
  c.compression = CompressionMode::kGdSec;
  c.gdsec.rule = compress::GdSecRule::kTopK;
  c.gdsec.density = 0.25;
  c.gdsec.beta = 0.5;
  auto result = RunConfig(c);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_GT(result->final_accuracy, 0.75) << "seed " << kSeed;
  // 21 parameters: the fixed per-message framing is most of a message here.
  EXPECT_LT(result->total_uplink_bytes, result->dense_uplink_bytes * 6 / 10);
}

TEST(SimulationTest, CompressedRunsAreDeterministicAcrossThreadCounts) {
  for (CompressionMode mode : {CompressionMode::kSparse, CompressionMode::kGdSec}) {
    SimConfig one = SmallConfig();
    one.compression = mode;
    one.compressor.sparsifier = compress::SparsifierKind::kRandomK;
    one.compressor.density = 0.3;
    one.compressor.error_feedback = compress::ErrorFeedback::kStepAhead;
    one.compressor.averaging_period = 2;
    SimConfig two = one;
    two.threads = 2;
    auto a = Simulation::Create(one);
    auto b = Simulation::Create(two);
    ASSERT_TRUE(a.ok() && b.ok());
    ASSERT_TRUE((*a)->Run().ok());
    ASSERT_TRUE((*b)->Run().ok());
    EXPECT_EQ((*a)->params(), (*b)->params()) << CompressionModeName(mode) << ", seed " << kSeed;
  }
}

TEST(SimulationTest, RunsTwiceIsRefused) {
  auto sim = Simulation::Create(SmallConfig());
  ASSERT_TRUE(sim.ok());
  ASSERT_TRUE((*sim)->Run().ok());
  EXPECT_EQ((*sim)->Run().status().code(), StatusCode::kFailedPrecondition);
}

TEST(SimulationTest, RefusesImpossibleConfigsNamingTheField) {
  SimConfig c = SmallConfig();
  c.num_clients = 0;
  EXPECT_NE(RunConfig(c).status().message().find("clients"), std::string::npos);
  c = SmallConfig();
  c.fraction = 1.5;
  EXPECT_NE(RunConfig(c).status().message().find("fraction"), std::string::npos);
  c = SmallConfig();
  c.dataset = "cifar";
  EXPECT_NE(RunConfig(c).status().message().find("dataset"), std::string::npos);
  c = SmallConfig();
  c.compression = CompressionMode::kSparse;
  c.compressor.density = 0;
  EXPECT_NE(RunConfig(c).status().message().find("density"), std::string::npos);
  c = SmallConfig();
  c.compression = CompressionMode::kGdSec;
  c.gdsec.beta = 1.5;
  EXPECT_NE(RunConfig(c).status().message().find("beta"), std::string::npos);
  c = SmallConfig();
  c.dataset = "fashion-mnist";
  c.data_dir = "/nonexistent";
  EXPECT_EQ(RunConfig(c).status().code(), StatusCode::kNotFound);
}

// Secure aggregation. The synthetic problem has 21 parameters, so supports are a few
// coordinates; the point here is the plumbing, not the compression ratio.
SimConfig SecureConfig(CompressionMode mode, secagg::SupportPolicy policy, double density) {
  SimConfig c = SmallConfig();
  c.rounds = 10;
  c.compression = mode;
  c.compressor.density = density;
  c.gdsec.rule = compress::GdSecRule::kTopK;
  c.gdsec.density = density;
  c.gdsec.beta = 0.5;
  c.secagg.enabled = true;
  c.secagg.policy = policy;
  return c;
}

TEST(SimulationSecAggTest, DenseSecureSumMatchesThePlaintextMean) {
  SimConfig plain = SmallConfig();
  SimConfig secure = plain;
  secure.secagg.enabled = true;
  secure.secagg.policy = secagg::SupportPolicy::kDense;
  auto a = Simulation::Create(plain);
  auto b = Simulation::Create(secure);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_TRUE((*a)->Run().ok());
  auto result = (*b)->Run();
  ASSERT_TRUE(result.ok()) << result.status();
  // Fixed point with 5 clients clipped to 4 in 2^32: a quantum of about 1e-7 per round.
  ASSERT_EQ((*a)->params().size(), (*b)->params().size());
  for (size_t i = 0; i < (*a)->params().size(); ++i) {
    EXPECT_NEAR((*a)->params()[i], (*b)->params()[i], 1e-4) << "seed " << kSeed << ", i " << i;
  }
  for (const RoundRecord& r : result->rounds) {
    EXPECT_EQ(r.support_size, result->num_parameters);
    EXPECT_EQ(r.participants, 5u);
    EXPECT_FALSE(r.aborted);
  }
}

TEST(SimulationSecAggTest, SparseSupportsLearnOnFewerBytes) {
  for (CompressionMode mode : {CompressionMode::kSparse, CompressionMode::kGdSec}) {
    // With 21 parameters the protocol's keys and shares outweigh the vector, so the yardstick
    // is the same secure round over the dense support.
    auto dense = RunConfig(SecureConfig(mode, secagg::SupportPolicy::kDense, 0.4));
    ASSERT_TRUE(dense.ok()) << dense.status();
    for (secagg::SupportPolicy policy :
         {secagg::SupportPolicy::kGlobalTopK, secagg::SupportPolicy::kSharedRandom}) {
      SimConfig c = SecureConfig(mode, policy, 0.4);
      auto result = RunConfig(c);
      ASSERT_TRUE(result.ok()) << result.status();
      EXPECT_GT(result->final_accuracy, 0.7)
          << CompressionModeName(mode) << ", " << secagg::SupportPolicyName(policy) << ", seed "
          << kSeed;
      EXPECT_EQ(result->rounds[0].support_size, 8u);  // round(0.4 * 21)
      EXPECT_LT(result->total_uplink_bytes, dense->total_uplink_bytes);
    }
  }
}

TEST(SimulationSecAggTest, DropoutsAreRecoveredAndDeterministic) {
  SimConfig one = SecureConfig(CompressionMode::kSparse, secagg::SupportPolicy::kGlobalTopK, 0.4);
  one.num_clients = 6;
  one.secagg.dropout = 0.34;  // 2 of 6 go offline after sharing keys, every round
  SimConfig two = one;
  two.threads = 2;
  auto a = Simulation::Create(one);
  auto b = Simulation::Create(two);
  ASSERT_TRUE(a.ok() && b.ok());
  auto result = (*a)->Run();
  ASSERT_TRUE(result.ok()) << result.status();
  ASSERT_TRUE((*b)->Run().ok());
  EXPECT_EQ((*a)->params(), (*b)->params()) << "seed " << kSeed;
  for (const RoundRecord& r : result->rounds) {
    EXPECT_FALSE(r.aborted) << "round " << r.round;
    EXPECT_EQ(r.dropped, 2u) << "round " << r.round;
    EXPECT_EQ(r.participants, 4u) << "round " << r.round;
  }
  EXPECT_GT(result->final_accuracy, 0.7) << "seed " << kSeed;
}

TEST(SimulationSecAggTest, AbortedRoundsLeaveTheModelAlone) {
  // 3 of 5 offline: fewer survivors than the threshold (3 of 5), so every round aborts.
  for (CompressionMode mode : {CompressionMode::kSparse, CompressionMode::kGdSec}) {
    SimConfig c = SecureConfig(mode, secagg::SupportPolicy::kSharedRandom, 0.4);
    c.rounds = 3;
    c.secagg.dropout = 0.6;
    auto sim = Simulation::Create(c);
    ASSERT_TRUE(sim.ok());
    const std::vector<float> initial = (*sim)->params();
    auto result = (*sim)->Run();
    ASSERT_TRUE(result.ok()) << result.status();
    for (const RoundRecord& r : result->rounds) {
      EXPECT_TRUE(r.aborted) << CompressionModeName(mode) << ", round " << r.round;
      EXPECT_EQ(r.participants, 0u);
    }
    EXPECT_EQ((*sim)->params(), initial) << CompressionModeName(mode);
  }
}

TEST(SimulationSecAggTest, RefusesImpossibleConfigsNamingTheField) {
  SimConfig c = SecureConfig(CompressionMode::kSparse, secagg::SupportPolicy::kUnionThreshold, 0.4);
  EXPECT_NE(RunConfig(c).status().message().find("secagg-support"), std::string::npos);
  c = SecureConfig(CompressionMode::kDense, secagg::SupportPolicy::kGlobalTopK, 0.4);
  EXPECT_NE(RunConfig(c).status().message().find("secagg-support"), std::string::npos);
  c = SecureConfig(CompressionMode::kSparse, secagg::SupportPolicy::kGlobalTopK, 0.4);
  c.secagg.dropout = 1.0;
  EXPECT_NE(RunConfig(c).status().message().find("secagg-dropout"), std::string::npos);
  c = SecureConfig(CompressionMode::kSparse, secagg::SupportPolicy::kGlobalTopK, 0.4);
  c.secagg.clip = 0;
  EXPECT_NE(RunConfig(c).status().message().find("secagg-clip"), std::string::npos);
  c = SecureConfig(CompressionMode::kSparse, secagg::SupportPolicy::kGlobalTopK, 0.4);
  c.secagg.ring_bits = 16;
  EXPECT_NE(RunConfig(c).status().message().find("secagg-ring"), std::string::npos);
  c = SecureConfig(CompressionMode::kSparse, secagg::SupportPolicy::kGlobalTopK, 0.4);
  c.secagg.explore = 1.0;
  EXPECT_NE(RunConfig(c).status().message().find("secagg-explore"), std::string::npos);
}

}  // namespace
}  // namespace sotto::sim
