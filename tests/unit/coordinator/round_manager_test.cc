// Tests of sotto/coordinator/round_manager.h with real secure-aggregation clients in memory and
// a FakeClock: a silent client does not stall the round past its phase deadline and the round
// completes with the survivors (their exact sum); replays from another run or round are dropped
// without dropping the sender (row 12); unselected senders are refused (row 10); too many
// silent clients abort the round (row 19).

#include "sotto/coordinator/round_manager.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <set>

#include "sotto/base/random.h"
#include "sotto/secagg/client.h"

namespace sotto::coordinator {
namespace {

constexpr uint64_t kSeed = 8080;
constexpr uint64_t kRun = 41;
constexpr uint64_t kRound = 7;

secagg::RoundConfig Config(uint32_t n) {
  secagg::RoundConfig c;
  c.run_id = kRun;
  c.round_id = kRound;
  for (uint32_t i = 0; i < n; ++i) c.client_ids.push_back(100 + i);
  c.threshold = secagg::MajorityThreshold(n);
  c.fixed_point.ring = crypto::Ring::kRing32;
  c.fixed_point.clip = 1.0;
  c.fixed_point.scale = 1 << 16;
  c.fixed_point.max_clients = n;
  c.max_weight = 10;
  c.support = *secagg::Support::Dense(16);
  return c;
}

// In-memory clients; `silent` ones stop answering from MaskedInputRequest on.
class Harness {
 public:
  Harness(const secagg::RoundConfig& config, std::set<uint64_t> silent, FakeClock* clock,
          PhaseDeadlines deadlines = {})
      : silent_(std::move(silent)) {
    auto manager = RoundManager::Create(config, deadlines, clock);
    EXPECT_TRUE(manager.ok()) << manager.status();
    manager_ = std::move(manager).value();
    Prng rng(kSeed);
    for (uint64_t id : config.client_ids) {
      randoms_[id] = std::make_unique<SeededRandom>(DeriveSeed(kSeed, id));
      secagg::ClientInput input;
      for (size_t i = 0; i < 16; ++i) input.values.push_back(rng.UniformInt(1000));
      input.weight = 1 + rng.UniformInt(10);
      inputs_[id] = input;
      auto client = secagg::SecAggClient::Create(config, id, input, *randoms_[id]);
      EXPECT_TRUE(client.ok()) << client.status();
      clients_[id] = std::move(client).value();
    }
    for (auto& [id, client] : clients_) {
      auto start = client->Start();
      EXPECT_TRUE(start.ok());
      EXPECT_TRUE(manager_->Deliver(id, kRun, kRound, std::move(start).value()).ok());
    }
  }

  // Polls once and hands the requests to the clients; returns how many messages went out.
  size_t Step() {
    auto out = manager_->Poll();
    EXPECT_TRUE(out.ok()) << out.status();
    ++phase_;
    for (secagg::Outgoing& o : *out) {
      if (phase_ >= 2 && silent_.count(o.to)) continue;
      auto reply = clients_[o.to]->Handle(o.message);
      if (reply.ok() && reply->has_value()) {
        EXPECT_TRUE(manager_->Deliver(o.to, kRun, kRound, std::move(**reply)).ok());
      }
    }
    if (out->empty()) --phase_;
    return out->size();
  }

  RoundManager& manager() { return *manager_; }
  const secagg::ClientInput& input(uint64_t id) { return inputs_.at(id); }

