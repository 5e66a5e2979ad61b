// A federation of separate processes over mutual TLS on 127.0.0.1: `sotto coordinator` and five
// `sotto client`s, from the same configuration files as a deployment would use.
//   - three rounds of top-k + error feedback with secure aggregation on a sparse support give a
//     model equal, bit for bit, to the one the same configs produce over the in-memory
//     transport in this process;
//   - kill -9 of the coordinator mid-run, then a restart: it resumes from its checkpoint, the
//     clients reconnect, and the final model equals the uninterrupted run's.
// The sotto binary is SOTTO_CLI_PATH (set by CMake). Process waits have generous hang guards;
// nothing here measures time.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "federation_config.h"
#include "sotto/client/client.h"
#include "sotto/coordinator/coordinator.h"
#include "sotto/net/certs.h"
#include "sotto/net/memory_transport.h"

extern char** environ;

namespace sotto {
namespace {

namespace fs = std::filesystem;
constexpr size_t kClients = 5;

class Process {
 public:
  explicit Process(const std::vector<std::string>& args, const std::string& log) {
    std::vector<char*> argv;
    std::vector<std::string> copy = args;
    for (std::string& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    const int rc = posix_spawn(&pid_, argv[0], &actions, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (rc != 0) pid_ = -1;
  }
  ~Process() {
    if (pid_ > 0 && !exited_) {
      ::kill(pid_, SIGKILL);
      Wait(std::chrono::seconds(10));
    }
  }
  pid_t pid() const { return pid_; }
  // The exit status once the process ends; -1 when it has not within `guard`, or was killed.
  int Wait(std::chrono::seconds guard) {
    const auto give_up = std::chrono::steady_clock::now() + guard;
    while (std::chrono::steady_clock::now() < give_up) {
      int status = 0;
      const pid_t r = ::waitpid(pid_, &status, WNOHANG);
      if (r == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }
  void Kill9() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
  }

 private:
  pid_t pid_ = -1;
  bool exited_ = false;
};

std::string ReadFile(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

bool WaitForFile(const fs::path& path, std::chrono::seconds guard) {
  const auto give_up = std::chrono::steady_clock::now() + guard;
  while (std::chrono::steady_clock::now() < give_up) {
    std::error_code ec;
    if (fs::exists(path, ec) && fs::file_size(path, ec) > 0) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

size_t CountLines(const fs::path& path) {
  std::ifstream in(path);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) n += !line.empty();
  return n;
}

class FederationTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("sotto-tls-e2e-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->test_suite_name() + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "certs");
    auto ca = net::CertificateAuthority::Create("sotto-e2e-ca");
    ASSERT_TRUE(ca.ok()) << ca.status();
    const std::string certs = (dir_ / "certs").string();
    ASSERT_TRUE(ca->credential().WriteFiles(certs + "/ca.pem", certs + "/ca.key").ok());
    auto server = ca->IssueServer({"localhost", "127.0.0.1"});
    ASSERT_TRUE(server.ok()) << server.status();
    ASSERT_TRUE(server->WriteFiles(certs + "/server.pem", certs + "/server.key").ok());
    for (size_t i = 0; i < kClients; ++i) {
      const std::string id = "client-" + std::to_string(i);
      auto c = ca->IssueClient(id);
      ASSERT_TRUE(c.ok()) << c.status();
      ASSERT_TRUE(c->WriteFiles(certs + "/" + id + ".pem", certs + "/" + id + ".key").ok());
    }
  }
  void TearDown() override {
    if (!HasFailure())
      fs::remove_all(dir_);
    else
      std::fprintf(stderr, "logs kept in %s\n", dir_.c_str());
  }

  // The run: model, rounds, compression and secure aggregation shared by both sides.
  std::string Shared() const {
    std::ostringstream o;
    o << R"("run_name": "e2e", "model": {"kind": "mlp", "input_dim": 20, "num_classes": 2,
           "hidden": [16], "init_seed": 5},
           "tls": {"ca_file": ")"
      << (dir_ / "certs/ca.pem").string() << R"("})";
    return o.str();
  }

  std::string CoordinatorConfig(int rounds, int port) const {
    std::ostringstream o;
    o << "{" << Shared() << R"(,
      "coordinator": {"listen_address": "127.0.0.1", "port": )"
      << port << R"(, "seed": 3},
      "rounds": {"num_rounds": )"
      << rounds << R"(, "min_clients": 5, "train_timeout_ms": 120000},
      "compression": )"
      << compression_ << R"(,
      "secure_aggregation": {"enabled": true, "support_policy": "SUPPORT_POLICY_GLOBAL_TOP_K",
                             "support_density": 0.2, "clip": 8},
      "checkpoint": {"directory": ")"
      << (dir_ / "ckpt").string() << R"("}})";
    return o.str();
  }

