// The coordinator and the client SDK together, over the in-memory transport: plain and secure
// rounds, determinism, dropouts, restarts from a checkpoint, refusals.

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "federation_harness.h"
#include "sotto/net/inbox.h"
#include "sotto/proto/compress_convert.h"

namespace sotto {
namespace {

using testing::BreakingDialer;
using testing::Federation;
using testing::SecureSmallFederation;
using testing::SmallFederation;

std::vector<float> ModelOf(const coordinator::Coordinator& c) {
  return std::vector<float>(c.model().begin(), c.model().end());
}

bool BitEqual(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

std::vector<float> RunFederation(coordinator::CoordinatorOptions options, size_t n) {
  Federation f(std::move(options), n);
  EXPECT_TRUE(f.StartCoordinator().ok());
  EXPECT_TRUE(f.StartClients().ok());
  EXPECT_TRUE(f.RunToEnd()) << f.tick_error();
  return ModelOf(f.coordinator());
}

class TempDir {
 public:
  TempDir() {
    path_ = std::filesystem::temp_directory_path() /
            ("sotto-federation-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(FederationTest, PlainTopKWithErrorFeedbackRunsEveryRound) {
  Federation f(SmallFederation(5), 5);
  ASSERT_TRUE(f.StartCoordinator().ok());
  const std::vector<float> initial = ModelOf(f.coordinator());
  ASSERT_TRUE(f.StartClients().ok());
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();

  const auto& history = f.coordinator().history();
  ASSERT_EQ(history.size(), 3u);
  for (const auto& round : history) {
    EXPECT_EQ(round.outcome, "completed");
    EXPECT_EQ(round.contributors.size(), 5u);
    EXPECT_TRUE(round.dropped.empty());
    // Top-k at 25 % with Golomb-coded indices: well under the dense fp32 updates.
    EXPECT_LT(round.uplink_bytes, round.dense_uplink_bytes / 2);
    EXPECT_GT(round.downlink_bytes, 5 * 738 * sizeof(float));
  }
  EXPECT_FALSE(BitEqual(initial, ModelOf(f.coordinator())));
  for (size_t i = 0; i < f.num_clients(); ++i) {
    EXPECT_TRUE(f.client(i).result.ok()) << f.client(i).result;
    const client::ClientStats stats = f.client(i).client->stats();
    EXPECT_EQ(stats.rounds_completed, 3u);
    EXPECT_EQ(stats.connections, 1u);
    // Error feedback kept what top-k left out.
    const std::vector<float> e = f.client(i).client->error_memory();
    ASSERT_EQ(e.size(), initial.size());
    EXPECT_GT(std::count_if(e.begin(), e.end(), [](float v) { return v != 0.0f; }), 0);
  }
  EXPECT_EQ(f.metrics().Value("sotto_rounds_total", {{"outcome", "completed"}}), 3.0);
}

TEST(FederationTest, SecureSparseRoundsAreDeterministic) {
  const std::vector<float> a = RunFederation(SecureSmallFederation(5), 5);
  const std::vector<float> b = RunFederation(SecureSmallFederation(5), 5);
  EXPECT_TRUE(BitEqual(a, b));
  EXPECT_FALSE(BitEqual(a, SecureSmallFederation(5).initial_model));
}

TEST(FederationTest, SecureRoundsAggregateEveryClientOnTheSupport) {
  Federation f(SecureSmallFederation(5), 5);
  ASSERT_TRUE(f.StartCoordinator().ok());
  ASSERT_TRUE(f.StartClients().ok());
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  const size_t d = f.coordinator().model().size();
  for (const auto& round : f.coordinator().history()) {
    EXPECT_EQ(round.outcome, "completed");
    EXPECT_EQ(round.contributors.size(), 5u);
    EXPECT_EQ(round.support_size, (d + 1) / 2);
    EXPECT_EQ(round.phase_seconds.size(), 4u);
  }
  for (size_t i = 0; i < f.num_clients(); ++i) {
    EXPECT_EQ(f.client(i).client->stats().rounds_completed, 3u);
  }
}

TEST(FederationTest, PlainRoundsMatchTheirOwnRerunBitForBit) {
  EXPECT_TRUE(BitEqual(RunFederation(SmallFederation(4), 4), RunFederation(SmallFederation(4), 4)));
}

TEST(FederationTest, ClientLostAfterShareKeysIsRecoveredAndTheRoundCompletesAtItsDeadline) {
  coordinator::CoordinatorOptions options = SecureSmallFederation(5);
  options.deadlines.masked_input = std::chrono::milliseconds(500);
  Federation f(options, 5);
  ASSERT_TRUE(f.StartCoordinator().ok());
  // Client 4 loses its link instead of sending its masked input in round 2.
  for (size_t i = 0; i < 5; ++i) {
    auto& slot = f.client(i);
    auto dialer = f.network().NewDialer("coordinator", slot.id);
    ASSERT_TRUE(dialer.ok());
    std::shared_ptr<net::Dialer> d = *dialer;
    if (i == 4) {
      d = std::make_shared<BreakingDialer>(d, &f.network(), proto::Envelope::kMaskedInput, 2);
    }
    client::ClientOptions co;
    co.client_id = slot.id;
    co.seed = 100 + i;
    co.reconnect.initial = std::chrono::milliseconds(20);
    auto c = client::Client::Create(co, slot.trainer.get(), d);
    ASSERT_TRUE(c.ok());
    slot.client = *std::move(c);
    slot.thread = std::thread([&slot] {
      slot.result = slot.client->Run();
      slot.done = true;
    });
  }
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  const auto& history = f.coordinator().history();
  ASSERT_EQ(history.size(), 3u);
  EXPECT_EQ(history[1].outcome, "completed");
  EXPECT_EQ(history[1].contributors.size(), 4u);
  ASSERT_EQ(history[1].dropped.count("client-4"), 1u);
  // It reconnected and took part again in round 3.
  EXPECT_EQ(history[2].contributors.size(), 5u);
  const client::ClientStats stats = f.client(4).client->stats();
  EXPECT_EQ(stats.connections, 2u);
  EXPECT_EQ(stats.rounds_completed, 2u);
  EXPECT_EQ(stats.rounds_dropped, 1u);
  EXPECT_TRUE(f.client(4).result.ok()) << f.client(4).result;
}

// A client whose link breaks while it trains (it never sent AdvertiseKeys) reconnects, gets the
// round's RoundStart again, and takes part: the round neither waits for the deadline nor goes on
// without it.
TEST(FederationTest, ClientLostWhileTrainingGetsTheRoundAgainAndTakesPart) {
  Federation f(SecureSmallFederation(5), 5);
  ASSERT_TRUE(f.StartCoordinator().ok());
  const std::shared_ptr<BreakingDialer> breaking =
      f.StartClientsBreaking(4, proto::Envelope::kAdvertiseKeys, 2);
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  EXPECT_TRUE(breaking->broken());
  for (const auto& round : f.coordinator().history()) {
    EXPECT_EQ(round.outcome, "completed");
    EXPECT_EQ(round.contributors.size(), 5u) << "round " << round.round;
  }
  const client::ClientStats stats = f.client(4).client->stats();
  EXPECT_EQ(stats.connections, 2u);
  EXPECT_EQ(stats.rounds_completed, 3u);
  EXPECT_EQ(stats.rounds_dropped, 0u);
}

TEST(FederationTest, SilentClientIsDroppedAtThePlainDeadline) {
  coordinator::CoordinatorOptions options = SmallFederation(3);
  options.selection.min_clients = 2;
  options.deadlines.train = std::chrono::milliseconds(1000);
  options.num_rounds = 2;
  Federation f(options, 3);
  ASSERT_TRUE(f.StartCoordinator().ok());
  ASSERT_TRUE(f.StartClients().ok());
  // A fourth, silent client: it says Hello and then never answers a RoundStart.
  auto dialer = f.network().NewDialer("coordinator", "silent");
  ASSERT_TRUE(dialer.ok());
  std::shared_ptr<net::Connection> silent;
  (*dialer)->Dial([&](StatusOr<std::shared_ptr<net::Connection>> c) { silent = *c; });
  f.network().RunUntilIdle();
  ASSERT_NE(silent, nullptr);
  auto inbox = net::Inbox::Create();
  silent->Start(inbox->Callbacks());
  proto::Envelope hello;
  hello.mutable_hello()->set_min_protocol_version(1);
  hello.mutable_hello()->set_max_protocol_version(1);
  hello.mutable_hello()->set_client_id("silent");
  ASSERT_TRUE(silent->Send(hello).ok());
  // Every round selects all four (no round starts before they are all connected).
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().connected_clients() == 4; },
                          std::chrono::seconds(60), /*tick=*/false));
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  for (const auto& round : f.coordinator().history()) {
    EXPECT_EQ(round.outcome, "completed");
    if (round.dropped.count("silent")) {
      EXPECT_EQ(round.dropped.at("silent"), "no update by the deadline");
      EXPECT_EQ(round.contributors.size(), round.selected.size() - 1);
    }
  }
  bool silent_selected = false;
  for (const auto& round : f.coordinator().history()) {
    silent_selected |= round.dropped.count("silent") > 0;
  }
  EXPECT_TRUE(silent_selected);
}

TEST(FederationTest, RestartFromCheckpointGivesTheUninterruptedModel) {
  coordinator::CoordinatorOptions options = SecureSmallFederation(4);
  options.num_rounds = 4;
  const std::vector<float> uninterrupted = RunFederation(options, 4);

  TempDir dir;
  options.checkpoint_dir = dir.path();
  options.round_log_path = dir.path() + "/rounds.jsonl";
  Federation f(options, 4);
  ASSERT_TRUE(f.StartCoordinator().ok());
  const uint64_t run_id = f.coordinator().run_id();
  ASSERT_TRUE(f.StartClients().ok());
  // Crash while round 3 is in flight (after round 2's checkpoint).
  ASSERT_TRUE(f.PumpUntilRoundsFinished(2)) << f.tick_error();
  ASSERT_TRUE(f.coordinator().Tick().ok());  // round 3 starts
  f.CrashCoordinator();
  ASSERT_TRUE(f.StartCoordinator().ok());
  EXPECT_EQ(f.coordinator().resumed_from(), std::optional<uint64_t>(2));
  EXPECT_EQ(f.coordinator().run_id(), run_id);
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  EXPECT_EQ(f.coordinator().completed_rounds(), 4u);
  EXPECT_TRUE(BitEqual(ModelOf(f.coordinator()), uninterrupted));
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_TRUE(f.client(i).result.ok()) << f.client(i).result;
    EXPECT_GE(f.client(i).client->stats().connections, 2u);
  }
  // The round log has one line per finished round, across both processes' lifetimes.
  std::ifstream log(options.round_log_path);
  std::string line;
  int lines = 0;
  while (std::getline(log, line)) {
    ++lines;
    EXPECT_EQ(line.front(), '{');
    EXPECT_NE(line.find("\"outcome\":\"completed\""), std::string::npos);
  }
  EXPECT_EQ(lines, 4);
}

TEST(FederationTest, CheckpointOfAnotherConfigurationIsRefused) {
  TempDir dir;
  coordinator::CoordinatorOptions options = SmallFederation(2);
  options.num_rounds = 1;
  options.checkpoint_dir = dir.path();
  options.config_fingerprint = {1, 2, 3};
  RunFederation(options, 2);
  options.config_fingerprint = {4, 5, 6};
  auto again = coordinator::Coordinator::Create(options, Clock::Real(), nullptr);
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  options.config_fingerprint = {1, 2, 3};
  auto same = coordinator::Coordinator::Create(options, Clock::Real(), nullptr);
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ((*same)->resumed_from(), std::optional<uint64_t>(1));
}

// A raw client on the in-memory network, for refusal tests.
struct RawClient {
  std::shared_ptr<net::Connection> connection;
  std::shared_ptr<net::Inbox> inbox = net::Inbox::Create();

