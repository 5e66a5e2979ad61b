// Benchmarks of the secure-aggregation protocol (sotto_secagg), against a memcpy of the
// client's vector measured in the same run:
//   - BM_Client: one client's whole round (AdvertiseKeys, ShareKeys, MaskedInput, Unmask)
//     against simulated neighbours, for n in {10, 100, 1000} (SecAgg+ degree
//     RecommendedSecAggPlusDegree(n); n = 10 is the complete graph) and supports: dense
//     d = 10^4, dense d = 10^6, and shared_random |S| = 10^4 of d = 10^6 (1 %). The neighbours'
//     own work (their envelopes) is not timed.
//   - BM_Server: the server's whole round with real clients and 10 % of them going offline
//     after sharing keys (so their masks must be rebuilt), client work not timed; the counter
//     unmask_ms is the wall-clock time of the final Advance (rebuild every secret, remove every
//     mask, range check).
//   - the same at n = 100, d = 10^6 with 2, 4 and 16 threads (ClientOptions / ServerOptions
//     num_threads; compare real time, since CPU time counts the calling thread only).
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

// Support kinds: 0 dense d = size; 1 shared_random |S| = size of d = 10^6, masks by coordinate
// (MaskIndexing::kCoordinate); 2 the same support, masks by support position.
RoundConfig BenchConfig(uint32_t n, int64_t size, int64_t kind) {
  RoundConfig config;
  config.run_id = 1;
  config.round_id = 1;
  for (uint32_t i = 0; i < n; ++i) {
    config.client_ids.push_back(1 + i);
  }
  config.degree = RecommendedSecAggPlusDegree(n);
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
  const RoundConfig config = BenchConfig(n, state.range(1), state.range(2));
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

void BM_Server(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const RoundConfig config = BenchConfig(n, state.range(1), state.range(2));
  const uint32_t offline = n / 10;  // the last n/10 ids go away after ShareKeys
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
        if (phase == 2 && o.to > n - offline) {
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
}

// (n, size, kind, threads): kinds as in BenchConfig.
void ClientArgs(benchmark::internal::Benchmark* b) {
  for (int64_t n : {10, 100, 1000}) {
    b->Args({n, 10000, 0, 1});
    b->Args({n, 1000000, 0, 1});
    b->Args({n, 10000, 1, 1});
    b->Args({n, 10000, 2, 1});
  }
  for (int64_t threads : {2, 4, 16}) {
    b->Args({100, 1000000, 0, threads});
  }
  b->ArgNames({"n", "size", "sparse", "threads"});
}
BENCHMARK(BM_Client)->Apply(ClientArgs)->Unit(benchmark::kMillisecond);

void ServerArgs(benchmark::internal::Benchmark* b) {
  for (int64_t n : {10, 100}) {
    b->Args({n, 10000, 0, 1});
    b->Args({n, 1000000, 0, 1});
    b->Args({n, 10000, 1, 1});
    b->Args({n, 10000, 2, 1});
  }
  b->Args({1000, 10000, 0, 1});
  b->Args({1000, 10000, 2, 1});
  for (int64_t threads : {2, 4, 16}) {
    b->Args({100, 1000000, 0, threads});
  }
  b->Args({1000, 1000000, 0, 16});
  b->ArgNames({"n", "size", "sparse", "threads"});
}
BENCHMARK(BM_Server)->Apply(ServerArgs)->Iterations(1)->Unit(benchmark::kMillisecond);

class RatioReporter : public sotto::bench::MedianReporter {
 public:
  void Finalize() override {
    MedianReporter::Finalize();
    std::printf("\nSummary (CPU time per round, median when repeated; same run):\n");
    for (int64_t size : {10000, 1000000}) {
      const std::string copy = "BM_Memcpy/" + std::to_string(4 * size);
      if (!Has(copy)) {
        continue;
      }
      std::printf("  memcpy of %lld ring elements (%lld bytes): %.3f ms\n",
                  static_cast<long long>(size), static_cast<long long>(4 * size),
                  1e3 * Get(copy).cpu);
    }
    for (int64_t n : {10, 100, 1000}) {
      const std::string base = "/n:" + std::to_string(n);
      const std::string dense6 = "BM_Client" + base + "/size:1000000/sparse:0/threads:1";
      const std::string dense4 = "BM_Client" + base + "/size:10000/sparse:0/threads:1";
      const std::string sparse = "BM_Client" + base + "/size:10000/sparse:1/threads:1";
      const std::string position = "BM_Client" + base + "/size:10000/sparse:2/threads:1";
      const std::string copy6 = "BM_Memcpy/4000000";
      if (Has(dense6) && Has(sparse) && Has(position) && Has(copy6)) {
        std::printf(
            "  client n=%lld: dense d=10^6 %.2f ms (%.0fx memcpy of the vector), dense d=10^4 "
            "%.2f ms, 1%% of 10^6 by coordinate %.2f ms (1/%.1f of dense), by position %.2f ms "
            "(1/%.1f)\n",
            static_cast<long long>(n), 1e3 * Get(dense6).cpu, Get(dense6).cpu / Get(copy6).cpu,
            1e3 * Get(dense4).cpu, 1e3 * Get(sparse).cpu, Get(dense6).cpu / Get(sparse).cpu,
            1e3 * Get(position).cpu, Get(dense6).cpu / Get(position).cpu);
      }
      for (const char* shape :
           {"/size:10000/sparse:0/threads:1", "/size:1000000/sparse:0/threads:1",
            "/size:10000/sparse:1/threads:1", "/size:10000/sparse:2/threads:1"}) {
        const std::string server = "BM_Server" + base + shape;
        if (Has(server)) {
          std::printf("  server n=%lld%s, 10%% offline after ShareKeys: %.1f ms, unmask %.1f ms\n",
                      static_cast<long long>(n), shape, 1e3 * Get(server).real,
                      Counter(server, "unmask_ms"));
        }
      }
    }
    for (int64_t threads : {1, 2, 4, 16}) {
      const std::string shape = "/n:100/size:1000000/sparse:0/threads:" + std::to_string(threads);
      if (Has("BM_Client" + shape)) {
        std::printf("  client%s: %.2f ms real\n", shape.c_str(),
                    1e3 * Get("BM_Client" + shape).real);
      }
      if (Has("BM_Server" + shape)) {
        std::printf("  server%s: %.1f ms real, unmask %.1f ms real\n", shape.c_str(),
                    1e3 * Get("BM_Server" + shape).real, Counter("BM_Server" + shape, "unmask_ms"));
      }
    }
  }
};

}  // namespace
}  // namespace sotto::secagg

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  sotto::secagg::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
