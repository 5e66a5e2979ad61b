// Whole rounds over the in-memory transport: the unmasked sum is the plaintext sum of the
// contributors' ring inputs, bit for bit, for every support policy, ring and graph; a dropout
// matrix over every phase; what the server holds (spy); corrupt shares.

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "round_harness.h"
#include "sotto/crypto/shamir.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/support.h"
#include "sotto/secagg/wire.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::DropAt;
using testing::InMemoryRound;
using testing::MakeConfig;

constexpr uint64_t kSeed = 20170281;  // Bonawitz et al., eprint 2017/281

// ---- Sums are exact -----------------------------------------------------------------------

struct SumCase {
  std::string name;
  uint32_t n;
  SupportPolicy policy;
  uint64_t dim;
  uint64_t size;  // |S| for the sparse policies
  crypto::Ring ring;
  bool secagg_plus;
};

std::ostream& operator<<(std::ostream& os, const SumCase& c) { return os << c.name; }

Support MakeSupport(const SumCase& c, uint64_t seed) {
  switch (c.policy) {
    case SupportPolicy::kDense:
      return DenseSupport(c.dim);
    case SupportPolicy::kSharedRandom: {
      auto s = SharedRandomSupport(c.dim, c.size, seed);
      SOTTO_CHECK_OK(s.status());
      return *s;
    }
    case SupportPolicy::kGlobalTopK: {
      // A public "previous aggregate" with a few large coordinates; 3/4 top-K, 1/4 exploration.
      Prng prng(seed);
      std::vector<float> previous(c.dim);
      for (auto& v : previous) {
        v = static_cast<float>(prng.Normal());
      }
      const uint64_t top = c.size - c.size / 4;
      auto s = GlobalTopKSupport(previous, top, c.size - top, seed + 1);
      SOTTO_CHECK_OK(s.status());
      return *s;
    }
    case SupportPolicy::kUnionThreshold:
      break;
  }
  SOTTO_CHECK(false) << "union_threshold has its own two-round test";
  return {};
}

class RoundSumTest : public ::testing::TestWithParam<SumCase> {};

TEST_P(RoundSumTest, UnmaskedSumEqualsPlaintextSumBitForBit) {
  const SumCase& c = GetParam();
  for (uint64_t trial = 0; trial < 2; ++trial) {
    const uint64_t seed = DeriveSeed(kSeed, trial * 1000 + c.n);
    SCOPED_TRACE("seed " + std::to_string(seed));
    Support support = MakeSupport(c, seed);
    if (c.policy != SupportPolicy::kDense) {
      ASSERT_EQ(support.size(), c.size);
    }
    uint32_t degree = c.secagg_plus ? RecommendedSecAggPlusDegree(c.n) : 0;
    const uint32_t shares = degree == 0 ? c.n : degree + 1;
    RoundConfig config = MakeConfig(c.n, MajorityThreshold(shares), support, c.ring, degree, seed);
    config.support_policy = c.policy;
    InMemoryRound round(config, seed);
    ASSERT_TRUE(round.Run().ok()) << round.server().abort()->status;
    const AggregateResult* result = round.server().result();
    ASSERT_NE(result, nullptr);
    EXPECT_EQ(result->contributors.size(), c.n);
    uint64_t weight = 0;
    const auto expected = round.PlainSum(result->contributors, &weight);
    EXPECT_TRUE(result->sum == expected);
    EXPECT_EQ(result->weight_sum, weight);
    for (uint64_t id : round.config().client_ids) {
      EXPECT_EQ(round.client(id).phase(), ClientPhase::kCompleted);
    }
  }
}