  std::string ClientConfig(size_t i) const {
    std::ostringstream o;
    o << "{" << Shared() << R"(,
      "client": {"coordinator_host": "127.0.0.1", "coordinator_port": 1,
                 "server_name": "localhost", "client_id": "client-)"
      << i << R"(", "seed": )" << 100 + i << R"(,
                 "reconnect": {"initial_backoff_ms": 50, "max_backoff_ms": 500},
                 "data": {"dataset": "synthetic", "num_parts": 5, "part": )"
      << i << R"(, "seed": 9},
                 "local": {"learning_rate": 0.1, "batch_size": 16}}})";
    return o.str();
  }

  // The same configs over the in-memory transport, in this process.
  std::vector<float> InMemoryModel(int rounds) {
    auto file = cli::ParseFederationConfig(CoordinatorConfig(rounds, 0));
    EXPECT_TRUE(file.ok()) << file.status();
    auto setup = cli::BuildCoordinatorSetup(*file);
    EXPECT_TRUE(setup.ok()) << setup.status();
    setup->options.checkpoint_dir.clear();
    setup->options.round_log_path.clear();
    net::MemoryNetwork network;
    auto listener = network.Listen("coordinator", "coordinator");
    auto coordinator = coordinator::Coordinator::Create(setup->options, Clock::Real(), nullptr);
    EXPECT_TRUE(coordinator.ok()) << coordinator.status();
    (*listener)->Start([&](std::shared_ptr<net::Connection> c) { (*coordinator)->Accept(c); });
    std::vector<cli::ClientSetup> clients;
    std::vector<std::unique_ptr<client::Client>> running;
    std::vector<std::thread> threads;
    std::vector<Status> results(kClients);
    for (size_t i = 0; i < kClients; ++i) {
      auto cfile = cli::ParseFederationConfig(ClientConfig(i));
      EXPECT_TRUE(cfile.ok()) << cfile.status();
      auto csetup = cli::BuildClientSetup(*cfile);
      EXPECT_TRUE(csetup.ok()) << csetup.status();
      clients.push_back(*std::move(csetup));
    }
    for (size_t i = 0; i < kClients; ++i) {
      auto dialer = network.NewDialer("coordinator", clients[i].options.client_id);
      auto c = client::Client::Create(clients[i].options, clients[i].trainer.get(), *dialer);
      EXPECT_TRUE(c.ok()) << c.status();
      running.push_back(*std::move(c));
    }
    std::atomic<size_t> done{0};
    for (size_t i = 0; i < kClients; ++i) {
      threads.emplace_back([&, i] {
        results[i] = running[i]->Run();
        ++done;
      });
    }
    // The coordinator is ticked on this thread, which also drives the network.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(5);
    while ((!(*coordinator)->finished() || done < kClients) &&
           std::chrono::steady_clock::now() < give_up) {
      network.RunUntilIdle();
      EXPECT_TRUE((*coordinator)->Tick().ok());
      network.RunUntilIdle();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    for (auto& c : running) c->Stop();  // only matters when the guard above gave up
    for (auto& t : threads) t.join();
    for (const Status& s : results) EXPECT_TRUE(s.ok()) << s;
    EXPECT_TRUE((*coordinator)->finished());
    return std::vector<float>((*coordinator)->model().begin(), (*coordinator)->model().end());
  }

  std::vector<float> ModelFile(const fs::path& path) {
    const std::string bytes = ReadFile(path);
    std::vector<float> model(bytes.size() / sizeof(float));
    std::memcpy(model.data(), bytes.data(), model.size() * sizeof(float));
    return model;
  }

  std::unique_ptr<Process> StartCoordinator(int rounds, int port, const std::string& tag) {
    const fs::path config = dir_ / ("coordinator-" + tag + ".json");
    WriteFile(config, CoordinatorConfig(rounds, port));
    return std::make_unique<Process>(
        std::vector<std::string>{SOTTO_CLI_PATH, "coordinator", "--config", config.string(),
                                 "--port-file", (dir_ / ("port-" + tag)).string(), "--model-out",
                                 (dir_ / "model.bin").string()},
        (dir_ / ("coordinator-" + tag + ".log")).string());
  }

  std::vector<std::unique_ptr<Process>> StartClients(int port) {
    std::vector<std::unique_ptr<Process>> out;
    for (size_t i = 0; i < kClients; ++i) {
      const fs::path config = dir_ / ("client-" + std::to_string(i) + ".json");
      WriteFile(config, ClientConfig(i));
      out.push_back(std::make_unique<Process>(
          std::vector<std::string>{SOTTO_CLI_PATH, "client", "--config", config.string(),
                                   "--coordinator-port", std::to_string(port)},
          (dir_ / ("client-" + std::to_string(i) + ".log")).string()));
    }
    return out;
  }

  int ReadPort(const std::string& tag) {
    EXPECT_TRUE(WaitForFile(dir_ / ("port-" + tag), std::chrono::seconds(60)));
    return std::stoi(ReadFile(dir_ / ("port-" + tag)));
  }

  // Five `sotto client` processes and `sotto coordinator` over mTLS for 3 rounds; the model
  // must equal the in-memory run's bit for bit.
  void ExpectTlsRunMatchesInMemory() {
    auto coordinator = StartCoordinator(3, 0, "a");
    const int port = ReadPort("a");
    ASSERT_GT(port, 0);
    auto clients = StartClients(port);
    for (size_t i = 0; i < kClients; ++i) {
      EXPECT_EQ(clients[i]->Wait(std::chrono::minutes(5)), 0) << "client " << i;
    }
    ASSERT_EQ(coordinator->Wait(std::chrono::minutes(1)), 0);
    const std::vector<float> over_tls = ModelFile(dir_ / "model.bin");
    const std::vector<float> in_memory = InMemoryModel(3);
    ASSERT_EQ(over_tls.size(), in_memory.size());
    ASSERT_GT(over_tls.size(), 0u);
    EXPECT_EQ(std::memcmp(over_tls.data(), in_memory.data(), over_tls.size() * sizeof(float)), 0);
    EXPECT_EQ(CountLines(dir_ / "ckpt" / "rounds.jsonl"), 3u);
    const std::string log = ReadFile(dir_ / "ckpt" / "rounds.jsonl");
    EXPECT_EQ(log.find("\"outcome\":\"aborted\""), std::string::npos);
  }

  // kill -9 of the coordinator after two checkpointed rounds, a restart on the same port: the
  // clients reconnect and the final model equals the uninterrupted run's.
  void ExpectKillNineAndRestartMatchUninterrupted() {
    constexpr int kRounds = 5;
    auto first = StartCoordinator(kRounds, 0, "a");
    const int port = ReadPort("a");
    ASSERT_GT(port, 0);
    auto clients = StartClients(port);
    // Kill the coordinator once two rounds are checkpointed and logged.
    const auto give_up = std::chrono::steady_clock::now() + std::chrono::minutes(3);
    while (CountLines(dir_ / "ckpt" / "rounds.jsonl") < 2 &&
           std::chrono::steady_clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ASSERT_GE(CountLines(dir_ / "ckpt" / "rounds.jsonl"), 2u);
    first->Kill9();
    // Same configuration on the same port (the fingerprint ignores ports); clients reconnect.
    auto second = StartCoordinator(kRounds, port, "b");
    for (size_t i = 0; i < kClients; ++i) {
      EXPECT_EQ(clients[i]->Wait(std::chrono::minutes(5)), 0) << "client " << i;
    }
    ASSERT_EQ(second->Wait(std::chrono::minutes(1)), 0);
    const std::string second_log = ReadFile(dir_ / "coordinator-b.log");
    EXPECT_NE(second_log.find("checkpoint_resumed"), std::string::npos) << second_log;
    const std::vector<float> resumed = ModelFile(dir_ / "model.bin");
    const std::vector<float> uninterrupted = InMemoryModel(kRounds);
    ASSERT_EQ(resumed.size(), uninterrupted.size());
    EXPECT_EQ(std::memcmp(resumed.data(), uninterrupted.data(), resumed.size() * sizeof(float)), 0);
  }

  fs::path dir_;
  std::string compression_ =
      R"({"sparsifier": "SPARSIFIER_TOP_K", "density": 0.1,
          "error_feedback": "ERROR_FEEDBACK_CLASSIC"})";
};

// GD-SEC instead of top-k with error feedback: the clients' h_m and the coordinator's h go
// through secure aggregation on the same sparse supports.
class GdSecFederationTlsTest : public FederationTlsTest {
 protected:
  GdSecFederationTlsTest() {
    compression_ = R"({"gdsec": {"beta": 0.5, "rule": "GD_SEC_RULE_TOP_K", "density": 0.1}})";
  }
};

TEST_F(FederationTlsTest, FiveProcessesMatchTheInMemoryRunBitForBit) {
  ExpectTlsRunMatchesInMemory();
}

TEST_F(FederationTlsTest, KillNineAndRestartResumesToTheUninterruptedModel) {
  ExpectKillNineAndRestartMatchUninterrupted();
}

TEST_F(GdSecFederationTlsTest, FiveProcessesMatchTheInMemoryRunBitForBit) {
  ExpectTlsRunMatchesInMemory();
}

// The coordinator's h comes back from the checkpoint; the clients keep their h_m.
TEST_F(GdSecFederationTlsTest, KillNineAndRestartResumesToTheUninterruptedModel) {
  ExpectKillNineAndRestartMatchUninterrupted();
}

}  // namespace
}  // namespace sotto