  static RawClient Connect(Federation& f, const std::string& id) {
    RawClient raw;
    auto dialer = f.network().NewDialer("coordinator", id);
    SOTTO_CHECK(dialer.ok());
    (*dialer)->Dial([&](StatusOr<std::shared_ptr<net::Connection>> c) { raw.connection = *c; });
    f.network().RunUntilIdle();
    SOTTO_CHECK(raw.connection != nullptr);
    raw.connection->Start(raw.inbox->Callbacks());
    return raw;
  }
  proto::Envelope Next(Federation& f) {
    for (int i = 0; i < 1000; ++i) {
      f.network().RunUntilIdle();
      if (inbox->size() > 0) return *inbox->Receive(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ADD_FAILURE() << "no message";
    return {};
  }
};

proto::Envelope Hello(uint32_t min_version, uint32_t max_version, const std::string& id) {
  proto::Envelope e;
  e.mutable_hello()->set_min_protocol_version(min_version);
  e.mutable_hello()->set_max_protocol_version(max_version);
  e.mutable_hello()->set_client_id(id);
  return e;
}

// Connects as `id` and says Hello (protocol 1); the coordinator's answer goes to *welcome.
RawClient Join(Federation& f, const std::string& id, proto::Envelope* welcome) {
  RawClient raw = RawClient::Connect(f, id);
  EXPECT_TRUE(raw.connection->Send(Hello(1, 1, id)).ok());
  *welcome = raw.Next(f);
  return raw;
}

// A dense all-zero update of round `round`, ready to pass the replay filter of run `run_id`.
proto::Envelope ZeroUpdate(Federation& f, uint64_t run_id, uint64_t round) {
  proto::Envelope update;
  update.set_run_id(run_id);
  update.set_round_id(round);
  update.mutable_update()->set_round(round);
  update.mutable_update()->set_weight(1);
  update.mutable_update()->set_dense_fp32_le(
      std::string(f.coordinator().model().size() * sizeof(float), '\0'));
  return update;
}

TEST(FederationRefusalTest, UnsupportedVersionIsRefusedAndClosed) {
  Federation f(SmallFederation(2), 0);
  ASSERT_TRUE(f.StartCoordinator().ok());
  RawClient raw = RawClient::Connect(f, "old");
  ASSERT_TRUE(raw.connection->Send(Hello(2, 3, "old")).ok());
  proto::Envelope welcome = raw.Next(f);
  ASSERT_TRUE(welcome.welcome().has_refused());
  EXPECT_EQ(welcome.welcome().refused().reason(), proto::REFUSAL_REASON_UNSUPPORTED_VERSION);
  f.network().RunUntilIdle();
  EXPECT_TRUE(raw.inbox->WaitClosed(std::chrono::seconds(5)).has_value());
  EXPECT_EQ(f.coordinator().connected_clients(), 0u);
}

TEST(FederationRefusalTest, MessageBeforeHelloIsRefusedAndClosed) {
  Federation f(SmallFederation(2), 0);
  ASSERT_TRUE(f.StartCoordinator().ok());
  RawClient raw = RawClient::Connect(f, "eager");
  proto::Envelope update;
  update.mutable_update()->set_round(1);
  ASSERT_TRUE(raw.connection->Send(update).ok());
  proto::Envelope error = raw.Next(f);
  EXPECT_TRUE(error.has_error());
  EXPECT_TRUE(raw.inbox->WaitClosed(std::chrono::seconds(5)).has_value());
  EXPECT_EQ(f.metrics().Value("sotto_refused_messages_total", {{"reason", "before_hello"}}), 1.0);
}

TEST(FederationRefusalTest, ReplayedAndUnselectedMessagesAreDroppedAndCounted) {
  coordinator::CoordinatorOptions options = SmallFederation(2);
  options.deadlines.train = std::chrono::seconds(30);
  Federation f(options, 0);
  ASSERT_TRUE(f.StartCoordinator().ok());
  RawClient a = RawClient::Connect(f, "a");
  RawClient b = RawClient::Connect(f, "b");
  ASSERT_TRUE(a.connection->Send(Hello(1, 1, "a")).ok());
  ASSERT_TRUE(b.connection->Send(Hello(1, 1, "b")).ok());
  const proto::Envelope welcome = a.Next(f);
  ASSERT_TRUE(welcome.welcome().has_accepted());
  b.Next(f);
  ASSERT_TRUE(f.coordinator().Tick().ok());  // round 1 starts: both selected
  const proto::Envelope start = a.Next(f);
  ASSERT_TRUE(start.has_round_start());
  const uint64_t run_id = welcome.welcome().accepted().run_id();

  // An update claiming round 7 of this run, and one of another run: replays (row 12).
  proto::Envelope stale;
  stale.set_run_id(run_id);
  stale.set_round_id(7);
  stale.mutable_update()->set_round(7);
  ASSERT_TRUE(a.connection->Send(stale).ok());
  stale.set_run_id(run_id + 1);
  stale.set_round_id(1);
  ASSERT_TRUE(a.connection->Send(stale).ok());
  f.network().RunUntilIdle();
  EXPECT_EQ(f.metrics().Value("sotto_refused_messages_total", {{"reason", "replayed"}}), 2.0);

  // A third client, connected after selection, sends an update for round 1 (row 10).
  proto::Envelope welcome_c;
  RawClient c = Join(f, "c", &welcome_c);
  ASSERT_TRUE(welcome_c.welcome().has_accepted());
  ASSERT_TRUE(c.connection->Send(ZeroUpdate(f, run_id, 1)).ok());
  f.network().RunUntilIdle();
  EXPECT_EQ(f.metrics().Value("sotto_refused_messages_total", {{"reason", "not_selected"}}), 1.0);
  // Neither refusal dropped the senders.
  EXPECT_EQ(f.coordinator().connected_clients(), 3u);
}

TEST(FederationRefusalTest, MalformedUpdateDropsTheClientFromTheRound) {
  coordinator::CoordinatorOptions options = SmallFederation(1);
  options.num_rounds = 1;
  Federation f(options, 0);
  ASSERT_TRUE(f.StartCoordinator().ok());
  proto::Envelope welcome;
  RawClient a = Join(f, "a", &welcome);
  const uint64_t run_id = welcome.welcome().accepted().run_id();
  ASSERT_TRUE(f.coordinator().Tick().ok());
  ASSERT_TRUE(a.Next(f).has_round_start());
  proto::Envelope bad;
  bad.set_run_id(run_id);
  bad.set_round_id(1);
  bad.mutable_update()->set_round(1);
  bad.mutable_update()->set_weight(1);
  bad.mutable_update()->set_sparse("\x01\x02\x03");
  ASSERT_TRUE(a.connection->Send(bad).ok());
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().finished(); }, std::chrono::seconds(30)));
  const auto& round = f.coordinator().history().at(0);
  EXPECT_EQ(round.outcome, "aborted");  // its only client sent garbage
  ASSERT_EQ(round.dropped.count("a"), 1u);
  EXPECT_NE(round.dropped.at("a").find("malformed update"), std::string::npos);
  EXPECT_TRUE(BitEqual(ModelOf(f.coordinator()), options.initial_model));
}

