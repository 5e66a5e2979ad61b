// The client SDK's pieces that need no coordinator: options, the memory estimate, pacing.
// (Whole rounds against a coordinator: federation_test.cc.)

#include "sotto/client/client.h"

#include <gtest/gtest.h>

#include "sotto/net/memory_transport.h"

namespace sotto::client {
namespace {

class ZeroTrainer final : public core::Trainer {
 public:
  size_t NumParameters() const override { return 4; }
  StatusOr<core::TrainOutput> Train(std::span<const float>, const core::RoundContext&,
                                    std::span<float> update) override {
    std::fill(update.begin(), update.end(), 0.0f);
    return core::TrainOutput{1, 0.0};
  }
  StatusOr<learn::EvalResult> Evaluate(std::span<const float>) override {
    return learn::EvalResult{};
  }
};

ClientOptions Valid() {
  ClientOptions o;
  o.client_id = "alice";
  return o;
}

TEST(ClientOptionsTest, RefusesImpossibleValuesNamingTheField) {
  EXPECT_TRUE(ValidateClientOptions(Valid()).ok());
  struct Case {
    std::function<void(ClientOptions&)> change;
    std::string field;
  };
  const std::vector<Case> cases = {
      {[](ClientOptions& o) { o.client_id = ""; }, "client.client_id"},
      {[](ClientOptions& o) { o.client_id = "has space"; }, "client.client_id"},
      {[](ClientOptions& o) { o.reconnect.initial = std::chrono::milliseconds(0); },
       "initial_backoff_ms"},
      {[](ClientOptions& o) { o.reconnect.max = std::chrono::milliseconds(1); }, "max_backoff_ms"},
      {[](ClientOptions& o) { o.reconnect.jitter = 1.5; }, "jitter"},
      {[](ClientOptions& o) { o.threads = 0; }, "threads"},
  };
  for (const Case& c : cases) {
    ClientOptions o = Valid();
    c.change(o);
    Status s = ValidateClientOptions(o);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.field;
    EXPECT_NE(s.message().find(c.field), std::string::npos) << s;
  }
}

TEST(ClientTest, CreateRefusesMissingPieces) {
  net::MemoryNetwork network;
  auto dialer = network.NewDialer("coordinator", "alice");
  ASSERT_TRUE(dialer.ok());
  ZeroTrainer trainer;
  EXPECT_FALSE(Client::Create(Valid(), nullptr, *dialer).ok());
  EXPECT_FALSE(Client::Create(Valid(), &trainer, nullptr).ok());
  EXPECT_TRUE(Client::Create(Valid(), &trainer, *dialer).ok());
}

TEST(ClientTest, GivesUpAfterMaxAttemptsWhenNobodyListens) {
  net::MemoryNetwork network;
  auto dialer = network.NewDialer("nowhere", "alice");
  ASSERT_TRUE(dialer.ok());
  ZeroTrainer trainer;
  ClientOptions o = Valid();
  o.reconnect.max_attempts = 3;
  o.reconnect.initial = std::chrono::milliseconds(1000);
  o.reconnect.max = std::chrono::milliseconds(4000);
  FakeClock clock;  // backoff sleeps advance the fake clock: no real waiting
  auto client = Client::Create(o, &trainer, *dialer, &clock);
  ASSERT_TRUE(client.ok());
  std::atomic<bool> done{false};
  Status result;
  std::thread run([&] {
    result = (*client)->Run();
    done = true;
  });
  while (!done) {
    network.RunUntilIdle();  // delivers the dial failures
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  run.join();
  EXPECT_EQ(result.code(), StatusCode::kUnavailable) << result;
  EXPECT_EQ((*client)->stats().failed_dials, 3u);
  // Two backoffs (after the first and second failures): 1 s and 2 s, each at least half
  // (jitter 0.5), at most the full value.
  const auto waited = clock.Now() - Clock::TimePoint{};
  EXPECT_GE(waited, std::chrono::milliseconds(1500));
  EXPECT_LE(waited, std::chrono::milliseconds(3000));
}

TEST(ClientTest, StopEndsRunWithCancelled) {
  net::MemoryNetwork network;
  auto dialer = network.NewDialer("nowhere", "alice");
  ASSERT_TRUE(dialer.ok());
  ZeroTrainer trainer;
  auto client = Client::Create(Valid(), &trainer, *dialer);
  ASSERT_TRUE(client.ok());
  Status result;
  std::thread run([&] { result = (*client)->Run(); });
  (*client)->Stop();
  run.join();
  EXPECT_EQ(result.code(), StatusCode::kCancelled);
}

TEST(EstimateRoundMemoryTest, GrowsWithCompressionStateAndSupport) {
  proto::CompressionConfig dense;
  proto::CompressionConfig topk;
  topk.set_sparsifier(proto::SPARSIFIER_TOP_K);
  topk.set_density(0.01);
  const uint64_t d = 1'000'000;
  EXPECT_EQ(EstimateRoundMemory(d, dense, 0), 12 * d);
  EXPECT_EQ(EstimateRoundMemory(d, topk, 0), 16 * d + 8 * 10'000);
  EXPECT_EQ(EstimateRoundMemory(d, topk, 10'000), 16 * d + 8 * 10'000 + 16 * 10'000);
  // GD-SEC: model and update, h_m and two e_m buffers, the last counted model; the threshold
  // rule also the movement and up to d selected entries; a secure support the undo record.
  proto::CompressionConfig gdsec;
  gdsec.mutable_gdsec()->set_beta(0.5);
  gdsec.mutable_gdsec()->set_density(0.01);
  EXPECT_EQ(EstimateRoundMemory(d, gdsec, 0), 8 * d + 16 * d + 4 * d + 8 * 10'000);
  EXPECT_EQ(EstimateRoundMemory(d, gdsec, 10'000),
            8 * d + 16 * d + 4 * d + 8 * 10'000 + 12 * 10'000 + 16 * 10'000);
  gdsec.mutable_gdsec()->set_rule(proto::GD_SEC_RULE_THRESHOLD);
  EXPECT_EQ(EstimateRoundMemory(d, gdsec, 0), 8 * d + 16 * d + 8 * d + 8 * d);
}

TEST(PacerTest, KeepsTheRateAfterAOneSecondBurst) {
  FakeClock clock;
  clock.Advance(std::chrono::seconds(10));
  Pacer pacer(1000, &clock);  // 1000 bytes per second
  const auto start = clock.Now();
  pacer.Acquire(1000);  // the burst: no wait
  EXPECT_EQ(clock.Now(), start);
  for (int i = 0; i < 5; ++i) pacer.Acquire(500);  // 2.5 s of budget
  EXPECT_EQ(clock.Now() - start, std::chrono::milliseconds(2500));
  Pacer unlimited(0, &clock);
  unlimited.Acquire(1 << 30);
  EXPECT_EQ(clock.Now() - start, std::chrono::milliseconds(2500));
}

}  // namespace
}  // namespace sotto::client
