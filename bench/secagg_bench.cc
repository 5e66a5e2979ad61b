// Benchmarks of the secure-aggregation protocol (sotto_secagg), against a memcpy of the
// client's vector measured in the same run:
//   - BM_Client: one client's whole round (AdvertiseKeys, ShareKeys, MaskedInput, Unmask)
//     against simulated neighbours, for n in {10, 100, 1000} and supports: dense d = 10^4,
//     dense d = 10^6, and shared_random |S| = 10^4 of d = 10^6 (1 %), masks by coordinate or by
//     support position. The neighbours' own work (their envelopes) is not timed.
//   - BM_Server: the server's whole round with real clients and 10 % of them going offline
//     after sharing keys (so their masks must be rebuilt), client work not timed; the counter
//     unmask_ms is the wall-clock time of the final Advance (rebuild every secret, remove every
//     mask, range check).
//   - Neighbourhoods (argument `degree`, threshold always a majority of the closed
//     neighbourhood): RecommendedSecAggPlusDegree(n) (Bell et al.'s O(log n): n = 10 the complete
//     graph, written degree:0; n = 100 20; n = 1000 30), and at n = 100 degree 6 with threshold
//     4 of 7 (kFlowerComparableDegree: at least as safe as Flower's SecAgg+ with 3 shares and
//     threshold 2 on every axis; docs/BENCHMARKS.md) and degree 4 with threshold 3 of 5.
//   - Threads (ClientOptions / ServerOptions num_threads): 1 and 2 at n = 100, d = 10^6; compare
//     real time, since CPU time counts the calling thread only.
// Ring 2^32 throughout. After the runs a summary prints the ratios (docs/BENCHMARKS.md).
//
//   build/release/bench/secagg_bench --benchmark_repetitions=3
//       --benchmark_report_aggregates_only=true   (one command line)

#include <benchmark/benchmark.h>
#include <time.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "median_reporter.h"
#include "sotto/base/check.h"
#include "sotto/base/random.h"
#include "sotto/crypto/aead.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/shamir.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/graph.h"
#include "sotto/secagg/server.h"
#include "sotto/secagg/support.h"