TEST(FederationRefusalTest, PlainRoundStartIsSentAgainToAClientThatComesBack) {
  coordinator::CoordinatorOptions options = SmallFederation(2);
  options.num_rounds = 1;
  Federation f(options, 0);
  ASSERT_TRUE(f.StartCoordinator().ok());
  proto::Envelope welcome;
  RawClient a = Join(f, "a", &welcome);
  const uint64_t run_id = welcome.welcome().accepted().run_id();
  RawClient b = Join(f, "b", &welcome);
  ASSERT_TRUE(welcome.welcome().has_accepted());
  ASSERT_TRUE(f.coordinator().Tick().ok());
  ASSERT_TRUE(a.Next(f).has_round_start());
  ASSERT_TRUE(b.Next(f).has_round_start());
  // b's link breaks before it answers; it comes back with round 1 pending.
  f.network().Disconnect(*b.connection);
  f.network().RunUntilIdle();
  RawClient back = RawClient::Connect(f, "b");
  proto::Envelope hello = Hello(1, 1, "b");
  hello.mutable_hello()->set_last_run_id(run_id);
  hello.mutable_hello()->set_pending_round(1);
  ASSERT_TRUE(back.connection->Send(hello).ok());
  ASSERT_TRUE(back.Next(f).welcome().has_accepted());
  const proto::Envelope again = back.Next(f);  // no RoundEnd: round 1 is still running
  ASSERT_TRUE(again.has_round_start());
  EXPECT_EQ(again.round_start().round(), 1u);
  // Both answer; the round counts both.
  for (RawClient* c : {&a, &back}) {
    ASSERT_TRUE(c->connection->Send(ZeroUpdate(f, run_id, 1)).ok());
  }
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().finished(); }, std::chrono::seconds(30)));
  const auto& round = f.coordinator().history().at(0);
  EXPECT_EQ(round.outcome, "completed");
  EXPECT_EQ(round.contributors, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(round.dropped.empty());
}

