// Tests of the simulator's in-memory secure round (sim/src/secure_round.h): the aggregate is the
// ring sum of the survivors' inputs bit for bit, offline clients are recovered from, too many of
// them abort the round, and the result does not depend on the thread count.

#include "secure_round.h"

#include <gtest/gtest.h>

#include "sotto/base/random.h"

namespace sotto::sim::internal {
namespace {

constexpr uint64_t kSeed = 31337;

secagg::RoundConfig Config(uint32_t n, uint32_t degree) {
  secagg::RoundConfig c;
  c.run_id = 1;
  c.round_id = 2;
  for (uint32_t i = 0; i < n; ++i) c.client_ids.push_back(10 + 3 * i);
  c.degree = degree;
  c.graph_seed = kSeed;
  c.threshold = secagg::MajorityThreshold(degree == 0 ? n : degree + 1);
  c.fixed_point.ring = crypto::Ring::kRing32;
  c.fixed_point.clip = 1.0;
  c.fixed_point.scale = 1 << 20;
  c.fixed_point.max_clients = n;
  c.max_weight = 100;
  auto support = secagg::Support::Sparse(1000, {1, 5, 77, 300, 999});
  EXPECT_TRUE(support.ok());
  c.support = *support;
  c.support_policy = secagg::SupportPolicy::kSharedRandom;
  return c;
}

struct Inputs {
  std::map<uint64_t, secagg::ClientInput> inputs;
  std::map<uint64_t, uint64_t> seeds;
};

Inputs MakeInputs(const secagg::RoundConfig& c, const std::set<uint64_t>& offline) {
  Prng rng(kSeed);
  Inputs in;
  for (uint64_t id : c.client_ids) {
    in.seeds[id] = DeriveSeed(kSeed, id);
    if (offline.count(id)) continue;
    secagg::ClientInput input;
    for (size_t i = 0; i < c.support.size(); ++i) {
      const int64_t q = static_cast<int64_t>(rng.UniformInt(2001)) - 1000;
      input.values.push_back(static_cast<uint64_t>(q) & 0xffffffffu);
    }
    input.weight = 1 + rng.UniformInt(100);
    in.inputs[id] = input;
  }
  return in;
}

TEST(SecureRoundTest, SumsTheSurvivorsExactly) {
  for (uint32_t degree : {0u, 4u}) {
    const secagg::RoundConfig c = Config(9, degree);
    const std::set<uint64_t> offline = {c.client_ids[2], c.client_ids[7]};
    Inputs in = MakeInputs(c, offline);
    std::vector<uint64_t> expected(c.support.size(), 0);
    uint64_t weight = 0;
    for (const auto& [id, input] : in.inputs) {
      for (size_t i = 0; i < expected.size(); ++i) {
        expected[i] = (expected[i] + input.values[i]) & 0xffffffffu;
      }
      weight += input.weight;
    }
    for (int threads : {1, 2}) {
      auto result = RunSecureRound(c, in.inputs, in.seeds, offline, threads);
      ASSERT_TRUE(result.ok()) << result.status();
      ASSERT_TRUE(result->aggregate.has_value())
          << result->abort_status << ", degree " << degree << ", seed " << kSeed;
      EXPECT_EQ(result->aggregate->sum, expected) << "degree " << degree << ", seed " << kSeed;
      EXPECT_EQ(result->aggregate->weight_sum, weight);
      EXPECT_EQ(result->aggregate->contributors.size(), 7u);
      EXPECT_EQ(result->dropped, 2u);
      EXPECT_GT(result->uplink_bytes, 7u * (c.support.size() + 1) * 4);
      EXPECT_GT(result->downlink_bytes, 0u);
    }
  }
}

TEST(SecureRoundTest, TooManyOfflineAbortsWithoutAnAggregate) {
  const secagg::RoundConfig c = Config(5, 0);  // threshold 3 of 5
  const std::set<uint64_t> offline = {c.client_ids[0], c.client_ids[1], c.client_ids[4]};
  Inputs in = MakeInputs(c, offline);
  auto result = RunSecureRound(c, in.inputs, in.seeds, offline, 1);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_FALSE(result->aggregate.has_value());
  EXPECT_EQ(result->abort_status.code(), StatusCode::kAborted);
}

TEST(SecureRoundTest, MissingInputsOrSeedsAreRefused) {
  const secagg::RoundConfig c = Config(3, 0);
  Inputs in = MakeInputs(c, {});
  auto no_input = in.inputs;
  no_input.erase(c.client_ids[1]);
  EXPECT_EQ(RunSecureRound(c, no_input, in.seeds, {}, 1).status().code(),
            StatusCode::kInvalidArgument);
  auto no_seed = in.seeds;
  no_seed.erase(c.client_ids[0]);
  EXPECT_EQ(RunSecureRound(c, in.inputs, no_seed, {}, 1).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::sim::internal