namespace sotto::secagg {
namespace {

constexpr uint64_t kSeed = 2020;  // Bell et al., CCS 2020
// The headline neighbourhood at n = 100: degree 6, threshold 4 of the 7 shares (see the file
// comment and docs/BENCHMARKS.md).
constexpr int64_t kFlowerComparableDegree = 6;
// Seeds the choice of the clients that go offline (OfflineClients).
constexpr uint64_t kDropoutSeed = 1010;

// Support kinds: 0 dense d = size; 1 shared_random |S| = size of d = 10^6, masks by coordinate
// (MaskIndexing::kCoordinate); 2 the same support, masks by support position
// (MaskIndexing::kSupportPosition). `degree`: the SecAgg+ degree (0: the complete graph).
RoundConfig BenchConfig(uint32_t n, int64_t size, int64_t kind, int64_t degree) {
  RoundConfig config;
  config.run_id = 1;
  config.round_id = 1;
  for (uint32_t i = 0; i < n; ++i) {
    config.client_ids.push_back(1 + i);
  }
  config.degree = static_cast<uint32_t>(degree);
  config.graph_seed = kSeed;
  const uint32_t shares = config.degree == 0 ? n : config.degree + 1;
  config.threshold = MajorityThreshold(shares);
  config.fixed_point = {1.0, 1024.0, n, crypto::Ring::kRing32};
  config.max_weight = 1000;
  auto support = kind == 0 ? Support::Dense(size) : SharedRandomSupport(1000000, size, kSeed);
  SOTTO_CHECK_OK(support.status());
  config.support = *support;
  config.support_policy = kind == 0 ? SupportPolicy::kDense : SupportPolicy::kSharedRandom;
  config.mask_indexing = kind == 2 ? MaskIndexing::kSupportPosition : MaskIndexing::kCoordinate;
  return config;
}

ClientInput BenchInput(const RoundConfig& config, uint64_t seed) {
  Prng prng(seed);
  ClientInput input;
  input.values.resize(config.support.size());
  for (auto& v : input.values) {
    v = static_cast<uint32_t>(static_cast<int32_t>(prng.UniformInt(2049)) - 1024);
  }
  input.weight = 1 + prng.UniformInt(1000);
  return input;
}

// Wall-clock seconds: the unmask may run on several threads.
double WallSeconds() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return double(ts.tv_sec) + 1e-9 * double(ts.tv_nsec);
}

std::vector<uint8_t> Bytes(std::span<const uint8_t> b) { return {b.begin(), b.end()}; }

// The neighbours of client 1, simulated with raw crypto.
struct Neighbour {
  uint64_t id;
  crypto::X25519KeyPair mask;
  crypto::X25519KeyPair encryption;
  std::vector<crypto::ShamirShare> seed_shares;
  std::vector<crypto::ShamirShare> key_shares;
};

void BM_Memcpy(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(bytes, 1), dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_Memcpy)->Arg(4 * 10000)->Arg(4 * 1000000)->Unit(benchmark::kMicrosecond);

void BM_Client(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const RoundConfig config = BenchConfig(n, state.range(1), state.range(2), state.range(4));
  const auto graph = *NeighbourGraph::Create(config);
  const uint64_t self = 1;
  SeededRandom random(kSeed);
  std::vector<Neighbour> neighbours;
  for (uint64_t id : graph.ClosedNeighbourhood(self)) {
    if (id == self) {
      continue;
    }
    Neighbour nb{
        id, *crypto::GenerateX25519KeyPair(random), *crypto::GenerateX25519KeyPair(random), {}, {}};
    auto seed = *crypto::Seed::Generate(random);
    nb.seed_shares =
        *crypto::ShamirSplit(seed.bytes(), config.threshold, graph.num_shares(), random);
    nb.key_shares = *crypto::ShamirSplit(nb.mask.secret_key.bytes(), config.threshold,
                                         graph.num_shares(), random);
    neighbours.push_back(std::move(nb));
  }
  ShareKeysRequest share_keys;
  UnmaskRequest unmask;
  for (const auto& nb : neighbours) {
    share_keys.peers.push_back(
        {nb.id, Bytes(nb.mask.public_key.bytes()), Bytes(nb.encryption.public_key.bytes())});
    unmask.alive.push_back(nb.id);
  }
  const ClientInput input = BenchInput(config, kSeed);
  for (auto _ : state) {
    state.PauseTiming();
    SeededRandom client_random(kSeed + 1);
    ClientOptions options;
    options.num_threads = static_cast<int>(state.range(3));
    auto client = *SecAggClient::Create(config, self, input, client_random, options);
    state.ResumeTiming();
    auto advertise = std::get<AdvertiseKeys>(*client->Start());
    SOTTO_CHECK_OK(client->Handle(share_keys).status());
    state.PauseTiming();
    // The neighbours' envelopes for this client (their work, not timed).
    const auto client_enc = *crypto::X25519PublicKey::FromBytes(advertise.encryption_public_key);
    MaskedInputRequest request;
    for (const auto& nb : neighbours) {
      auto key = *crypto::DerivePairSeed(
          nb.encryption, client_enc, {1, 1, nb.id, self, crypto::PairPurpose::kShareEncryption});
      const uint32_t x = graph.ShareIndex(nb.id, self);
      std::vector<uint8_t> plain(kSharePlaintextBytes, 0);
      for (int i = 0; i < 8; ++i) {
        plain[i] = static_cast<uint8_t>(nb.id >> (8 * i));
        plain[8 + i] = static_cast<uint8_t>(self >> (8 * i));
      }
      auto s = nb.seed_shares[x - 1].value.bytes();
      auto k = nb.key_shares[x - 1].value.bytes();
      std::copy(s.begin(), s.end(), plain.begin() + 16);
      std::copy(k.begin(), k.end(), plain.begin() + 64);
      request.shares.push_back({nb.id, *crypto::AeadSeal(key, {1, 1, nb.id, self}, plain, random)});
    }
    state.ResumeTiming();
    auto masked = client->Handle(request);
    SOTTO_CHECK_OK(masked.status());
    SOTTO_CHECK_OK(client->Handle(unmask).status());
    benchmark::DoNotOptimize(masked);
    state.PauseTiming();
    masked = StatusOr<std::optional<ClientMessage>>(std::optional<ClientMessage>());
    client.reset();
    state.ResumeTiming();
  }
  state.counters["neighbours"] = static_cast<double>(neighbours.size());
}

// Whether a round survives `offline` going away after ShareKeys: every secret the unmasking
// needs (the self-mask seed of each survivor, the mask key of each offline client with a
// surviving neighbour) keeps `threshold` surviving holders in its closed neighbourhood.
bool Recoverable(const RoundConfig& config, const NeighbourGraph& graph,
                 const std::set<uint64_t>& offline) {
  for (uint64_t id : config.client_ids) {
    uint32_t holders = 0;
    for (uint64_t h : graph.ClosedNeighbourhood(id)) {
      holders += offline.count(h) == 0 ? 1 : 0;
    }
    const bool needed = offline.count(id) == 0 || holders > 0;
    if (needed && holders < config.threshold) {
      return false;
    }
  }
  return true;
}

// The n / 10 clients that go offline after ShareKeys: the first n / 10 ids of a seeded shuffle,
// the first shuffle (seeds DeriveSeed(kDropoutSeed, attempt), attempt = 0, 1, ...; independent
// of the graph's own shuffle) whose round is recoverable. With 10 % random
// dropouts a sparse neighbourhood is sometimes not (degree 6, threshold 4: about one round in
// ten loses a secret and would be retried); the benchmark times completed rounds. `attempt` says
// how many shuffles were refused.
std::set<uint64_t> OfflineClients(const RoundConfig& config, uint32_t* attempt) {
  const auto graph = *NeighbourGraph::Create(config);
  const size_t count = config.client_ids.size() / 10;
  for (*attempt = 0;; ++*attempt) {
    std::vector<uint64_t> ids = config.client_ids;
    Prng prng(DeriveSeed(kDropoutSeed, *attempt));
    prng.Shuffle(std::span<uint64_t>(ids));
    std::set<uint64_t> offline(ids.begin(), ids.begin() + static_cast<ptrdiff_t>(count));
    if (Recoverable(config, graph, offline)) {
      return offline;
    }
  }
}

void BM_Server(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const RoundConfig config = BenchConfig(n, state.range(1), state.range(2), state.range(4));
  uint32_t refused_draws = 0;
  const std::set<uint64_t> offline = OfflineClients(config, &refused_draws);
  double unmask_seconds = 0;
  for (auto _ : state) {
    state.PauseTiming();
    ServerOptions options;
    options.num_threads = static_cast<int>(state.range(3));
    auto server = *SecAggServer::Create(config, options);
    std::vector<std::unique_ptr<SeededRandom>> randoms;
    std::map<uint64_t, std::unique_ptr<SecAggClient>> clients;
    std::vector<std::pair<uint64_t, ClientMessage>> pending;
    for (uint64_t id : config.client_ids) {
      randoms.push_back(std::make_unique<SeededRandom>(DeriveSeed(kSeed, id)));
      clients[id] = *SecAggClient::Create(config, id, BenchInput(config, id), *randoms.back());
      pending.emplace_back(id, *clients[id]->Start());
    }
    int phase = 0;
    while (server->phase() != ServerPhase::kCompleted && server->phase() != ServerPhase::kAborted) {
      state.ResumeTiming();
      for (auto& [id, m] : pending) {
        SOTTO_CHECK_OK(server->Handle(id, std::move(m)));
      }
      pending.clear();
      const double t0 = WallSeconds();
      auto out = *server->Advance();
      if (server->phase() == ServerPhase::kCompleted) {
        unmask_seconds += WallSeconds() - t0;
      }
      state.PauseTiming();
      ++phase;
      for (auto& o : out) {
        if (phase == 2 && offline.count(o.to) != 0) {
          continue;  // offline: never sends its masked input
        }
        // Clients answer one at a time and the server takes each answer before the next client
        // works, so at most one masked input is alive at once.
        auto reply = clients[o.to]->Handle(o.message);
        if (reply.ok() && reply->has_value()) {
          if (phase == 2) {
            state.ResumeTiming();
            SOTTO_CHECK_OK(server->Handle(o.to, std::move(**reply)));
            state.PauseTiming();
          } else {
            pending.emplace_back(o.to, std::move(**reply));
          }
        }
      }
    }
    SOTTO_CHECK(server->phase() == ServerPhase::kCompleted);
    server.reset();
    clients.clear();
    state.ResumeTiming();
  }
  state.counters["unmask_ms"] =
      benchmark::Counter(1e3 * unmask_seconds / double(state.iterations()));
  state.counters["refused_draws"] = static_cast<double>(refused_draws);
}

// (n, size, kind, threads, degree): kinds as in BenchConfig.
int64_t Recommended(int64_t n) { return RecommendedSecAggPlusDegree(static_cast<uint64_t>(n)); }

void ClientArgs(benchmark::internal::Benchmark* b) {
  for (int64_t n : {10, 100, 1000}) {
    for (int64_t degree : {Recommended(n), n == 100 ? kFlowerComparableDegree : int64_t{-1},
                           n == 100 ? int64_t{4} : int64_t{-1}}) {
      if (degree < 0) {
        continue;
      }
      b->Args({n, 10000, 0, 1, degree});
      b->Args({n, 1000000, 0, 1, degree});
      b->Args({n, 10000, 1, 1, degree});
      b->Args({n, 10000, 2, 1, degree});
    }
  }
  for (int64_t degree : {Recommended(100), kFlowerComparableDegree, int64_t{4}}) {
    b->Args({100, 1000000, 0, 2, degree});
  }
  b->ArgNames({"n", "size", "sparse", "threads", "degree"});
}
BENCHMARK(BM_Client)->Apply(ClientArgs)->Unit(benchmark::kMillisecond);

void ServerArgs(benchmark::internal::Benchmark* b) {
  for (int64_t n : {10, 100}) {
    b->Args({n, 10000, 0, 1, Recommended(n)});
    b->Args({n, 1000000, 0, 1, Recommended(n)});
    b->Args({n, 10000, 1, 1, Recommended(n)});
    b->Args({n, 10000, 2, 1, Recommended(n)});
  }
  for (int64_t degree : {kFlowerComparableDegree, int64_t{4}}) {
    b->Args({100, 10000, 0, 1, degree});
    b->Args({100, 1000000, 0, 1, degree});
    b->Args({100, 10000, 1, 1, degree});
    b->Args({100, 10000, 2, 1, degree});
  }
  b->Args({1000, 10000, 0, 1, Recommended(1000)});
  b->Args({1000, 10000, 2, 1, Recommended(1000)});
  for (int64_t degree : {Recommended(100), kFlowerComparableDegree, int64_t{4}}) {
    b->Args({100, 1000000, 0, 2, degree});
  }
  b->ArgNames({"n", "size", "sparse", "threads", "degree"});
}
BENCHMARK(BM_Server)->Apply(ServerArgs)->Iterations(1)->Unit(benchmark::kMillisecond);

class RatioReporter : public sotto::bench::MedianReporter {
 public:
  void Finalize() override {
    MedianReporter::Finalize();
    std::printf(
        "\nSummary (client: CPU time per round; server: real time; medians when repeated; "
        "same run):\n");
    for (int64_t size : {10000, 1000000}) {
      const std::string copy = "BM_Memcpy/" + std::to_string(4 * size);
      if (Has(copy)) {
        std::printf("  memcpy of %lld ring elements (%lld bytes): %.3f ms\n",
                    static_cast<long long>(size), static_cast<long long>(4 * size),
                    1e3 * Get(copy).cpu);
      }
    }
    for (int64_t n : {10, 100, 1000}) {
      for (int64_t degree : {Recommended(n), kFlowerComparableDegree, int64_t{4}}) {
        PrintShape(n, degree);
      }
    }
  }