TEST(FederationTest, MemoryBudgetsAreRespected) {
  coordinator::CoordinatorOptions options = SmallFederation(3);
  options.selection.min_clients = 1;
  options.num_rounds = 2;
  options.deadlines.train = std::chrono::seconds(20);
  // Client 1's budget is below what the coordinator knows a round needs (12 bytes per
  // parameter): never selected. Client 2's passes the coordinator's check but not its own
  // estimate (compression state included): it is selected and declines.
  Federation f(options, 3, [](size_t i, client::ClientOptions& o) {
    if (i == 1) o.memory_budget_bytes = 64;
    if (i == 2) o.memory_budget_bytes = 10'000;
  });
  ASSERT_TRUE(f.StartCoordinator().ok());
  ASSERT_TRUE(f.StartClients().ok());
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().connected_clients() == 3; },
                          std::chrono::seconds(60), /*tick=*/false));
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  for (const auto& round : f.coordinator().history()) {
    EXPECT_EQ(round.outcome, "completed");
    EXPECT_EQ(round.selected, (std::vector<std::string>{"client-0", "client-2"}));
    EXPECT_EQ(round.contributors, std::vector<std::string>{"client-0"});
    ASSERT_EQ(round.dropped.count("client-2"), 1u);
    EXPECT_NE(round.dropped.at("client-2").find("memory budget"), std::string::npos);
  }
  EXPECT_EQ(f.client(1).client->stats().rounds_completed, 0u);
  EXPECT_EQ(f.client(2).client->stats().rounds_declined, 2u);
  EXPECT_TRUE(f.client(2).client->error_memory().empty());  // nothing was compressed
  for (size_t i = 0; i < 3; ++i) EXPECT_TRUE(f.client(i).result.ok()) << f.client(i).result;
}