std::vector<SumCase> SumCases() {
  using P = SupportPolicy;
  const auto r32 = crypto::Ring::kRing32;
  const auto r64 = crypto::Ring::kRing64;
  return {
      {"n3_dense_d1", 3, P::kDense, 1, 0, r32, false},
      {"n3_dense_d1000_ring64", 3, P::kDense, 1000, 0, r64, false},
      {"n3_shared_random_1", 3, P::kSharedRandom, 100000, 1, r32, false},
      {"n3_shared_random_100000", 3, P::kSharedRandom, 1000000, 100000, r32, false},
      {"n3_shared_random_1000000", 3, P::kSharedRandom, 2000000, 1000000, r32, false},
      {"n3_dense_d1000000_ring64", 3, P::kDense, 1000000, 0, r64, false},
      {"n3_global_topk_64", 3, P::kGlobalTopK, 5000, 64, r64, false},
      {"n10_dense_d4096", 10, P::kDense, 4096, 0, r32, false},
      {"n10_shared_random_10000_ring64", 10, P::kSharedRandom, 1000000, 10000, r64, false},
      {"n10_global_topk_1000", 10, P::kGlobalTopK, 20000, 1000, r32, false},
      {"n10_secaggplus_shared_random_777", 10, P::kSharedRandom, 100000, 777, r32, true},
      {"n50_dense_d100", 50, P::kDense, 100, 0, r32, false},
      {"n50_shared_random_1000", 50, P::kSharedRandom, 100000, 1000, r64, false},
      {"n50_secaggplus_global_topk_500", 50, P::kGlobalTopK, 10000, 500, r32, true},
      {"n200_secaggplus_dense_d64", 200, P::kDense, 64, 0, r32, true},
      {"n200_secaggplus_shared_random_100", 200, P::kSharedRandom, 1000000, 100, r64, true},
  };
}

INSTANTIATE_TEST_SUITE_P(Policies, RoundSumTest, ::testing::ValuesIn(SumCases()),
                         [](const auto& info) { return info.param.name; });

// ---- Both mask indexings (the sums above use the default, kSupportPosition) ---------------

class MaskIndexingTest : public ::testing::TestWithParam<MaskIndexing> {};

TEST_P(MaskIndexingTest, SumsExactlyWithDropouts) {
  for (auto ring : {crypto::Ring::kRing32, crypto::Ring::kRing64}) {
    RoundConfig config = MakeConfig(9, 5, *SharedRandomSupport(1000000, 5000, kSeed), ring);
    config.mask_indexing = GetParam();
    InMemoryRound round(config, kSeed);
    round.DropAtPhase(config.client_ids[1], DropAt::kMaskedInput);
    round.DropAtPhase(config.client_ids[7], DropAt::kUnmask);
    ASSERT_TRUE(round.Run().ok());
    uint64_t weight = 0;
    EXPECT_EQ(round.server().result()->contributors.size(), 8u);
    EXPECT_TRUE(round.server().result()->sum ==
                round.PlainSum(round.server().result()->contributors, &weight));
    EXPECT_EQ(round.server().result()->weight_sum, weight);
  }
}

INSTANTIATE_TEST_SUITE_P(Indexings, MaskIndexingTest,
                         ::testing::Values(MaskIndexing::kSupportPosition,
                                           MaskIndexing::kCoordinate),
                         [](const auto& info) {
                           return info.param == MaskIndexing::kCoordinate ? "Coordinate"
                                                                          : "SupportPosition";
                         });

// ---- Threads split the coordinates; the messages and the sum do not change -----------------

TEST(RoundTest, ThreadedMaskingGivesTheSameMessagesAndSum) {
  for (int shape : {0, 1, 2}) {  // dense, sparse by position, sparse by coordinate
    SCOPED_TRACE(shape);
    const bool sparse = shape != 0;
    Support support = sparse ? *SharedRandomSupport(1 << 20, 200003, kSeed) : DenseSupport(200003);
    RoundConfig config = MakeConfig(4, 3, support, crypto::Ring::kRing32);
    config.mask_indexing = shape == 2 ? MaskIndexing::kCoordinate : MaskIndexing::kSupportPosition;
    InMemoryRound single(config, kSeed);
    single.DropAtPhase(config.client_ids[3], DropAt::kMaskedInput);
    InMemoryRound threaded(config, kSeed);
    threaded.DropAtPhase(config.client_ids[3], DropAt::kMaskedInput);
    threaded.client_options.num_threads = 3;
    threaded.server_options.num_threads = 4;
    ASSERT_TRUE(single.Run().ok());
    ASSERT_TRUE(threaded.Run().ok());
    ASSERT_EQ(single.received().size(), threaded.received().size());
    for (size_t i = 0; i < single.received().size(); ++i) {
      EXPECT_TRUE(single.received()[i].bytes == threaded.received()[i].bytes) << i;
    }
    uint64_t weight = 0;
    EXPECT_TRUE(threaded.server().result()->sum ==
                threaded.PlainSum(threaded.server().result()->contributors, &weight));
    EXPECT_TRUE(single.server().result()->sum == threaded.server().result()->sum);
  }
}

