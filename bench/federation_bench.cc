// Benchmarks of the coordinator service and the client SDK (issue 5), each against a baseline
// measured in the same run:
//
//   - BM_Handshake: connections per second to a listener on 127.0.0.1 (port 0), dialled with 1
//     and 16 in flight (a closed loop: a new dial starts as soon as one finishes), 64 per
//     iteration, every one with a client identity of its own. Kinds:
//       0 plain TCP connect + accept with Boost.Asio (the baseline);
//       1 the bare mutual-TLS 1.3 handshake (TlsDialer -> TlsListener; done when the listener
//         hands the authenticated connection to its AcceptHandler);
//       2 mutual TLS up to the coordinator's Welcome: Hello -> Welcome through a real
//         Coordinator (done when the client has the Welcome).
//     Connections stay open until the iteration's 64 are done, then all are closed with the
//     timer paused, so closing costs nothing here. The listener runs on one thread (the
//     coordinator's: RunFor + Tick), the dialers on another. Counter cpu_us: process CPU per
//     connection (both ends), much less sensitive to a shared machine's load than the rate.
//   - BM_HelloRegistry: Hello -> Welcome over the in-memory transport (the coordinator's own
//     cost) with 100 (the baseline), 10^4 or 3 x 10^4 clients registered before.
//   - BM_Round: whole federations of 100 clients (Client::Run, one thread each) and one
//     Coordinator, over mutual TLS on loopback (transport 1) or over the in-memory transport
//     (transport 0, the baseline that isolates TLS and sockets), d = 10^5 and 10^6. Each
//     client's trainer does no work: it copies a fixed pseudo-gradient (a seeded Gaussian
//     pattern, rotated per client, so top-k has something to select), so every second of a
//     round is framework overhead. Configurations:
//       0 dense, plain FedAvg;
//       1 top-k 1 % + classic error feedback, plain;
//       2 top-k 1 % + error feedback + secure aggregation on a 1 % global_topk support,
//         SecAgg+ degree 6 (threshold 4 of 7), ring 2^32;
//       3 GD-SEC (top-k rule, 1 %, beta 0.5), plain;
//       4 GD-SEC on a 1 % global_topk support with secure aggregation as in 2 (clip 1, so
//         that GD-SEC's 2^24-per-unit integers of 100 clients fit the 2^32 ring).
//     BM_Compute has baselines for 0-2; 3 and 4 are for their bytes and round times.
//     The reported time is the wall time per round in steady state: (end of round R - end of
//     round 1) / (R - 1). Counters: process CPU seconds per round (all threads), the
//     coordinator's own round time (RoundSummary::seconds), the broadcast part (from the end of
//     the previous round to the last client's Train call: the next Tick, RoundStart to 100
//     clients, decode), the secure-aggregation phases, connect time, and bytes per client per
//     round from RoundSummary (uplink, downlink, the dense fp32 equivalent).
//   - BM_Compute: the pure compute of one round, without the framework, as the simulator does
//     it: 100 x (trainer copy + compress + encode) on 2 threads, then the server's decode and
//     weighted mean, or the whole secure-aggregation protocol (100 SecAggClients, one
//     SecAggServer, clients on 2 threads), and the FedAvg step. This is the work the round
//     cannot avoid; the framework's rounds are reported as ratios to it.
// The coordinator is ticked every 2 ms (loop.RunFor(2ms); Tick()) over both transports.
// Threads are named (fb-coordinator: the coordinator's loop and Tick; fb-client-loop: the two
// client EventLoops; fb-client: the 100 Client::Run threads), so that `perf record -g` of a
// federation splits by thread with `perf report --sort comm`.
// After the runs a summary prints the tables of docs/BENCHMARKS.md ("Coordinator and client
// over mutual TLS"). About 3 minutes and 3 GiB of memory on the 2-core reference VM:
//
//   build/h-bench/bench/federation_bench --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true   (one command line)

#include <benchmark/benchmark.h>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <numeric>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "median_reporter.h"
#include "sotto/base/check.h"
#include "sotto/base/clock.h"
#include "sotto/base/logging.h"
#include "sotto/base/random.h"
#include "sotto/client/client.h"
#include "sotto/coordinator/coordinator.h"
#include "sotto/core/aggregate.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/core/compress/sparse_codec.h"
#include "sotto/core/strategy.h"
#include "sotto/core/trainer.h"
#include "sotto/crypto/fixed_point.h"
#include "sotto/net/certs.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/event_loop.h"
#include "sotto/net/memory_transport.h"
#include "sotto/net/tls.h"
#include "sotto/net/transport.h"
#include "sotto/proto/compress_convert.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/config.h"
#include "sotto/secagg/input.h"
#include "sotto/secagg/server.h"
#include "sotto/secagg/support.h"

namespace sotto::fedbench {
namespace {

namespace asio = boost::asio;
using std::chrono::steady_clock;

constexpr uint64_t kSeed = 5;
constexpr size_t kClients = 100;
// Handshakes per benchmark iteration (each with its own client certificate).
constexpr int kHandshakesPerIteration = 64;
// The coordinator's tick, over both transports.
constexpr auto kTickInterval = std::chrono::milliseconds(2);
// Every client reports this many examples (equal weights).
constexpr uint64_t kExamples = 100;
// Scale of the pseudo-gradient (a gradient-like magnitude, well inside the secure clip of 4).
constexpr double kGradientScale = 0.01;
// SecAgg+ degree of the secure configuration (threshold: a majority of 7 shares, 4).
constexpr int kSecAggDegree = 6;
constexpr double kDensity = 0.01;
// Guards against a hang; never a measured limit.
constexpr auto kGuard = std::chrono::seconds(900);

enum Kind : int64_t { kTcp = 0, kTls = 1, kTlsWelcome = 2 };
enum Transport : int64_t { kMemory = 0, kTlsTransport = 1 };
enum Config : int64_t {
  kDensePlain = 0,
  kTopKPlain = 1,
  kTopKSecure = 2,
  kGdSecPlain = 3,
  kGdSecSecure = 4,
};
// The configurations BM_Compute has a baseline for; BM_Round runs every one.
constexpr int64_t kComputeConfigs[] = {kDensePlain, kTopKPlain, kTopKSecure};
constexpr int64_t kAllConfigs[] = {kDensePlain, kTopKPlain, kTopKSecure, kGdSecPlain, kGdSecSecure};

bool IsSecure(int64_t config) { return config == kTopKSecure || config == kGdSecSecure; }

const char* ConfigName(int64_t config) {
  switch (config) {
    case kDensePlain:
      return "dense FedAvg, plain";
    case kTopKPlain:
      return "top-k 1 % + EF, plain";
    case kTopKSecure:
      return "top-k 1 % + EF, SecAgg+ on 1 % global_topk";
    case kGdSecPlain:
      return "GD-SEC top-k 1 %, plain";
    default:
      return "GD-SEC, SecAgg+ on 1 % global_topk";
  }
}

double Seconds(steady_clock::duration d) { return std::chrono::duration<double>(d).count(); }

// CPU seconds of the whole process (every thread).
double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             steady_clock::now().time_since_epoch())
      .count();
}