TEST(RoundSummaryJsonTest, EscapesAndListsEverything) {
  coordinator::RoundSummary s;
  s.round = 3;
  s.outcome = "completed";
  s.selected = {"a", "b\"q"};
  s.contributors = {"a"};
  s.dropped = {{"b\"q", "no update by the deadline"}};
  s.uplink_bytes = 10;
  s.eval_accuracy = 0.5;
  const std::string json = coordinator::RoundSummaryJson(s);
  EXPECT_NE(json.find("\"round\":3"), std::string::npos);
  EXPECT_NE(json.find("\"selected\":[\"a\",\"b\\\"q\"]"), std::string::npos);
  EXPECT_NE(json.find("\"dropped\":{\"b\\\"q\":\"no update by the deadline\"}"), std::string::npos);
  EXPECT_NE(json.find("\"eval_accuracy\":0.5"), std::string::npos);
  EXPECT_EQ(json.find("eval_loss"), std::string::npos);
}

// ---- GD-SEC over the network ----------------------------------------------------------------

coordinator::CoordinatorOptions GdSecFederation(size_t clients) {
  coordinator::CoordinatorOptions o = SmallFederation(clients);
  o.compression.Clear();
  proto::GdSecConfig* g = o.compression.mutable_gdsec();
  g->set_beta(0.5);
  g->set_rule(proto::GD_SEC_RULE_TOP_K);
  g->set_density(0.1);
  return o;
}

// GD-SEC's invariant: the coordinator's h equals the sum of the clients' h_m, bit for bit (both
// are wrapping int64 sums).
void ExpectServerHIsTheSumOfTheClients(Federation& f) {
  std::span<const int64_t> h = f.coordinator().gdsec_h();
  ASSERT_EQ(h.size(), f.coordinator().model().size());
  std::vector<uint64_t> sum(h.size(), 0);
  for (size_t i = 0; i < f.num_clients(); ++i) {
    const std::vector<int64_t> hm = f.client(i).client->gdsec_h();
    if (hm.empty()) continue;  // it never ran a GD-SEC round
    ASSERT_EQ(hm.size(), h.size());
    for (size_t j = 0; j < h.size(); ++j) sum[j] += static_cast<uint64_t>(hm[j]);
  }
  size_t mismatches = 0;
  size_t nonzero = 0;
  for (size_t j = 0; j < h.size(); ++j) {
    mismatches += static_cast<int64_t>(sum[j]) != h[j] ? 1 : 0;
    nonzero += h[j] != 0 ? 1 : 0;
  }
  EXPECT_EQ(mismatches, 0u);
  EXPECT_GT(nonzero, 0u);  // not trivially equal
}

std::set<std::string> ContributorsOf(const coordinator::Coordinator& c) {
  std::set<std::string> all;
  for (const auto& round : c.history())
    all.insert(round.contributors.begin(), round.contributors.end());
  return all;
}

TEST(GdSecFederationTest, PlainRoundsKeepTheServersHEqualToTheClientsSum) {
  coordinator::CoordinatorOptions options = GdSecFederation(5);
  options.compression.set_value_coding(proto::VALUE_CODING_FP16);
  options.selection.fraction = 0.6;  // 3 of 5 a round: stale h_m of the others stay in h
  options.selection.min_clients = 3;
  options.num_rounds = 6;
  Federation f(options, 5);
  ASSERT_TRUE(f.StartCoordinator().ok());
  ASSERT_TRUE(f.StartClients().ok());
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().connected_clients() == 5; },
                          std::chrono::seconds(60), /*tick=*/false));
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  const auto& history = f.coordinator().history();
  ASSERT_EQ(history.size(), 6u);
  for (const auto& round : history) {
    EXPECT_EQ(round.outcome, "completed");
    EXPECT_EQ(round.contributors.size(), 3u);
    // 10 % of the coordinates, fp16 values, Golomb-coded gaps.
    EXPECT_LT(round.uplink_bytes, round.dense_uplink_bytes / 4);
  }
  EXPECT_EQ(f.coordinator().gdsec_members(), ContributorsOf(f.coordinator()));
  EXPECT_GT(f.coordinator().gdsec_members().size(), 3u);
  ExpectServerHIsTheSumOfTheClients(f);
  for (size_t i = 0; i < f.num_clients(); ++i) {
    EXPECT_TRUE(f.client(i).result.ok()) << f.client(i).result;
  }
  EXPECT_FALSE(BitEqual(ModelOf(f.coordinator()), options.initial_model));
  EXPECT_EQ(f.metrics().Value("sotto_gdsec_members"),
            static_cast<double>(f.coordinator().gdsec_members().size()));
}