 private:
  std::set<uint64_t> silent_;
  std::unique_ptr<RoundManager> manager_;
  std::map<uint64_t, std::unique_ptr<SeededRandom>> randoms_;
  std::map<uint64_t, secagg::ClientInput> inputs_;
  std::map<uint64_t, std::unique_ptr<secagg::SecAggClient>> clients_;
  int phase_ = 0;
};

TEST(RoundManagerTest, SilentClientDoesNotStallPastTheDeadline) {
  FakeClock clock;
  const secagg::RoundConfig config = Config(5);
  Harness h(config, {102}, &clock);
  EXPECT_EQ(h.Step(), 5u);  // everyone advertised: ShareKeysRequests go out at once
  EXPECT_EQ(h.Step(), 5u);  // everyone shared: MaskedInputRequests
  // 102 is silent: nothing moves before the masked-input deadline...
  EXPECT_EQ(h.Step(), 0u);
  EXPECT_EQ(h.manager().phase(), secagg::ServerPhase::kCollectingMaskedInputs);
  clock.Advance(std::chrono::seconds(299));
  EXPECT_EQ(h.Step(), 0u);
  // ...and at the deadline the round goes on without it.
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(h.Step(), 4u);  // UnmaskRequests to the survivors
  h.Step();                 // all answered: the final Advance
  ASSERT_TRUE(h.manager().done());
  const secagg::AggregateResult* result = h.manager().server().result();
  ASSERT_NE(result, nullptr) << "seed " << kSeed;
  std::vector<uint64_t> expected(16, 0);
  uint64_t weight = 0;
  for (uint64_t id : {100, 101, 103, 104}) {
    for (size_t i = 0; i < 16; ++i)
      expected[i] = (expected[i] + h.input(id).values[i]) & 0xffffffff;
    weight += h.input(id).weight;
  }
  EXPECT_EQ(result->sum, expected);
  EXPECT_EQ(result->weight_sum, weight);
  EXPECT_EQ(h.manager().server().drop_reason(102), secagg::DropReason::kNoResponse);
  EXPECT_EQ(h.manager().phase_seconds().size(), 4u);
  EXPECT_EQ(h.manager().phase_seconds()[2], 300.0);
}

TEST(RoundManagerTest, ReplaysAndStrangersAreRefusedWithoutDroppingAnyone) {
  FakeClock clock;
  const secagg::RoundConfig config = Config(3);
  auto manager = RoundManager::Create(config, {}, &clock);
  ASSERT_TRUE(manager.ok());
  secagg::AdvertiseKeys keys;  // content is irrelevant: refused before the protocol sees it
  EXPECT_EQ((*manager)->Deliver(100, kRun, kRound - 1, keys).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_EQ((*manager)->Deliver(100, kRun + 1, kRound, keys).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_TRUE((*manager)->server().IsLive(100));
  EXPECT_EQ((*manager)->Deliver(999, kRun, kRound, keys).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ((*manager)->refusals().replayed, 2u);
  EXPECT_EQ((*manager)->refusals().not_selected, 1u);
  // A malformed message from a participant is the protocol's business: it drops the sender,
  // who is then refused as no longer live.
  EXPECT_EQ((*manager)->Deliver(101, kRun, kRound, keys).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE((*manager)->server().IsLive(101));
  EXPECT_EQ((*manager)->Deliver(101, kRun, kRound, keys).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ((*manager)->refusals().protocol, 1u);
}

TEST(RoundManagerTest, TooManySilentClientsAbortAtTheDeadline) {
  FakeClock clock;
  Harness h(Config(5), {100, 101, 102}, &clock);
  h.Step();
  h.Step();
  clock.Advance(std::chrono::seconds(300));
  h.Step();
  EXPECT_TRUE(h.manager().done());
  EXPECT_EQ(h.manager().phase(), secagg::ServerPhase::kAborted);
  EXPECT_EQ(h.manager().server().result(), nullptr);
}

TEST(RoundManagerTest, RefusesBadArguments) {
  FakeClock clock;
  PhaseDeadlines zero;
  zero.unmask = Clock::Duration::zero();
  EXPECT_EQ(RoundManager::Create(Config(3), zero, &clock).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(RoundManager::Create(Config(3), {}, nullptr).status().code(),
            StatusCode::kInvalidArgument);
  secagg::RoundConfig bad = Config(3);
  bad.threshold = 9;
  EXPECT_EQ(RoundManager::Create(bad, {}, &clock).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::coordinator