std::string ClientId(size_t i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "client-%03zu", i);
  return buf;
}

// Runs fn(i, worker) for i in [0, n) on `threads` threads (the calling one is worker 0).
void ParallelFor(size_t n, int threads, const std::function<void(size_t, int)>& fn) {
  std::atomic<size_t> next{0};
  auto worker = [&](int w) {
    for (size_t i = next++; i < n; i = next++) {
      fn(i, w);
    }
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) {
    pool.emplace_back(worker, t);
  }
  worker(0);
  for (auto& t : pool) {
    t.join();
  }
}

// ---- PKI -----------------------------------------------------------------------------------

// A federation CA, a server certificate for 127.0.0.1 and kClients client certificates, in a
// temporary directory removed at exit.
class Pki {
 public:
  static Pki& Get() {
    static Pki pki;
    return pki;
  }
  ~Pki() {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  net::TlsServerOptions Server() const {
    net::TlsServerOptions o;
    o.bind_address = "127.0.0.1";
    o.port = 0;
    o.credentials = {File("ca.pem"), File("server.pem"), File("server.key")};
    return o;
  }
  net::TlsClientOptions Client(size_t i, uint16_t port) const {
    net::TlsClientOptions o;
    o.host = "127.0.0.1";
    o.port = port;
    const std::string id = ClientId(i);
    o.credentials = {File("ca.pem"), File(id + ".pem"), File(id + ".key")};
    return o;
  }

 private:
  Pki() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sotto_fedbench_XXXXXX").string();
    SOTTO_CHECK(mkdtemp(pattern.data()) != nullptr);
    dir_ = pattern;
    auto ca = net::CertificateAuthority::Create("sotto bench CA");
    SOTTO_CHECK_OK(ca.status());
    SOTTO_CHECK_OK(ca->credential().WriteFiles(File("ca.pem"), File("ca.key")));
    auto server = ca->IssueServer({"127.0.0.1"});
    SOTTO_CHECK_OK(server.status());
    SOTTO_CHECK_OK(server->WriteFiles(File("server.pem"), File("server.key")));
    for (size_t i = 0; i < std::max<size_t>(kClients, kHandshakesPerIteration); ++i) {
      auto client = ca->IssueClient(ClientId(i));
      SOTTO_CHECK_OK(client.status());
      SOTTO_CHECK_OK(client->WriteFiles(File(ClientId(i) + ".pem"), File(ClientId(i) + ".key")));
    }
  }
  std::string File(const std::string& name) const { return (dir_ / name).string(); }

  std::filesystem::path dir_;
};

// ---- Handshakes ----------------------------------------------------------------------------

// A closed loop of `total` connections with at most `in_flight` unfinished at once. Done()
// (the side that finishes last: the server's accept, or the client's Welcome) frees a slot and
// starts the next connection, from whichever thread calls it; with `two_sided`, OtherSideDone()
// (the client's connect or handshake) must also have come for every connection before Wait
// returns.
class Driver {
 public:
  void Begin(int total, int in_flight, bool two_sided, std::function<void(int)> start) {
    std::function<void(int)> launch;
    int first = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      total_ = total;
      started_ = std::min(total, in_flight);
      done_ = 0;
      other_done_ = two_sided ? 0 : total;
      failures_ = 0;
      start_ = std::move(start);
      launch = start_;
      first = started_;
    }
    for (int j = 0; j < first; ++j) {
      launch(j);
    }
  }
  void Done(bool ok) {
    int next = -1;
    std::function<void(int)> launch;
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++done_;
      failures_ += ok ? 0 : 1;
      if (started_ < total_) {
        next = started_++;
        launch = start_;
      }
      cv_.notify_all();
    }
    if (next >= 0) {
      launch(next);
    }
  }
  void OtherSideDone(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ++other_done_;
    failures_ += ok ? 0 : 1;
    cv_.notify_all();
  }
  // Waits for every connection; the number that failed.
  int Wait() {
    std::unique_lock<std::mutex> lock(mu_);
    SOTTO_CHECK(cv_.wait_for(lock, std::chrono::seconds(60),
                             [&] { return done_ == total_ && other_done_ == total_; }));
    return failures_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int total_ = 0;
  int started_ = 0;
  int done_ = 0;
  int other_done_ = 0;
  int failures_ = 0;
  std::function<void(int)> start_;
};

// Runs `fn` on the thread of an Asio context and waits for it.
void RunOn(asio::io_context& io, std::function<void()> fn) {
  std::mutex mu;
  std::condition_variable cv;
  bool ran = false;
  asio::post(io, [&] {
    fn();
    std::lock_guard<std::mutex> lock(mu);
    ran = true;
    cv.notify_all();
  });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return ran; });
}