TEST(GdSecFederationTest, RunsAreDeterministic) {
  coordinator::CoordinatorOptions options = GdSecFederation(4);
  options.compression.mutable_gdsec()->set_rule(proto::GD_SEC_RULE_THRESHOLD);
  options.compression.mutable_gdsec()->set_xi(0.5);
  const std::vector<float> a = RunFederation(options, 4);
  EXPECT_TRUE(BitEqual(a, RunFederation(options, 4)));
  EXPECT_FALSE(BitEqual(a, options.initial_model));
}

TEST(GdSecFederationTest, ThresholdRuleSendsEverythingFirstAndLessOnceTheModelMoves) {
  coordinator::CoordinatorOptions options = GdSecFederation(4);
  options.compression.mutable_gdsec()->set_rule(proto::GD_SEC_RULE_THRESHOLD);
  options.compression.mutable_gdsec()->set_xi(1.0);
  options.num_rounds = 5;
  Federation f(options, 4);
  ASSERT_TRUE(f.StartCoordinator().ok());
  ASSERT_TRUE(f.StartClients().ok());
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  const auto& history = f.coordinator().history();
  ASSERT_EQ(history.size(), 5u);
  // No movement before round 1: every coordinate goes (a little over the dense bytes); then
  // only those whose difference beats xi times the model's movement since.
  EXPECT_GT(history[0].uplink_bytes, history[0].dense_uplink_bytes * 9 / 10);
  for (size_t r = 1; r < history.size(); ++r) {
    EXPECT_LT(history[r].uplink_bytes, history[0].uplink_bytes * 3 / 4) << "round " << r + 1;
  }
  ExpectServerHIsTheSumOfTheClients(f);
}

TEST(GdSecFederationTest, LearnsLikeDenseRounds) {
  auto run = [](coordinator::CoordinatorOptions options) {
    options.num_rounds = 10;
    Federation f(options, 4);
    const learn::Dataset& data = f.data();
    std::unique_ptr<learn::Model> model = *learn::MakeModel(testing::LogisticSpec());
    f.options().evaluate =
        [&](std::span<const float> params) -> StatusOr<std::pair<double, double>> {
      learn::EvalResult r = learn::EvaluateDataset(*model, params, data);
      return std::make_pair(r.loss, r.accuracy);
    };
    EXPECT_TRUE(f.StartCoordinator().ok());
    EXPECT_TRUE(f.StartClients().ok());
    EXPECT_TRUE(f.RunToEnd()) << f.tick_error();
    uint64_t uplink = 0;
    for (const auto& round : f.coordinator().history()) uplink += round.uplink_bytes;
    const auto& last = f.coordinator().history().back();
    std::printf("%s: test loss %.4f, accuracy %.4f, uplink %llu bytes in 10 rounds\n",
                proto::IsGdSec(options.compression) ? "GD-SEC top-k 10 %" : "dense",
                *last.eval_loss, *last.eval_accuracy, static_cast<unsigned long long>(uplink));
    return std::make_pair(*last.eval_loss, uplink);
  };
  coordinator::CoordinatorOptions dense = SmallFederation(4);
  dense.compression.Clear();
  const auto [dense_loss, dense_uplink] = run(dense);
  const auto [gdsec_loss, gdsec_uplink] = run(GdSecFederation(4));
  std::unique_ptr<learn::Model> model = *learn::MakeModel(testing::LogisticSpec());
  const double initial_loss =
      learn::EvaluateDataset(*model, dense.initial_model, Federation(dense, 1).data()).loss;
  EXPECT_LT(dense_loss, initial_loss * 0.9);  // the problem is being learned at all
  EXPECT_LT(gdsec_loss, dense_loss * 1.05);
  EXPECT_LT(gdsec_uplink, dense_uplink / 4);
}

TEST(GdSecFederationTest, SecureRoundWithADropoutKeepsHExact) {
  coordinator::CoordinatorOptions options = GdSecFederation(5);
  options.secure_aggregation.enabled = true;
  options.secure_aggregation.policy = secagg::SupportPolicy::kGlobalTopK;
  options.secure_aggregation.density = 0.2;
  options.secure_aggregation.clip = 8.0;
  options.selection.min_clients = 4;
  options.deadlines.masked_input = std::chrono::milliseconds(1500);
  Federation f(options, 5);
  ASSERT_TRUE(f.StartCoordinator().ok());
  // Client 4 loses its link instead of sending its masked input in round 2.
  const std::shared_ptr<BreakingDialer> breaking =
      f.StartClientsBreaking(4, proto::Envelope::kMaskedInput, 2);
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().connected_clients() == 5; },
                          std::chrono::seconds(60), /*tick=*/false));
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  EXPECT_TRUE(breaking->broken());
  const auto& history = f.coordinator().history();
  ASSERT_EQ(history.size(), 3u);
  for (const auto& round : history) EXPECT_EQ(round.outcome, "completed");
  EXPECT_EQ(history[1].contributors.size(), 4u);
  EXPECT_EQ(history[1].dropped.count("client-4"), 1u);
  EXPECT_EQ(f.client(4).client->stats().rounds_dropped, 1u);
  // Client 4 rolled its h_m back: h is still the clients' sum.
  ExpectServerHIsTheSumOfTheClients(f);
  EXPECT_EQ(f.coordinator().gdsec_members().size(), 5u);
}