// ---- Weighted mean through the real-valued helpers ---------------------------------------

TEST(RoundTest, WeightedMeanOfRealInputs) {
  RoundConfig config = MakeConfig(4, 3, DenseSupport(5), crypto::Ring::kRing64);
  config.fixed_point.scale = double(1ULL << 30);
  InMemoryRound round(config, kSeed);
  const std::vector<std::vector<float>> x = {{0.5f, -0.25f, 0.f, 1.f, -1.f},
                                             {0.1f, 0.2f, 0.3f, 0.4f, 0.5f},
                                             {-0.5f, 0.5f, -0.5f, 0.5f, 0.f},
                                             {0.f, 0.f, 0.f, 0.f, 0.25f}};
  const std::vector<double> w = {10, 20, 30, 40};
  Prng prng(kSeed);
  for (size_t i = 0; i < 4; ++i) {
    auto input = EncodeClientInput(config, x[i], w[i], prng);
    ASSERT_TRUE(input.ok()) << input.status();
    round.inputs()[config.client_ids[i]] = *input;
  }
  ASSERT_TRUE(round.Run().ok());
  auto mean = DecodeWeightedMean(config, *round.server().result());
  ASSERT_TRUE(mean.ok()) << mean.status();
  for (size_t j = 0; j < 5; ++j) {
    double expected = 0;
    for (size_t i = 0; i < 4; ++i) {
      expected += w[i] * x[i][j];
    }
    expected /= 100.0;
    EXPECT_NEAR((*mean)[j], expected, 1e-6) << j;
  }
}

// ---- union_threshold: a counting round, then the round on the kept coordinates -----------

TEST(RoundTest, UnionThresholdCountsThenAggregatesOnTheKeptCoordinates) {
  constexpr uint64_t kDim = 2000;
  constexpr uint32_t kN = 6;
  constexpr uint64_t kMinCount = 3;
  RoundConfig counting = MakeConfig(kN, 4, DenseSupport(kDim));
  counting.fixed_point.scale = 1.0;  // M = 1: 0/1 indicators
  InMemoryRound count_round(counting, kSeed);
  // Each client's own "top-k": 40 coordinates, half from a shared hot set.
  std::vector<uint64_t> truth(kDim, 0);
  for (uint32_t i = 0; i < kN; ++i) {
    Prng prng(DeriveSeed(kSeed, i));
    std::set<uint32_t> chosen;
    while (chosen.size() < 20) {
      chosen.insert(static_cast<uint32_t>(prng.UniformInt(50)));
    }
    while (chosen.size() < 40) {
      chosen.insert(static_cast<uint32_t>(prng.UniformInt(kDim)));
    }
    std::vector<uint32_t> sorted(chosen.begin(), chosen.end());
    for (uint32_t j : sorted) {
      ++truth[j];
    }
    auto input = IndicatorInput(counting, sorted);
    ASSERT_TRUE(input.ok());
    count_round.inputs()[counting.client_ids[i]] = *input;
  }
  ASSERT_TRUE(count_round.Run().ok());
  const auto counts = SignedSums(counting, *count_round.server().result());
  for (size_t j = 0; j < kDim; ++j) {
    ASSERT_EQ(static_cast<uint64_t>(counts[j]), truth[j]) << j;
  }
  auto support = UnionThresholdSupport(counts, kMinCount);
  ASSERT_TRUE(support.ok());
  ASSERT_GT(support->size(), 0u);
  for (uint32_t j : support->indices()) {
    EXPECT_GE(truth[j], kMinCount);
  }
  RoundConfig config = MakeConfig(kN, 4, *support);
  config.support_policy = SupportPolicy::kUnionThreshold;
  InMemoryRound round(config, kSeed + 1);
  ASSERT_TRUE(round.Run().ok());
  uint64_t weight = 0;
  EXPECT_TRUE(round.server().result()->sum ==
              round.PlainSum(round.server().result()->contributors, &weight));
}

// ---- Dropout matrix ------------------------------------------------------------------------