void TcpHandshakes(benchmark::State& state, int in_flight, double* cpu) {
  using asio::ip::tcp;
  asio::io_context server_io;
  asio::io_context client_io;
  auto server_guard = asio::make_work_guard(server_io);
  auto client_guard = asio::make_work_guard(client_io);
  tcp::acceptor acceptor(server_io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const tcp::endpoint endpoint = acceptor.local_endpoint();
  Driver driver;
  std::vector<tcp::socket> accepted;                    // server thread
  std::vector<std::shared_ptr<tcp::socket>> connected;  // client thread
  std::function<void()> accept = [&] {
    acceptor.async_accept([&](const boost::system::error_code& error, tcp::socket socket) {
      if (error) {
        return;  // closed at the end
      }
      accepted.push_back(std::move(socket));
      driver.Done(true);
      accept();
    });
  };
  accept();
  std::thread server([&] { server_io.run(); });
  std::thread client([&] { client_io.run(); });
  auto start = [&](int) {
    asio::post(client_io, [&] {
      auto socket = std::make_shared<tcp::socket>(client_io);
      connected.push_back(socket);
      socket->async_connect(
          endpoint, [&](const boost::system::error_code& error) { driver.OtherSideDone(!error); });
    });
  };
  for (auto _ : state) {
    const double c0 = ProcessCpuSeconds();
    driver.Begin(kHandshakesPerIteration, in_flight, /*two_sided=*/true, start);
    SOTTO_CHECK(driver.Wait() == 0);
    *cpu += ProcessCpuSeconds() - c0;
    state.PauseTiming();
    // The server closes first (its side keeps TIME_WAIT); the client resets (no TIME_WAIT on
    // its ephemeral ports).
    RunOn(server_io, [&] { accepted.clear(); });
    RunOn(client_io, [&] {
      for (auto& s : connected) {
        boost::system::error_code ignored;
        s->set_option(asio::socket_base::linger(true, 0), ignored);
        s->close(ignored);
      }
      connected.clear();
    });
    state.ResumeTiming();
  }
  RunOn(server_io, [&] { acceptor.close(); });
  server_guard.reset();
  client_guard.reset();
  server_io.stop();
  client_io.stop();
  server.join();
  client.join();
}

void TlsHandshakes(benchmark::State& state, bool welcome, int in_flight, double* cpu) {
  const Pki& pki = Pki::Get();
  net::EventLoop server_loop;
  net::EventLoop client_loop;
  auto listener = net::TlsListener::Create(server_loop, pki.Server());
  SOTTO_CHECK_OK(listener.status());
  std::unique_ptr<coordinator::Coordinator> coord;
  if (welcome) {
    coordinator::CoordinatorOptions options;
    options.seed = kSeed;
    options.num_rounds = 1;
    options.selection.min_clients = 1'000'000;  // never starts a round: Hello/Welcome only
    options.initial_model.assign(1, 0.0f);
    auto made = coordinator::Coordinator::Create(options, Clock::Real(), nullptr);
    SOTTO_CHECK_OK(made.status());
    coord = *std::move(made);
  }
  Driver driver;
  std::vector<std::shared_ptr<net::Connection>> server_side;  // server thread
  (*listener)->Start([&](std::shared_ptr<net::Connection> c) {
    if (welcome) {
      coord->Accept(std::move(c));
    } else {
      server_side.push_back(std::move(c));
      driver.Done(true);
    }
  });
  std::atomic<bool> stop{false};
  std::thread server([&] {
    while (!stop.load()) {
      server_loop.RunFor(kTickInterval);
      if (coord) {
        SOTTO_CHECK_OK(coord->Tick());
      }
    }
  });
  std::thread client([&] { client_loop.Run(); });

  std::vector<std::shared_ptr<net::Dialer>> dialers;
  for (int i = 0; i < kHandshakesPerIteration; ++i) {
    auto d = net::TlsDialer::Create(client_loop, pki.Client(size_t(i), (*listener)->port()));
    SOTTO_CHECK_OK(d.status());
    dialers.push_back(*std::move(d));
  }
  std::mutex mu;
  std::vector<std::shared_ptr<net::Connection>> client_side;
  std::atomic<int> dial_failures{0};
  auto start = [&](int j) {
    dialers[size_t(j)]->Dial([&, j](StatusOr<std::shared_ptr<net::Connection>> c) {
      if (!c.ok()) {
        ++dial_failures;
        if (welcome) {
          driver.Done(false);
        } else {
          driver.OtherSideDone(false);
        }
        return;
      }
      std::shared_ptr<net::Connection> connection = *std::move(c);
      {
        std::lock_guard<std::mutex> lock(mu);
        client_side.push_back(connection);
      }
      if (!welcome) {
        driver.OtherSideDone(true);
        return;  // the listener's AcceptHandler finishes the slot
      }
      net::ConnectionCallbacks callbacks;
      callbacks.on_message = [&](proto::Envelope e) {
        driver.Done(e.body_case() == proto::Envelope::kWelcome && e.welcome().has_accepted());
      };
      callbacks.on_closed = [](const Status&) {};
      connection->Start(std::move(callbacks));
      proto::Envelope hello;
      hello.set_protocol_version(net::kProtocolVersion);
      hello.set_phase(proto::PHASE_HANDSHAKE);
      hello.set_sequence(1);
      hello.set_sender_id(ClientId(size_t(j)));
      proto::Hello* h = hello.mutable_hello();
      h->set_min_protocol_version(net::kProtocolVersion);
      h->set_max_protocol_version(net::kProtocolVersion);
      h->set_client_id(ClientId(size_t(j)));
      h->set_software_version("sotto-bench/1");
      SOTTO_CHECK_OK(connection->Send(hello));
    });
  };
  for (auto _ : state) {
    const double c0 = ProcessCpuSeconds();
    driver.Begin(kHandshakesPerIteration, in_flight, /*two_sided=*/!welcome, start);
    SOTTO_CHECK(driver.Wait() == 0);
    *cpu += ProcessCpuSeconds() - c0;
    state.PauseTiming();
    {
      std::lock_guard<std::mutex> lock(mu);
      for (auto& c : client_side) {
        c->Close();
      }
      client_side.clear();
    }
    server_loop.Post([&] {
      for (auto& c : server_side) {
        c->Close();
      }
      server_side.clear();
    });
    const auto give_up = steady_clock::now() + std::chrono::seconds(30);
    while ((*listener)->stats().open > 0) {
      SOTTO_CHECK(steady_clock::now() < give_up);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    state.ResumeTiming();
  }
  SOTTO_CHECK(dial_failures.load() == 0);
  const net::ListenerStats stats = (*listener)->stats();
  state.counters["refused"] = double(stats.handshake_failures + stats.handshake_timeouts +
                                     stats.identity_refusals + stats.refused_over_cap);
  (*listener)->Shutdown();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  stop = true;
  server.join();
  client_loop.Stop();
  client.join();
  dialers.clear();
  coord.reset();
  listener->reset();
}

void BM_Handshake(benchmark::State& state) {
  const int in_flight = static_cast<int>(state.range(1));
  double cpu = 0;  // process CPU seconds in the timed part
  switch (state.range(0)) {
    case kTcp:
      TcpHandshakes(state, in_flight, &cpu);
      break;
    case kTls:
      TlsHandshakes(state, /*welcome=*/false, in_flight, &cpu);
      break;
    default:
      TlsHandshakes(state, /*welcome=*/true, in_flight, &cpu);
      break;
  }
  state.counters["cpu_us"] = 1e6 * cpu / (double(state.iterations()) * kHandshakesPerIteration);
  state.counters["handshakes_per_s"] = benchmark::Counter(
      double(state.iterations()) * kHandshakesPerIteration, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_Handshake)
    ->ArgsProduct({{kTcp, kTls, kTlsWelcome}, {1, 16}})
    ->ArgNames({"kind", "in_flight"})
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// Hello -> Welcome over the in-memory transport (no TLS: the coordinator's own cost) with
// `registered` clients registered before (each connected once, then gone); the timed client is
// the last one registered, reconnecting. The baseline is registered:100; the larger registries
// show how the cost of a handshake grows with the number of clients the federation has seen.
class MemoryHello {
 public:
  explicit MemoryHello(net::MemoryNetwork* network) : network_(network) {}

  // Dials as `id`, sends Hello, runs the network until the Welcome; returns the connection.
  std::shared_ptr<net::Connection> Connect(const std::string& id) {
    auto dialer = network_->NewDialer("coordinator", id);
    SOTTO_CHECK_OK(dialer.status());
    std::shared_ptr<net::Connection> connection;
    (*dialer)->Dial([&](StatusOr<std::shared_ptr<net::Connection>> c) {
      SOTTO_CHECK_OK(c.status());
      connection = *std::move(c);
    });
    network_->RunUntilIdle();
    SOTTO_CHECK(connection != nullptr);
    bool welcomed = false;
    net::ConnectionCallbacks callbacks;
    callbacks.on_message = [&welcomed](proto::Envelope e) {
      welcomed = e.body_case() == proto::Envelope::kWelcome && e.welcome().has_accepted();
    };
    callbacks.on_closed = [](const Status&) {};
    connection->Start(std::move(callbacks));
    proto::Envelope hello;
    hello.set_protocol_version(net::kProtocolVersion);
    hello.set_phase(proto::PHASE_HANDSHAKE);
    hello.set_sequence(1);
    proto::Hello* h = hello.mutable_hello();
    h->set_min_protocol_version(net::kProtocolVersion);
    h->set_max_protocol_version(net::kProtocolVersion);
    h->set_client_id(id);
    SOTTO_CHECK_OK(connection->Send(hello));
    network_->RunUntilIdle();
    SOTTO_CHECK(welcomed);
    return connection;
  }

 private:
  net::MemoryNetwork* network_;
};

void BM_HelloRegistry(benchmark::State& state) {
  const int64_t registered = state.range(0);
  net::MemoryNetwork network;
  auto listener = network.Listen("coordinator", "coordinator");
  SOTTO_CHECK_OK(listener.status());
  coordinator::CoordinatorOptions options;
  options.seed = kSeed;
  options.num_rounds = 1;
  options.selection.min_clients = 1'000'000;  // Hello/Welcome only
  options.initial_model.assign(1, 0.0f);
  auto coord = coordinator::Coordinator::Create(options, Clock::Real(), nullptr);
  SOTTO_CHECK_OK(coord.status());
  (*listener)->Start([&](std::shared_ptr<net::Connection> c) { (*coord)->Accept(std::move(c)); });
  MemoryHello hello(&network);
  for (int64_t i = 0; i < registered; ++i) {
    hello.Connect("seen-" + std::to_string(i))->Close();
    network.RunUntilIdle();
  }
  const std::string last = "seen-" + std::to_string(registered - 1);
  for (auto _ : state) {
    std::shared_ptr<net::Connection> c = hello.Connect(last);
    state.PauseTiming();
    c->Close();
    network.RunUntilIdle();
    state.ResumeTiming();
  }
  state.counters["hellos_per_s"] =
      benchmark::Counter(double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_HelloRegistry)
    ->Arg(100)
    ->Arg(10000)
    ->Arg(30000)
    ->ArgName("registered")
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);

// ---- Federations ---------------------------------------------------------------------------

// The pseudo-gradient every client "trains": one seeded Gaussian pattern of d floats, rotated
// by a per-client offset.
std::vector<float> Pattern(size_t d) {
  Prng prng(DeriveSeed(kSeed, d));
  std::vector<float> p(d);
  for (float& v : p) {
    v = static_cast<float>(kGradientScale * prng.Normal());
  }
  return p;
}

size_t Offset(size_t client, size_t d) { return (client * 7919) % d; }

// Names the calling thread (at most 15 characters; see the file comment).
void NameThread(const char* name) { pthread_setname_np(pthread_self(), name); }

void WritePattern(std::span<const float> pattern, size_t offset, std::span<float> update) {
  const size_t d = pattern.size();
  std::memcpy(update.data(), pattern.data() + offset, (d - offset) * sizeof(float));
  std::memcpy(update.data() + (d - offset), pattern.data(), offset * sizeof(float));
}

// Latest Train call per round, over all clients (steady-clock nanoseconds).
struct TrainTimes {
  static constexpr size_t kMaxRounds = 32;
  std::array<std::atomic<int64_t>, kMaxRounds> last{};
  void Record(uint64_t round) {
    if (round >= kMaxRounds) {
      return;
    }
    const int64_t now = NowNanos();
    int64_t seen = last[round].load();
    while (seen < now && !last[round].compare_exchange_weak(seen, now)) {
    }
  }
};

// A trainer that does no work: the update is the client's fixed pseudo-gradient.
class PatternTrainer final : public core::Trainer {
 public:
  PatternTrainer(std::span<const float> pattern, size_t offset, TrainTimes* times)
      : pattern_(pattern), offset_(offset), times_(times) {}
  size_t NumParameters() const override { return pattern_.size(); }
  StatusOr<core::TrainOutput> Train(std::span<const float>, const core::RoundContext& context,
                                    std::span<float> update) override {
    times_->Record(context.round);
    WritePattern(pattern_, offset_, update);
    return core::TrainOutput{kExamples, 0.5};
  }
  StatusOr<learn::EvalResult> Evaluate(std::span<const float>) override {
    return learn::EvalResult{};
  }

 private:
  std::span<const float> pattern_;
  size_t offset_;
  TrainTimes* times_;
};

coordinator::CoordinatorOptions FederationOptions(size_t d, int64_t config, uint32_t rounds) {
  coordinator::CoordinatorOptions o;
  o.run_name = "bench";
  o.seed = kSeed;
  o.num_rounds = rounds;
  o.selection.min_clients = static_cast<uint32_t>(kClients);
  o.initial_model.assign(d, 0.0f);
  if (config == kTopKPlain || config == kTopKSecure) {
    o.compression.set_sparsifier(proto::SPARSIFIER_TOP_K);
    o.compression.set_density(kDensity);
    o.compression.set_error_feedback(proto::ERROR_FEEDBACK_CLASSIC);
  }
  if (config == kGdSecPlain || config == kGdSecSecure) {
    o.compression.mutable_gdsec()->set_beta(0.5);
    o.compression.mutable_gdsec()->set_rule(proto::GD_SEC_RULE_TOP_K);
    o.compression.mutable_gdsec()->set_density(kDensity);
  }
  if (IsSecure(config)) {
    o.secure_aggregation.enabled = true;
    o.secure_aggregation.policy = secagg::SupportPolicy::kGlobalTopK;
    o.secure_aggregation.density = kDensity;
    o.secure_aggregation.degree = kSecAggDegree;
  }
  if (config == kGdSecSecure) {
    // GD-SEC's integers (2^24 per unit) of 100 clients fit the 2^32 ring for |v| <= 1, as
    // top-k's do with the default clip.
    o.secure_aggregation.clip = 1.0;
  }
  return o;
}

struct FederationRun {
  std::vector<coordinator::RoundSummary> history;
  std::vector<double> round_end;   // seconds since the start, at the end of each round
  std::vector<double> round_cpu;   // process CPU seconds at the end of each round
  std::vector<double> last_train;  // seconds since the start of each round's last Train call
  double connect_seconds = 0;      // until the first round started (100 clients welcomed)
};

// One federation: kClients clients for `rounds` rounds over `transport`.
FederationRun RunFederation(int64_t transport, size_t d, int64_t config, uint32_t rounds,
                            std::span<const float> pattern) {
  const coordinator::CoordinatorOptions options = FederationOptions(d, config, rounds);
  TrainTimes train_times;
  std::vector<std::unique_ptr<PatternTrainer>> trainers;
  for (size_t i = 0; i < kClients; ++i) {
    trainers.push_back(std::make_unique<PatternTrainer>(pattern, Offset(i, d), &train_times));
  }
  auto made = coordinator::Coordinator::Create(options, Clock::Real(), nullptr);
  SOTTO_CHECK_OK(made.status());
  std::unique_ptr<coordinator::Coordinator> coord = *std::move(made);

  // Transports. TLS: the coordinator's loop, and two loops shared by the clients.
  std::optional<net::MemoryNetwork> network;
  std::optional<net::EventLoop> server_loop;
  std::vector<std::unique_ptr<net::EventLoop>> client_loops;
  std::vector<std::thread> client_loop_threads;
  std::shared_ptr<net::Listener> listener;
  std::vector<std::shared_ptr<net::Dialer>> dialers;
  if (transport == kMemory) {
    network.emplace();
    auto l = network->Listen("coordinator", "coordinator");
    SOTTO_CHECK_OK(l.status());
    listener = *std::move(l);
    for (size_t i = 0; i < kClients; ++i) {
      auto dialer = network->NewDialer("coordinator", ClientId(i));
      SOTTO_CHECK_OK(dialer.status());
      dialers.push_back(*std::move(dialer));
    }
  } else {
    const Pki& pki = Pki::Get();
    server_loop.emplace();
    auto l = net::TlsListener::Create(*server_loop, pki.Server());
    SOTTO_CHECK_OK(l.status());
    const uint16_t port = (*l)->port();
    listener = *std::move(l);
    for (int k = 0; k < 2; ++k) {
      client_loops.push_back(std::make_unique<net::EventLoop>());
    }
    for (size_t i = 0; i < kClients; ++i) {
      auto dialer = net::TlsDialer::Create(*client_loops[i % 2], pki.Client(i, port));
      SOTTO_CHECK_OK(dialer.status());
      dialers.push_back(*std::move(dialer));
    }
    for (auto& loop : client_loops) {
      client_loop_threads.emplace_back([l = loop.get()] {
        NameThread("fb-client-loop");
        l->Run();
      });
    }
  }
  listener->Start([&](std::shared_ptr<net::Connection> c) { coord->Accept(std::move(c)); });

  FederationRun run;
  const steady_clock::time_point t0 = steady_clock::now();
  std::atomic<size_t> clients_done{0};
  std::atomic<bool> client_failed{false};
  std::vector<std::unique_ptr<client::Client>> clients;
  std::vector<std::thread> client_threads;
  for (size_t i = 0; i < kClients; ++i) {
    client::ClientOptions co;
    co.client_id = ClientId(i);
    co.seed = 100 + i;
    co.reconnect.initial = std::chrono::milliseconds(20);
    co.reconnect.max = std::chrono::milliseconds(500);
    auto c = client::Client::Create(co, trainers[i].get(), dialers[i]);
    SOTTO_CHECK_OK(c.status());
    clients.push_back(*std::move(c));
  }
  for (size_t i = 0; i < kClients; ++i) {
    client_threads.emplace_back([&, i] {
      NameThread("fb-client");
      const Status done = clients[i]->Run();
      if (!done.ok()) {
        std::fprintf(stderr, "client %zu: %s\n", i, done.ToString().c_str());
        client_failed = true;
      }
      ++clients_done;
    });
  }

  // The coordinator's thread: drives its transport and ticks it (coordinator.h).
  std::thread driver([&] {
    NameThread("fb-coordinator");
    auto next_tick = steady_clock::now();
    bool started = false;
    auto after_tick = [&] {
      if (!started && coord->connected_clients() >= kClients) {
        started = true;
        run.connect_seconds = Seconds(steady_clock::now() - t0);
      }
      while (run.round_end.size() < coord->completed_rounds()) {
        run.round_end.push_back(Seconds(steady_clock::now() - t0));
        run.round_cpu.push_back(ProcessCpuSeconds());
      }
    };
    const auto give_up = steady_clock::now() + kGuard;
    while (!(coord->finished() && clients_done.load() == kClients)) {
      SOTTO_CHECK(steady_clock::now() < give_up);
      if (transport == kMemory) {
        const size_t ran = network->RunUntilIdle();
        after_tick();  // rounds also end inside message handling, between ticks
        if (steady_clock::now() >= next_tick) {
          next_tick = steady_clock::now() + kTickInterval;
          SOTTO_CHECK_OK(coord->Tick());
          after_tick();
          network->RunUntilIdle();
          after_tick();
        } else if (ran == 0) {
          std::this_thread::sleep_for(std::chrono::microseconds(50));
        }
      } else {
        server_loop->RunFor(kTickInterval);
        after_tick();  // rounds also end inside message handling, between ticks
        SOTTO_CHECK_OK(coord->Tick());
        after_tick();
      }
    }
    after_tick();
    coord->Shutdown();
    listener->Shutdown();
    if (transport == kMemory) {
      network->RunUntilIdle();
    } else {
      const auto drain = steady_clock::now() + std::chrono::seconds(5);
      while (steady_clock::now() < drain && listener->stats().open > 0) {
        server_loop->RunFor(kTickInterval);
      }
    }
  });
  driver.join();
  for (auto& t : client_threads) {
    t.join();
  }
  SOTTO_CHECK(!client_failed.load());
  for (auto& loop : client_loops) {
    loop->Stop();
  }
  for (auto& t : client_loop_threads) {
    t.join();
  }
  run.history = coord->history();
  for (size_t r = 1; r <= rounds; ++r) {
    const int64_t last = train_times.last[r].load();
    run.last_train.push_back(
        last == 0 ? 0.0 : Seconds(steady_clock::time_point(std::chrono::nanoseconds(last)) - t0));
  }
  clients.clear();
  dialers.clear();
  coord.reset();
  listener.reset();
  return run;
}

uint32_t RoundsFor(size_t d) { return d >= 1000000 ? 4 : 6; }

void BM_Round(benchmark::State& state) {
  const int64_t transport = state.range(0);
  const size_t d = static_cast<size_t>(state.range(1));
  const int64_t config = state.range(2);
  const uint32_t rounds = RoundsFor(d);
  const std::vector<float> pattern = Pattern(d);
  FederationRun run;
  for (auto _ : state) {
    run = RunFederation(transport, d, config, rounds, pattern);
    SOTTO_CHECK(run.round_end.size() == rounds);
    const double period = (run.round_end.back() - run.round_end.front()) / double(rounds - 1);
    state.SetIterationTime(period);
  }
  const double steady = double(rounds - 1);
  double uplink = 0, downlink = 0, dense = 0, own = 0, broadcast = 0;
  std::vector<double> phases(4, 0.0);
  for (size_t r = 1; r < rounds; ++r) {
    const coordinator::RoundSummary& s = run.history[r];
    SOTTO_CHECK(s.outcome == "completed" && s.contributors.size() == kClients);
    uplink += double(s.uplink_bytes);
    downlink += double(s.downlink_bytes);
    dense += double(s.dense_uplink_bytes);
    own += s.seconds;
    broadcast += run.last_train[r] - run.round_end[r - 1];
    for (size_t p = 0; p < s.phase_seconds.size() && p < 4; ++p) {
      phases[p] += s.phase_seconds[p].second;
    }
  }
  const double per_client = steady * double(kClients);
  state.counters["cpu_ms"] = 1e3 * (run.round_cpu.back() - run.round_cpu.front()) / steady;
  state.counters["coord_ms"] = 1e3 * own / steady;
  state.counters["bcast_ms"] = 1e3 * broadcast / steady;
  state.counters["up_B"] = uplink / per_client;
  state.counters["down_B"] = downlink / per_client;
  state.counters["dense_up_B"] = dense / per_client;
  state.counters["up_ratio"] = uplink / dense;
  state.counters["connect_ms"] = 1e3 * run.connect_seconds;
  state.counters["round1_ms"] = 1e3 * run.history[0].seconds;
  if (IsSecure(config)) {
    static constexpr const char* kPhase[] = {"keys_ms", "shares_ms", "masked_ms", "unmask_ms"};
    for (size_t p = 0; p < 4; ++p) {
      state.counters[kPhase[p]] = 1e3 * phases[p] / steady;
    }
    state.counters["support"] = double(run.history.back().support_size);
  }
}

void RoundArgs(benchmark::internal::Benchmark* b) {
  for (int64_t d : {100000, 1000000}) {
    for (int64_t config : kAllConfigs) {
      for (int64_t transport : {kMemory, kTlsTransport}) {
        b->Args({transport, d, config});
      }
    }
  }
  b->ArgNames({"transport", "dim", "config"});
}
BENCHMARK(BM_Round)->Apply(RoundArgs)->Iterations(1)->UseManualTime()->Unit(
    benchmark::kMillisecond);

// ---- The pure compute of a round -----------------------------------------------------------

// The coordinator's RoundConfig for a round (Coordinator::SecAggConfig, written out).
secagg::RoundConfig SecureConfig(size_t d, uint64_t round, std::span<const float> last_mean) {
  secagg::RoundConfig c;
  c.run_id = 1;
  c.round_id = round;
  for (uint64_t id = 1; id <= kClients; ++id) {
    c.client_ids.push_back(id);
  }
  c.degree = kSecAggDegree;
  c.graph_seed = DeriveSeed(kSeed, round);
  c.threshold = secagg::MajorityThreshold(kSecAggDegree + 1);
  const coordinator::SecureAggregationOptions defaults;
  c.fixed_point.ring = crypto::Ring::kRing32;
  c.fixed_point.clip = defaults.clip;
  c.fixed_point.max_clients = kClients;
  auto scale = crypto::FinestScale(kClients, defaults.clip, crypto::Ring::kRing32);
  SOTTO_CHECK_OK(scale.status());
  c.fixed_point.scale = *scale;
  c.max_weight = defaults.max_weight;
  c.support_policy = secagg::SupportPolicy::kGlobalTopK;
  c.mask_indexing = defaults.mask_indexing;
  const uint64_t size = compress::KForDensity(d, kDensity);
  if (last_mean.empty()) {
    auto s = secagg::SharedRandomSupport(d, size, DeriveSeed(kSeed, 1000 + round));
    SOTTO_CHECK_OK(s.status());
    c.support = *s;
  } else {
    const uint64_t explore = static_cast<uint64_t>(std::llround(defaults.explore * double(size)));
    auto s = secagg::GlobalTopKSupport(last_mean, size - explore, explore,
                                       DeriveSeed(kSeed, 1000 + round));
    SOTTO_CHECK_OK(s.status());
    c.support = *s;
  }
  SOTTO_CHECK_OK(secagg::ValidateRoundConfig(c));
  return c;
}

// One client's and the server's work per round, without transport, coordinator or client SDK.
class ComputeRound {
 public:
  ComputeRound(size_t d, int64_t config)
      : d_(d),
        config_(config),
        pattern_(Pattern(d)),
        model_(d, 0.0f),
        mean_(d, 0.0f),
        messages_(kClients),
        inputs_(kClients) {
    auto strategy = core::MakeStrategy(core::StrategyOptions{});
    SOTTO_CHECK_OK(strategy.status());
    strategy_ = *std::move(strategy);
    if (config != kDensePlain) {
      auto options = proto::CompressorOptionsFromProto(FederationOptions(1, config, 1).compression);
      SOTTO_CHECK_OK(options.status());
      for (size_t i = 0; i < kClients; ++i) {
        auto c = compress::Compressor::Create(*options, d);
        SOTTO_CHECK_OK(c.status());
        compressors_.push_back(*std::move(c));
      }
    }
  }

  void Round(uint64_t round, int threads) {
    if (config_ == kTopKSecure) {
      SecureRound(round, threads);
    } else {
      PlainRound(round, threads);
    }
    SOTTO_CHECK_OK(strategy_->Apply(model_, mean_));
  }

 private:
  // Per-thread scratch.
  struct Scratch {
    std::vector<float> update;
    std::vector<float> values;
    compress::SparseUpdate sparse;
  };

  void PlainRound(uint64_t round, int threads) {
    std::vector<Scratch> scratch(static_cast<size_t>(threads));
    ParallelFor(kClients, threads, [&](size_t i, int worker) {
      Scratch& s = scratch[static_cast<size_t>(worker)];
      s.update.resize(d_);
      WritePattern(pattern_, Offset(i, d_), s.update);
      std::vector<uint8_t>& message = messages_[i];
      if (config_ == kDensePlain) {
        message.resize(d_ * sizeof(float));
        std::memcpy(message.data(), s.update.data(), message.size());
        return;
      }
      SOTTO_CHECK_OK(compressors_[i]->Compress(s.update, round, &s.sparse));
      compress::EncodeOptions encode;
      encode.value_coding = s.sparse.format.value_coding;
      SOTTO_CHECK_OK(
          compress::EncodeSparseTo(d_, s.sparse.indices, s.sparse.values, encode, &message));
    });
    // The server: decode and validate every update, weighted mean in client order.
    core::WeightedMeanAggregator aggregator(d_);
    std::vector<float> dense(config_ == kDensePlain ? d_ : 0);
    compress::SparseUpdate decoded;
    for (size_t i = 0; i < kClients; ++i) {
      if (config_ == kDensePlain) {
        std::memcpy(dense.data(), messages_[i].data(), d_ * sizeof(float));
        for (float v : dense) {
          SOTTO_CHECK(std::isfinite(v));
        }
        SOTTO_CHECK_OK(aggregator.Add(dense, double(kExamples)));
      } else {
        SOTTO_CHECK_OK(compress::DecodeSparseInto(messages_[i], {d_, d_}, &decoded));
        SOTTO_CHECK_OK(aggregator.AddSparse(decoded.indices, decoded.values, double(kExamples)));
      }
    }
    SOTTO_CHECK_OK(aggregator.Mean(mean_));
  }

  void SecureRound(uint64_t round, int threads) {
    const secagg::RoundConfig config = SecureConfig(
        d_, round, round == 1 ? std::span<const float>() : std::span<const float>(mean_));
    const std::span<const uint32_t> support = config.support.indices();
    std::vector<Scratch> scratch(static_cast<size_t>(threads));
    // Clients: error feedback on the support, the ring encoding, its residual.
    ParallelFor(kClients, threads, [&](size_t i, int worker) {
      Scratch& s = scratch[static_cast<size_t>(worker)];
      s.update.resize(d_);
      WritePattern(pattern_, Offset(i, d_), s.update);
      s.values.resize(support.size());
      SOTTO_CHECK_OK(compressors_[i]->CompressOnSupport(s.update, support, s.values));
      Prng prng(DeriveSeed(DeriveSeed(kSeed, round), i));
      auto input = secagg::EncodeClientInput(config, s.values, double(kExamples), prng);
      SOTTO_CHECK_OK(input.status());
      const int shift = 64 - static_cast<int>(config.fixed_point.ring);
      const double unit = static_cast<double>(config.max_weight) /
                          (config.fixed_point.scale * static_cast<double>(input->weight));
      for (size_t k = 0; k < support.size(); ++k) {
        const int64_t q = static_cast<int64_t>(input->values[k] << shift) >> shift;
        s.values[k] -= static_cast<float>(static_cast<double>(q) * unit);
      }
      SOTTO_CHECK_OK(compressors_[i]->AddResidual(support, s.values));
      inputs_[i] = *std::move(input);
    });
    // The protocol: clients in parallel, the server takes their messages in id order.
    auto server = secagg::SecAggServer::Create(config);
    SOTTO_CHECK_OK(server.status());
    std::vector<std::unique_ptr<SeededRandom>> randoms;
    std::vector<std::unique_ptr<secagg::SecAggClient>> clients;
    for (size_t i = 0; i < kClients; ++i) {
      randoms.push_back(std::make_unique<SeededRandom>(DeriveSeed(DeriveSeed(kSeed, round), i)));
      auto c = secagg::SecAggClient::Create(config, i + 1, std::move(inputs_[i]), *randoms[i]);
      SOTTO_CHECK_OK(c.status());
      clients.push_back(*std::move(c));
    }
    std::vector<std::optional<secagg::ClientMessage>> replies(kClients);
    ParallelFor(kClients, threads, [&](size_t i, int) {
      auto m = clients[i]->Start();
      SOTTO_CHECK_OK(m.status());
      replies[i] = *std::move(m);
    });
    while ((*server)->phase() != secagg::ServerPhase::kCompleted) {
      SOTTO_CHECK((*server)->phase() != secagg::ServerPhase::kAborted);
      for (size_t i = 0; i < kClients; ++i) {
        if (replies[i].has_value()) {
          SOTTO_CHECK_OK((*server)->Handle(i + 1, std::move(*replies[i])));
          replies[i].reset();
        }
      }
      auto out = (*server)->Advance();
      SOTTO_CHECK_OK(out.status());
      std::vector<const secagg::ServerMessage*> inbox(kClients, nullptr);
      for (const secagg::Outgoing& o : *out) {
        inbox[o.to - 1] = &o.message;
      }
      ParallelFor(kClients, threads, [&](size_t i, int) {
        if (inbox[i] == nullptr) {
          return;
        }
        auto reply = clients[i]->Handle(*inbox[i]);
        SOTTO_CHECK_OK(reply.status());
        replies[i] = *std::move(reply);
      });
    }
    auto mean = secagg::DecodeWeightedMean(config, *(*server)->result());
    SOTTO_CHECK_OK(mean.status());
    std::fill(mean_.begin(), mean_.end(), 0.0f);
    for (size_t k = 0; k < support.size(); ++k) {
      mean_[support[k]] = static_cast<float>((*mean)[k]);
    }
  }

  size_t d_;
  int64_t config_;
  std::vector<float> pattern_;
  std::vector<float> model_;
  std::vector<float> mean_;
  std::unique_ptr<core::Strategy> strategy_;
  std::vector<std::unique_ptr<compress::Compressor>> compressors_;
  std::vector<std::vector<uint8_t>> messages_;
  std::vector<secagg::ClientInput> inputs_;
};

void BM_Compute(benchmark::State& state) {
  const size_t d = static_cast<size_t>(state.range(0));
  const int64_t config = state.range(1);
  const int threads = int(state.range(2));
  ComputeRound compute(d, config);
  uint64_t round = 1;
  compute.Round(round++, threads);  // round 1: buffers sized, the first support drawn
  double cpu = 0;
  for (auto _ : state) {
    const double c0 = ProcessCpuSeconds();
    compute.Round(round++, threads);
    cpu += ProcessCpuSeconds() - c0;
  }
  state.counters["cpu_ms"] = 1e3 * cpu / double(state.iterations());
}

void ComputeArgs(benchmark::internal::Benchmark* b) {
  for (int64_t d : {100000, 1000000}) {
    for (int64_t config : kComputeConfigs) {
      b->Args({d, config, 2});
    }
  }
  b->ArgNames({"dim", "config", "threads"});
}
BENCHMARK(BM_Compute)->Apply(ComputeArgs)->UseRealTime()->Unit(benchmark::kMillisecond);

// ---- Summary -------------------------------------------------------------------------------

class RatioReporter : public sotto::bench::MedianReporter {
 public:
  void Finalize() override {
    MedianReporter::Finalize();
    std::printf("\nSummary (medians when repeated; every ratio within this run):\n");
    PrintHandshakes();
    PrintRegistry();
    PrintRounds();
    PrintBreakdown();
    PrintBytes();
  }

 private:
  static std::string HandshakeKey(int64_t kind, int in_flight) {
    return "BM_Handshake/kind:" + std::to_string(kind) + "/in_flight:" + std::to_string(in_flight);
  }
  static std::string RoundKey(int64_t transport, int64_t d, int64_t config) {
    return "BM_Round/transport:" + std::to_string(transport) + "/dim:" + std::to_string(d) +
           "/config:" + std::to_string(config);
  }
  static std::string ComputeKey(int64_t d, int64_t config) {
    return "BM_Compute/dim:" + std::to_string(d) + "/config:" + std::to_string(config) +
           "/threads:2";
  }
  static const char* Dim(int64_t d) { return d == 100000 ? "10^5" : "10^6"; }

  void PrintHandshakes() {
    if (!Has(HandshakeKey(kTcp, 1))) {
      return;
    }
    std::printf(
        "\nConnections per second (wall), %d per iteration:\n"
        "| in flight | TCP connect+accept | mTLS handshake | mTLS + Hello/Welcome | mTLS / TCP | "
        "Welcome / TCP | Welcome / mTLS |\n"
        "|---:|---:|---:|---:|---:|---:|---:|\n",
        kHandshakesPerIteration);
    for (int in_flight : {1, 16}) {
      const std::string tcp = HandshakeKey(kTcp, in_flight);
      const std::string tls = HandshakeKey(kTls, in_flight);
      const std::string hello = HandshakeKey(kTlsWelcome, in_flight);
      if (!Has(tcp) || !Has(tls) || !Has(hello)) {
        continue;
      }
      const double r_tcp = Counter(tcp, "handshakes_per_s");
      const double r_tls = Counter(tls, "handshakes_per_s");
      const double r_hello = Counter(hello, "handshakes_per_s");
      std::printf("| %d | %.0f/s | %.0f/s | %.0f/s | 1/%.0f | 1/%.0f | %.2f |\n", in_flight, r_tcp,
                  r_tls, r_hello, r_tcp / r_tls, r_tcp / r_hello, r_hello / r_tls);
    }
    std::printf(
        "\nProcess CPU per connection (both ends, every thread):\n"
        "| in flight | TCP connect+accept | mTLS handshake | mTLS + Hello/Welcome | mTLS / TCP | "
        "Welcome / mTLS |\n"
        "|---:|---:|---:|---:|---:|---:|\n");
    for (int in_flight : {1, 16}) {
      const std::string tcp = HandshakeKey(kTcp, in_flight);
      const std::string tls = HandshakeKey(kTls, in_flight);
      const std::string hello = HandshakeKey(kTlsWelcome, in_flight);
      if (!Has(tcp) || !Has(tls) || !Has(hello)) {
        continue;
      }
      const double c_tcp = Counter(tcp, "cpu_us");
      const double c_tls = Counter(tls, "cpu_us");
      const double c_hello = Counter(hello, "cpu_us");
      std::printf("| %d | %.0f us | %.0f us | %.0f us | %.0fx | %.2f |\n", in_flight, c_tcp, c_tls,
                  c_hello, c_tls / c_tcp, c_hello / c_tls);
    }
  }

  void PrintRegistry() {
    const std::string base = "BM_HelloRegistry/registered:100";
    if (!Has(base)) {
      return;
    }
    std::printf(
        "\nHello -> Welcome of a new client over the in-memory transport, by registry size:\n"
        "| clients registered before | time per Hello/Welcome | ratio to 100 registered |\n"
        "|---:|---:|---:|\n");
    for (int64_t n : {100, 10000, 30000}) {
      const std::string key = "BM_HelloRegistry/registered:" + std::to_string(n);
      if (Has(key)) {
        std::printf("| %lld | %.1f us | %.1fx |\n", static_cast<long long>(n), 1e6 * Get(key).real,
                    Get(key).real / Get(base).real);
      }
    }
  }

  void PrintRounds() {
    if (!Has(ComputeKey(100000, kDensePlain)) && !Has(ComputeKey(1000000, kDensePlain))) {
      return;
    }
    for (const bool cpu : {false, true}) {
      std::printf(cpu ? "\nProcess CPU per round (ms, every thread), %zu clients, steady state:\n"
                      : "\nWall time per round (ms), %zu clients, steady state:\n",
                  kClients);
      std::printf(
          "| d | configuration | compute | in-memory | mTLS | in-memory / compute | mTLS / "
          "compute | mTLS / in-memory |\n"
          "|---|---|---:|---:|---:|---:|---:|---:|\n");
      for (int64_t d : {100000, 1000000}) {
        for (int64_t config : kComputeConfigs) {
          const std::string mem = RoundKey(kMemory, d, config);
          const std::string tls = RoundKey(kTlsTransport, d, config);
          const std::string cmp = ComputeKey(d, config);
          if (!Has(mem) || !Has(tls) || !Has(cmp)) {
            continue;
          }
          const double t_cmp = cpu ? Counter(cmp, "cpu_ms") : 1e3 * Get(cmp).real;
          const double t_mem = cpu ? Counter(mem, "cpu_ms") : 1e3 * Get(mem).real;
          const double t_tls = cpu ? Counter(tls, "cpu_ms") : 1e3 * Get(tls).real;
          std::printf("| %s | %s | %.1f | %.1f | %.1f | %.1fx | %.1fx | %.2fx |\n", Dim(d),
                      ConfigName(config), t_cmp, t_mem, t_tls, t_mem / t_cmp, t_tls / t_cmp,
                      t_tls / t_mem);
        }
      }
    }
  }

  void PrintBreakdown() {
    if (!Has(RoundKey(kMemory, 100000, kDensePlain)) &&
        !Has(RoundKey(kMemory, 1000000, kDensePlain))) {
      return;
    }
    std::printf(
        "\nBreakdown, ms per round: broadcast = end of the previous round to the last client's "
        "Train call (next Tick, RoundStart to every client, decode); coordinator = "
        "RoundSummary::seconds; secure phases from RoundSummary::phase_seconds (keys includes "
        "the broadcast and training); connect = until %zu clients were welcomed:\n"
        "| d | configuration | transport | round | broadcast | coordinator | keys | shares | "
        "masked input | unmask | connect |\n"
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        kClients);
    for (int64_t d : {100000, 1000000}) {
      for (int64_t config : kAllConfigs) {
        for (int64_t transport : {kMemory, kTlsTransport}) {
          const std::string key = RoundKey(transport, d, config);
          if (!Has(key)) {
            continue;
          }
          char phases[128] = "- | - | - | -";
          if (IsSecure(config)) {
            std::snprintf(phases, sizeof phases, "%.1f | %.1f | %.1f | %.1f",
                          Counter(key, "keys_ms"), Counter(key, "shares_ms"),
                          Counter(key, "masked_ms"), Counter(key, "unmask_ms"));
          }
          std::printf("| %s | %s | %s | %.1f | %.1f | %.1f | %s | %.0f |\n", Dim(d),
                      ConfigName(config), transport == kMemory ? "in-memory" : "mTLS",
                      1e3 * Get(key).real, Counter(key, "bcast_ms"), Counter(key, "coord_ms"),
                      phases, Counter(key, "connect_ms"));
        }
      }
    }
  }

  void PrintBytes() {
    if (!Has(RoundKey(kMemory, 100000, kDensePlain)) &&
        !Has(RoundKey(kMemory, 1000000, kDensePlain))) {
      return;
    }
    std::printf(
        "\nBytes per client per round (frame bytes from RoundSummary; the same over both "
        "transports):\n"
        "| d | configuration | uplink | dense fp32 (RoundSummary) | uplink / dense | downlink |\n"
        "|---|---|---:|---:|---:|---:|\n");
    for (int64_t d : {100000, 1000000}) {
      for (int64_t config : kAllConfigs) {
        std::string key = RoundKey(kTlsTransport, d, config);
        if (!Has(key)) {
          key = RoundKey(kMemory, d, config);
        }
        if (!Has(key)) {
          continue;
        }
        std::printf("| %s | %s | %.0f | %.0f | %.4f (1/%.1f) | %.0f |\n", Dim(d),
                    ConfigName(config), Counter(key, "up_B"), Counter(key, "dense_up_B"),
                    Counter(key, "up_ratio"), 1.0 / Counter(key, "up_ratio"),
                    Counter(key, "down_B"));
      }
    }
  }
};

}  // namespace
}  // namespace sotto::fedbench

int main(int argc, char** argv) {
  // 100 clients log every connection and round at info level; keep warnings and errors only.
  sotto::SetMinLogLevel(sotto::LogLevel::kWarning);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  sotto::fedbench::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