// Starts the federation with client `lost`'s link breaking right after its round-2 update went
// out (it never hears back and cannot redial until *breaking is released), and runs rounds 1 to
// 3 (round 4 is not selected yet).
void RunUntilAClientIsLostAfterItsUpdate(Federation& f, size_t lost,
                                         std::shared_ptr<BreakingDialer>* breaking) {
  ASSERT_TRUE(f.StartCoordinator().ok());
  *breaking = f.StartClientsBreaking(lost, proto::Envelope::kUpdate, 2,
                                     BreakingDialer::Break::kAfterSending, /*hold_redials=*/true);
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().connected_clients() == f.num_clients(); },
                          std::chrono::seconds(60), /*tick=*/false));
  ASSERT_TRUE(f.PumpUntilRoundsFinished(3)) << f.tick_error();
  ASSERT_TRUE((*breaking)->broken());
}

// A client whose update counted but who never heard so, and who stays away for a round: when it
// comes back it learns its pending round's outcome (COMPLETED) and keeps that round's change,
// instead of rolling it back at the next RoundStart while the coordinator's h holds it.
TEST(GdSecFederationTest, PendingRoundIsResolvedWhenTheClientComesBackRoundsLater) {
  coordinator::CoordinatorOptions options = GdSecFederation(5);
  options.selection.min_clients = 4;
  options.num_rounds = 5;
  Federation f(options, 5);
  std::shared_ptr<BreakingDialer> breaking;
  RunUntilAClientIsLostAfterItsUpdate(f, 4, &breaking);
  if (::testing::Test::HasFatalFailure()) return;
  const auto& history = f.coordinator().history();
  EXPECT_EQ(history[1].contributors.size(), 5u);
  EXPECT_EQ(history[2].contributors.size(), 4u);
  // Back before round 4 is selected, so that it takes part in it.
  breaking->ReleaseRedials();
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().connected_clients() == 5; },
                          std::chrono::seconds(60), /*tick=*/false));
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  EXPECT_EQ(f.coordinator().history()[3].contributors.size(), 5u);
  const client::ClientStats stats = f.client(4).client->stats();
  EXPECT_EQ(stats.connections, 2u);
  EXPECT_EQ(stats.rounds_completed, 4u);  // 1, 2 (learned on reconnecting), 4, 5
  EXPECT_EQ(stats.rounds_dropped, 0u);
  ExpectServerHIsTheSumOfTheClients(f);
}

// A client process that dies after its round-2 update went out and restarts while round 4 is
// due: with its state file it rejoins (learning that round 2 counted); without one it is
// refused, since the coordinator's h holds an h_m that no longer exists anywhere.
void RestartClientAfterItsUpdate(bool with_state_file) {
  TempDir dir;
  coordinator::CoordinatorOptions options = GdSecFederation(4);
  options.selection.min_clients = 3;
  options.num_rounds = 5;
  Federation f(options, 4, [&](size_t i, client::ClientOptions& o) {
    if (i == 3 && with_state_file) o.state_file = dir.path() + "/client-3.state";
  });
  std::shared_ptr<BreakingDialer> breaking;
  RunUntilAClientIsLostAfterItsUpdate(f, 3, &breaking);
  if (::testing::Test::HasFatalFailure()) return;
  EXPECT_EQ(f.coordinator().history()[1].contributors.size(), 4u);  // its update counted
  ASSERT_TRUE(f.RestartClient(3).ok());
  if (!with_state_file) {
    ASSERT_TRUE(f.PumpUntil([&] { return f.client(3).done.load(); }, std::chrono::seconds(60),
                            /*tick=*/false));
    EXPECT_EQ(f.client(3).result.code(), StatusCode::kFailedPrecondition) << f.client(3).result;
    EXPECT_NE(std::string(f.client(3).result.message()).find("STATE_LOST"), std::string::npos)
        << f.client(3).result;
    return;
  }
  ASSERT_TRUE(f.PumpUntil([&] { return f.coordinator().connected_clients() == 4; },
                          std::chrono::seconds(60), /*tick=*/false));
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  EXPECT_TRUE(f.client(3).result.ok()) << f.client(3).result;
  // Round 2 (learned after the restart), 4 and 5.
  EXPECT_EQ(f.client(3).client->stats().rounds_completed, 3u);
  EXPECT_EQ(f.coordinator().history()[3].contributors.size(), 4u);
  ExpectServerHIsTheSumOfTheClients(f);
}

TEST(GdSecFederationTest, RestartedClientRejoinsWithItsStateFile) {
  RestartClientAfterItsUpdate(/*with_state_file=*/true);
}

TEST(GdSecFederationTest, RestartedClientWithoutStateIsRefused) {
  RestartClientAfterItsUpdate(/*with_state_file=*/false);
}