// (n, t, phase at which `drops` clients go offline, drops)
using DropCase = std::tuple<uint32_t, uint32_t, DropAt, uint32_t>;

class DropoutMatrixTest : public ::testing::TestWithParam<DropCase> {};

// Counts, per owner, the shares of each kind the server received (the spy).
void CountRevealed(const std::vector<testing::Received>& received,
                   std::map<uint64_t, size_t>* seed_shares,
                   std::map<uint64_t, size_t>* key_shares) {
  for (const auto& r : received) {
    if (!r.accepted) {
      continue;
    }
    auto message = ParseClientMessage(r.bytes);
    SOTTO_CHECK_OK(message.status());
    if (const auto* unmask = std::get_if<UnmaskResponse>(&*message)) {
      for (const auto& s : unmask->self_mask_seed_shares) {
        ++(*seed_shares)[s.owner_id];
      }
      for (const auto& s : unmask->mask_key_shares) {
        ++(*key_shares)[s.owner_id];
      }
    }
  }
}

TEST_P(DropoutMatrixTest, SucceedsExactlyWhenSurvivorsMeetTheThreshold) {
  const auto [n, t, phase, drops] = GetParam();
  const uint64_t seed = DeriveSeed(kSeed, n * 100 + static_cast<int>(phase) * 10 + drops);
  SCOPED_TRACE("seed " + std::to_string(seed));
  InMemoryRound round(MakeConfig(n, t, DenseSupport(33)), seed);
  // Drop the `drops` clients with the largest ids (any subset would do for a complete graph).
  std::vector<uint64_t> ids = round.config().client_ids;
  for (uint32_t k = 0; k < drops; ++k) {
    round.DropAtPhase(ids[n - 1 - k], phase);
  }
  const Status status = round.Run();
  const bool should_succeed = n - drops >= t;
  EXPECT_EQ(status.ok(), should_succeed) << status;
  std::map<uint64_t, size_t> seed_shares, key_shares;
  CountRevealed(round.received(), &seed_shares, &key_shares);
  if (should_succeed) {
    const AggregateResult* result = round.server().result();
    ASSERT_NE(result, nullptr);
    // Clients offline before their masked input are not in the sum; later ones are.
    const size_t contributors = phase == DropAt::kUnmask ? n : n - drops;
    EXPECT_EQ(result->contributors.size(), contributors);
    uint64_t weight = 0;
    EXPECT_TRUE(result->sum == round.PlainSum(result->contributors, &weight));
    EXPECT_EQ(result->weight_sum, weight);
  } else {
    EXPECT_EQ(status.code(), StatusCode::kAborted);
    EXPECT_EQ(round.server().result(), nullptr);
    EXPECT_EQ(round.server().abort()->reason, ServerAbortReason::kTooFewSurvivors);
    // Revealing nothing: no secret of any client can be rebuilt from what the server holds.
    for (const auto& [owner, count] : seed_shares) {
      EXPECT_LT(count, t) << owner;
    }
    for (const auto& [owner, count] : key_shares) {
      EXPECT_LT(count, t) << owner;
    }
    // Live clients were told (those that already sent their unmask shares had completed).
    for (uint64_t id : ids) {
      if (round.server().IsLive(id)) {
        const ClientPhase p = round.client(id).phase();
        EXPECT_EQ(p, phase == DropAt::kUnmask ? ClientPhase::kCompleted : ClientPhase::kAborted);
      }
    }
  }
  for (const auto& [owner, count] : key_shares) {
    EXPECT_EQ(seed_shares.count(owner), 0u) << "both kinds of share of " << owner;
  }
}

std::vector<DropCase> DropCases() {
  std::vector<DropCase> cases;
  for (auto [n, t] : {std::pair<uint32_t, uint32_t>{3, 2}, {5, 3}, {7, 5}}) {
    for (DropAt phase :
         {DropAt::kAdvertise, DropAt::kShareKeys, DropAt::kMaskedInput, DropAt::kUnmask}) {
      for (uint32_t drops = 0; drops <= n; ++drops) {
        cases.emplace_back(n, t, phase, drops);
      }
    }
  }
  return cases;
}