 private:
  static std::string Shape(int64_t n, int64_t size, int64_t kind, int64_t threads, int64_t degree) {
    return "/n:" + std::to_string(n) + "/size:" + std::to_string(size) +
           "/sparse:" + std::to_string(kind) + "/threads:" + std::to_string(threads) +
           "/degree:" + std::to_string(degree);
  }

  void PrintShape(int64_t n, int64_t degree) {
    const std::string dense6 = "BM_Client" + Shape(n, 1000000, 0, 1, degree);
    const std::string dense4 = "BM_Client" + Shape(n, 10000, 0, 1, degree);
    const std::string sparse = "BM_Client" + Shape(n, 10000, 1, 1, degree);
    const std::string position = "BM_Client" + Shape(n, 10000, 2, 1, degree);
    const std::string copy6 = "BM_Memcpy/4000000";
    if (Has(dense6) && Has(dense4) && Has(sparse) && Has(position) && Has(copy6)) {
      std::printf(
          "  client n=%lld degree %lld: dense d=10^6 %.2f ms (%.0fx memcpy of the vector), dense "
          "d=10^4 %.2f ms, 1%% of 10^6 by coordinate %.2f ms (1/%.1f of dense), by position "
          "%.2f ms (1/%.1f)\n",
          static_cast<long long>(n), static_cast<long long>(degree), 1e3 * Get(dense6).cpu,
          Get(dense6).cpu / Get(copy6).cpu, 1e3 * Get(dense4).cpu, 1e3 * Get(sparse).cpu,
          Get(dense6).cpu / Get(sparse).cpu, 1e3 * Get(position).cpu,
          Get(dense6).cpu / Get(position).cpu);
    }
    for (int64_t threads : {1, 2}) {
      const std::string client = "BM_Client" + Shape(n, 1000000, 0, threads, degree);
      if (Has(client)) {
        std::printf("  client n=%lld degree %lld d=10^6 threads %lld: %.2f ms real\n",
                    static_cast<long long>(n), static_cast<long long>(degree),
                    static_cast<long long>(threads), 1e3 * Get(client).real);
      }
    }
    for (int64_t threads : {1, 2}) {
      for (int64_t size : {10000, 1000000}) {
        for (int64_t kind : {0, 1, 2}) {
          const std::string server = "BM_Server" + Shape(n, size, kind, threads, degree);
          if (Has(server)) {
            std::printf(
                "  server n=%lld degree %lld %s threads %lld, 10%% offline after ShareKeys: "
                "round %.1f ms, unmask %.1f ms (real)\n",
                static_cast<long long>(n), static_cast<long long>(degree),
                kind == 0   ? (size == 10000 ? "dense 10^4" : "dense 10^6")
                : kind == 1 ? "1% of 10^6 by coordinate"
                            : "1% of 10^6 by position",
                static_cast<long long>(threads), 1e3 * Get(server).real,
                Counter(server, "unmask_ms"));
          }
        }
      }
    }
  }
};

}  // namespace
}  // namespace sotto::secagg

int main(int argc, char** argv) {
  sotto::bench::KeepFreedBuffersInHeap();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  sotto::secagg::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