TEST(GdSecFederationTest, RestartFromCheckpointGivesTheUninterruptedModelAndH) {
  coordinator::CoordinatorOptions options = GdSecFederation(4);
  options.secure_aggregation.enabled = true;
  options.secure_aggregation.policy = secagg::SupportPolicy::kGlobalTopK;
  options.secure_aggregation.density = 0.3;
  options.secure_aggregation.clip = 8.0;
  options.num_rounds = 4;
  std::vector<int64_t> uninterrupted_h;
  std::vector<float> uninterrupted;
  {
    Federation f(options, 4);
    ASSERT_TRUE(f.StartCoordinator().ok());
    ASSERT_TRUE(f.StartClients().ok());
    ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
    uninterrupted = ModelOf(f.coordinator());
    uninterrupted_h.assign(f.coordinator().gdsec_h().begin(), f.coordinator().gdsec_h().end());
  }
  TempDir dir;
  options.checkpoint_dir = dir.path();
  Federation f(options, 4);
  ASSERT_TRUE(f.StartCoordinator().ok());
  ASSERT_TRUE(f.StartClients().ok());
  // Crash while round 3 is in flight (after round 2's checkpoint).
  ASSERT_TRUE(f.PumpUntilRoundsFinished(2)) << f.tick_error();
  ASSERT_TRUE(f.coordinator().Tick().ok());  // round 3 starts
  f.CrashCoordinator();
  ASSERT_TRUE(f.StartCoordinator().ok());
  EXPECT_EQ(f.coordinator().resumed_from(), std::optional<uint64_t>(2));
  EXPECT_EQ(f.coordinator().gdsec_members().size(), 4u);
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  EXPECT_TRUE(BitEqual(ModelOf(f.coordinator()), uninterrupted));
  EXPECT_TRUE(std::equal(f.coordinator().gdsec_h().begin(), f.coordinator().gdsec_h().end(),
                         uninterrupted_h.begin(), uninterrupted_h.end()));
  ExpectServerHIsTheSumOfTheClients(f);
}

TEST(GdSecFederationTest, MemberThatLostItsStateIsRefused) {
  coordinator::CoordinatorOptions options = GdSecFederation(2);
  options.num_rounds = 1;
  Federation f(options, 2);
  ASSERT_TRUE(f.StartCoordinator().ok());
  ASSERT_TRUE(f.StartClients().ok());
  ASSERT_TRUE(f.RunToEnd()) << f.tick_error();
  const uint64_t run_id = f.coordinator().run_id();
  // client-0 comes back as a new process (no run id): its h_m is gone, the server's h has it.
  proto::Envelope refused;
  RawClient lost = Join(f, "client-0", &refused);
  ASSERT_TRUE(refused.welcome().has_refused());
  EXPECT_EQ(refused.welcome().refused().reason(), proto::REFUSAL_REASON_STATE_LOST);
  EXPECT_EQ(refused.welcome().refused().retry_after_ms(), 0u);
  // With the run's id (the same process, reconnecting) it is welcome; so is a newcomer.
  RawClient back = RawClient::Connect(f, "client-1");
  proto::Envelope hello = Hello(1, 1, "client-1");
  hello.mutable_hello()->set_last_run_id(run_id);
  ASSERT_TRUE(back.connection->Send(hello).ok());
  EXPECT_TRUE(back.Next(f).welcome().has_accepted());
  proto::Envelope welcome;
  RawClient fresh = Join(f, "client-9", &welcome);
  EXPECT_TRUE(welcome.welcome().has_accepted());
}

TEST(GdSecFederationTest, ConfigurationsThatWouldBreakHAreRefused) {
  coordinator::CoordinatorOptions options = GdSecFederation(3);
  options.checkpoint_dir = "/tmp/unused";
  options.checkpoint_every = 2;
  Status s = coordinator::ValidateCoordinatorOptions(options);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("checkpoint.every_rounds"), std::string::npos) << s;
  options.checkpoint_every = 1;
  EXPECT_TRUE(coordinator::ValidateCoordinatorOptions(options).ok());

  // A 2^32 ring holds 2^31 / ceil(clip * 2^24) clients' integers: 31 at clip 4.
  options.secure_aggregation.enabled = true;
  options.secure_aggregation.clip = 4.0;
  options.secure_aggregation.ring_bits = 32;
  options.selection.max_clients = 0;  // no cap: could be too many
  s = coordinator::ValidateCoordinatorOptions(options);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("secure_aggregation.ring_bits"), std::string::npos) << s;
  options.selection.max_clients = 32;
  EXPECT_FALSE(coordinator::ValidateCoordinatorOptions(options).ok());
  options.selection.max_clients = 31;
  EXPECT_TRUE(coordinator::ValidateCoordinatorOptions(options).ok());
  options.selection.over_selection = 0.1;  // 35 selected at most
  EXPECT_FALSE(coordinator::ValidateCoordinatorOptions(options).ok());
  options.secure_aggregation.ring_bits = 0;  // automatic: 2^64 when needed
  EXPECT_TRUE(coordinator::ValidateCoordinatorOptions(options).ok());

  // Both a sparsifier and GD-SEC.
  options.compression.set_sparsifier(proto::SPARSIFIER_TOP_K);
  EXPECT_FALSE(coordinator::ValidateCoordinatorOptions(options).ok());
}

}  // namespace
}  // namespace sotto