std::string DropCaseName(const ::testing::TestParamInfo<DropCase>& info) {
  static const char* kPhase[] = {"Advertise", "ShareKeys", "MaskedInput", "Unmask"};
  return "n" + std::to_string(std::get<0>(info.param)) + "_t" +
         std::to_string(std::get<1>(info.param)) + "_" +
         kPhase[static_cast<int>(std::get<2>(info.param))] + "_drop" +
         std::to_string(std::get<3>(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllPhases, DropoutMatrixTest, ::testing::ValuesIn(DropCases()),
                         DropCaseName);

// SecAgg+: dropping a few clients keeps the round alive when every neighbourhood keeps t.
TEST(RoundTest, SecAggPlusSurvivesScatteredDropouts) {
  const uint32_t n = 40;
  const uint32_t degree = RecommendedSecAggPlusDegree(n);
  ASSERT_GT(degree, 0u);
  ASSERT_LT(degree, n - 1);
  InMemoryRound round(MakeConfig(n, MajorityThreshold(degree + 1), DenseSupport(100),
                                 crypto::Ring::kRing32, degree, kSeed),
                      kSeed);
  const auto& ids = round.config().client_ids;
  round.DropAtPhase(ids[3], DropAt::kShareKeys);
  round.DropAtPhase(ids[11], DropAt::kMaskedInput);
  round.DropAtPhase(ids[17], DropAt::kMaskedInput);
  round.DropAtPhase(ids[29], DropAt::kUnmask);
  ASSERT_TRUE(round.Run().ok());
  const AggregateResult* result = round.server().result();
  EXPECT_EQ(result->contributors.size(), n - 3);
  uint64_t weight = 0;
  EXPECT_TRUE(result->sum == round.PlainSum(result->contributors, &weight));
}

// ---- The spy: what the server holds ---------------------------------------------------------

TEST(RoundTest, ServerNeverHoldsEnoughToRecoverAnIndividualInput) {
  const uint32_t n = 8;
  InMemoryRound round(MakeConfig(n, 5, DenseSupport(50)), kSeed);
  const auto ids = round.config().client_ids;
  round.DropAtPhase(ids[0], DropAt::kMaskedInput);  // its mask key gets revealed
  round.DropAtPhase(ids[1], DropAt::kUnmask);       // masked input sent, then gone
  ASSERT_TRUE(round.Run().ok());

  std::map<uint64_t, std::vector<crypto::ShamirShare>> seeds, keys;
  for (const auto& r : round.received()) {
    auto message = ParseClientMessage(r.bytes);
    ASSERT_TRUE(message.ok());
    if (const auto* masked = std::get_if<MaskedInput>(&*message)) {
      // A masked input is not the plaintext, nor close to it.
      const auto& plain = round.inputs().at(r.from).values;
      size_t equal = 0;
      for (size_t i = 0; i < plain.size(); ++i) {
        equal += masked->values[i] == plain[i] ? 1 : 0;
      }
      EXPECT_LT(equal, 3u) << r.from;
    }
    if (const auto* unmask = std::get_if<UnmaskResponse>(&*message)) {
      for (const auto& s : unmask->self_mask_seed_shares) {
        seeds[s.owner_id].push_back({0, s.value.Clone()});
      }
      for (const auto& s : unmask->mask_key_shares) {
        keys[s.owner_id].push_back({0, s.value.Clone()});
      }
    }
  }
  // The dropped-before-masking client: its key was revealed (it sent no input to protect);
  // everyone in U3 had only its self-mask seed revealed. Nobody had both.
  EXPECT_EQ(keys.count(ids[0]), 1u);
  EXPECT_EQ(seeds.count(ids[0]), 0u);
  EXPECT_EQ(seeds.count(ids[1]), 1u);
  EXPECT_EQ(keys.count(ids[1]), 0u);
  for (const auto& [owner, shares] : keys) {
    EXPECT_EQ(seeds.count(owner), 0u) << owner;
  }
  for (const auto& [owner, shares] : seeds) {
    EXPECT_EQ(keys.count(owner), 0u) << owner;
  }
  // The envelopes the server routed are sealed: none contains a share in the clear.
  for (const auto& r : round.received()) {
    auto message = ParseClientMessage(r.bytes);
    if (const auto* shares = std::get_if<ShareKeysResponse>(&*message)) {
      for (const auto& e : shares->shares) {
        EXPECT_EQ(e.ciphertext.size(), kShareCiphertextBytes);
      }
    }
  }
}

// ---- Corrupt shares (BAD_INPUTS row 18) -----------------------------------------------------

// Flips one byte of the first share of `kind` for `owner` sent by `sender`.
void CorruptShare(ClientMessage& message, uint64_t owner, bool seed_kind, uint8_t flip) {
  auto* unmask = std::get_if<UnmaskResponse>(&message);
  if (unmask == nullptr) {
    return;
  }
  auto& list = seed_kind ? unmask->self_mask_seed_shares : unmask->mask_key_shares;
  for (auto& s : list) {
    if (s.owner_id == owner) {
      s.value.mutable_bytes()[3] ^= flip;
    }
  }
}

TEST(RoundTest, OneCorruptSeedShareIsDetectedAndRecoveredFromTheOthers) {
  InMemoryRound round(MakeConfig(7, 4, DenseSupport(40)), kSeed);
  const auto ids = round.config().client_ids;
  round.tamper_up = [&](uint64_t from, ClientMessage& m) {
    if (from == ids[2]) {
      CorruptShare(m, ids[5], /*seed_kind=*/true, 0x40);
    }
  };
  ASSERT_TRUE(round.Run().ok());
  uint64_t weight = 0;
  EXPECT_TRUE(round.server().result()->sum ==
              round.PlainSum(round.server().result()->contributors, &weight));
}

TEST(RoundTest, OneCorruptKeyShareIsDetectedAndRecoveredFromTheOthers) {
  InMemoryRound round(MakeConfig(7, 4, DenseSupport(40)), kSeed);
  const auto ids = round.config().client_ids;
  round.DropAtPhase(ids[6], DropAt::kMaskedInput);
  round.tamper_up = [&](uint64_t from, ClientMessage& m) {
    if (from == ids[0]) {
      CorruptShare(m, ids[6], /*seed_kind=*/false, 0x01);
    }
  };
  ASSERT_TRUE(round.Run().ok());
  EXPECT_EQ(round.server().result()->contributors.size(), 6u);
  uint64_t weight = 0;
  EXPECT_TRUE(round.server().result()->sum ==
              round.PlainSum(round.server().result()->contributors, &weight));
}

// With exactly t shares there is nothing to fall back on: a share crafted to stay a valid field
// element (one taken from another owner) rebuilds a wrong secret without a Shamir error, and
// only the commitment check stands between it and a wrong sum.
TEST(RoundTest, CraftedShareWithExactlyTSharesAbortsWithDataLoss) {
  InMemoryRound round(MakeConfig(3, 2, DenseSupport(10)), kSeed);
  const auto ids = round.config().client_ids;
  round.DropAtPhase(ids[2], DropAt::kUnmask);  // two responders: exactly t shares per secret
  round.tamper_up = [&](uint64_t, ClientMessage& m) {
    auto* unmask = std::get_if<UnmaskResponse>(&m);
    if (unmask == nullptr) {
      return;
    }
    // Swap the values of the first two self-mask shares: both stay valid field elements.
    ASSERT_GE(unmask->self_mask_seed_shares.size(), 2u);
    std::swap(unmask->self_mask_seed_shares[0].value, unmask->self_mask_seed_shares[1].value);
  };
  const Status status = round.Run();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status;
  EXPECT_EQ(round.server().abort()->reason, ServerAbortReason::kReconstructionFailed);
  EXPECT_EQ(round.server().result(), nullptr);
}

TEST(RoundTest, CorruptKeySharesBeyondRecoveryAbortWithDataLoss) {
  InMemoryRound round(MakeConfig(5, 3, DenseSupport(10)), kSeed);
  const auto ids = round.config().client_ids;
  round.DropAtPhase(ids[4], DropAt::kMaskedInput);
  // Every responder corrupts its share of the dropped client's key.
  round.tamper_up = [&](uint64_t, ClientMessage& m) {
    CorruptShare(m, ids[4], /*seed_kind=*/false, 0x10);
  };
  const Status status = round.Run();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status;
  EXPECT_EQ(round.server().result(), nullptr);
}

}  // namespace
}  // namespace sotto::secagg
