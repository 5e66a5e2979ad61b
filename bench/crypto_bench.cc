// Benchmarks of the secure-aggregation primitives (sotto_crypto), each against a baseline
// measured in the same run:
//   - dense mask generation (ring 2^32 and 2^64) against memcpy of the same number of bytes,
//     through MaskPrg (the variant this CPU gets) and through each variant (libsodium's ChaCha20
//     into a 4 KiB buffer; the sixteen-block AVX-512 core writing into the vector);
//   - sparse mask generation at |S| = 1% and 10% of d = 10^6 against dense generation over d;
//   - Shamir split / reconstruct at (n, t) = (100, 51), (1000, 501), (10000, 5001) and at
//     SecAgg+-style neighbourhoods (k = 3 log2 n rounded up to odd, t = k / 2 + 1);
//   - per-pair costs: key validation, seed derivation, share encryption;
//   - X25519: libsodium's crypto_scalarmult one at a time against the batched AVX-512 IFMA
//     ladders (eight lanes; a tail of up to four in ymm registers) per scalar multiplication, and
//     the batch functions a SecAgg+ client calls (GenerateX25519KeyPairs, DerivePairSeeds) against
//     the same number of one-at-a-time calls.
// After the runs, a summary prints the ratios (docs/BENCHMARKS.md records them).
//
//   build/release/bench/crypto_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)

#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <utility>
#include <vector>

// The private variant switch of MaskPrg's dense path (crypto/src is not on this target's include
// path: the benchmark times a private detail, so it names the header by its path).
#include "../crypto/src/key_agreement_internal.h"
#include "../crypto/src/mask_prg_internal.h"
#include "../crypto/src/x25519_batch.h"
#include "median_reporter.h"
#include "sotto/base/check.h"
#include "sotto/base/random.h"
#include "sotto/crypto/aead.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/mask_prg.h"
#include "sotto/crypto/secret_bytes.h"
#include "sotto/crypto/shamir.h"

namespace sotto::crypto {
namespace {

constexpr uint64_t kSeed = 42;
constexpr int64_t kSparseDim = 1000000;

Seed BenchSeed() {
  SeededRandom random(kSeed);
  auto seed = Seed::Generate(random);
  SOTTO_CHECK(seed.ok());
  return std::move(seed).value();
}

// --- masks -------------------------------------------------------------------------------

void BM_Memcpy(benchmark::State& state) {
  const size_t bytes = static_cast<size_t>(state.range(0));
  std::vector<uint8_t> src(bytes, 1), dst(bytes, 0);
  for (auto _ : state) {
    std::memcpy(dst.data(), src.data(), bytes);
    benchmark::DoNotOptimize(dst.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(bytes));
}
BENCHMARK(BM_Memcpy)
    ->Arg(int64_t{16384} * 4)
    ->Arg(int64_t{16384} * 8)
    ->Arg(int64_t{1} << 22)
    ->Arg(int64_t{1} << 23);

template <typename Word>
void BM_DenseMask(benchmark::State& state) {
  const size_t coords = static_cast<size_t>(state.range(0));
  const MaskOp op = static_cast<MaskOp>(state.range(1));
  const MaskPrg prg(BenchSeed());
  std::vector<Word> values(coords, 0);
  for (auto _ : state) {
    SOTTO_CHECK_OK(prg.ApplyDense(0, values, op));
    benchmark::DoNotOptimize(values.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(coords * sizeof(Word)));
}
BENCHMARK(BM_DenseMask<uint32_t>)
    ->ArgNames({"coords", "op"})
    ->Args({16384, 0})
    ->Args({1 << 20, 0})
    ->Args({1 << 20, 1})
    ->Args({kSparseDim, 1});
BENCHMARK(BM_DenseMask<uint64_t>)
    ->ArgNames({"coords", "op"})
    ->Args({16384, 0})
    ->Args({1 << 20, 0})
    ->Args({1 << 20, 1})
    ->Args({kSparseDim, 1});

// The same through a chosen variant of the dense path (range(2): 0 libsodium's ChaCha20 into a
// 4 KiB buffer then combined, 1 the sixteen-block AVX-512 core); skipped where the CPU lacks it.
template <typename Word>
void BM_DenseMaskVariant(benchmark::State& state) {
  const size_t coords = static_cast<size_t>(state.range(0));
  const MaskOp op = static_cast<MaskOp>(state.range(1));
  const auto isa = state.range(2) == 0 ? internal::DenseIsa::kSodium : internal::DenseIsa::kAvx512;
  if (!internal::DenseIsaSupported(isa)) {
    state.SkipWithError("variant not supported on this CPU");
    return;
  }
  const Seed seed = BenchSeed();
  std::vector<Word> values(coords, 0);
  for (auto _ : state) {
    SOTTO_CHECK_OK(internal::ApplyDenseWith(isa, seed, 0, 0, values, op));
    benchmark::DoNotOptimize(values.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(coords * sizeof(Word)));
}
void DenseVariantArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"coords", "op", "avx512"});
  for (int64_t isa : {0, 1}) {
    b->Args({16384, 0, isa})->Args({1 << 20, 0, isa})->Args({kSparseDim, 1, isa});
  }
}
BENCHMARK(BM_DenseMaskVariant<uint32_t>)->Apply(DenseVariantArgs);
BENCHMARK(BM_DenseMaskVariant<uint64_t>)->Apply(DenseVariantArgs);

// A uniformly random support of `permille` / 1000 of d (seeded), ascending.
std::vector<uint32_t> Support(int64_t d, int64_t permille) {
  Prng prng(kSeed + static_cast<uint64_t>(permille));
  std::vector<uint32_t> support;
  const double p = static_cast<double>(permille) / 1000.0;
  for (int64_t j = 0; j < d; ++j) {
    if (prng.Uniform() < p) {
      support.push_back(static_cast<uint32_t>(j));
    }
  }
  return support;
}

template <typename Word>
void BM_SparseMask(benchmark::State& state) {
  const std::vector<uint32_t> support = Support(kSparseDim, state.range(0));
  const MaskPrg prg(BenchSeed());
  std::vector<Word> values(support.size(), 0);
  for (auto _ : state) {
    SOTTO_CHECK_OK(prg.ApplySparse(support, values, MaskOp::kAdd));
    benchmark::DoNotOptimize(values.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(support.size()));
  state.counters["support"] = static_cast<double>(support.size());
}
BENCHMARK(BM_SparseMask<uint32_t>)->ArgName("permille")->Arg(10)->Arg(100);
BENCHMARK(BM_SparseMask<uint64_t>)->ArgName("permille")->Arg(10)->Arg(100);

// --- Shamir --------------------------------------------------------------------------------

// SecAgg+-style neighbourhood for n clients: k = ceil(3 log2 n) made odd (as Flower makes
// num_shares odd), t = k / 2 + 1.
int64_t NeighbourhoodSize(int64_t n) {
  int64_t k = static_cast<int64_t>(std::ceil(3.0 * std::log2(static_cast<double>(n))));
  return k % 2 == 0 ? k + 1 : k;
}

void ShamirArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "t"});
  b->Args({100, 51})->Args({1000, 501})->Args({10000, 5001});
  for (int64_t n : {1000, 10000, 1000000}) {
    const int64_t k = NeighbourhoodSize(n);
    b->Args({k, k / 2 + 1});
  }
}

void BM_ShamirSplit(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const uint32_t t = static_cast<uint32_t>(state.range(1));
  SystemRandom random;
  std::vector<uint8_t> secret(kShamirSecretBytes, 7);
  for (auto _ : state) {
    auto shares = ShamirSplit(secret, t, n, random);
    SOTTO_CHECK(shares.ok());
    benchmark::DoNotOptimize(shares->data());
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
BENCHMARK(BM_ShamirSplit)->Apply(ShamirArgs)->Unit(benchmark::kMicrosecond);

// Baseline for the split: the same n * (t - 1) * 3 Horner multiply-adds (three chunks, eight
// points at a time) in plain uint64_t arithmetic, i.e. without the field: the floor of any
// O(n t) evaluation.
void BM_HornerU64Baseline(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const uint32_t t = static_cast<uint32_t>(state.range(1));
  constexpr size_t kLanes = 8;
  Prng prng(kSeed);
  std::vector<uint64_t> coefficients(3 * size_t{t});
  for (uint64_t& c : coefficients) c = prng.Next();
  std::vector<uint64_t> out(3 * size_t{n});
  for (auto _ : state) {
    for (uint32_t first = 1; first <= n; first += kLanes) {
      for (size_t c = 0; c < 3; ++c) {
        const uint64_t* coeff = &coefficients[c * t];
        uint64_t acc[kLanes];
        uint64_t points[kLanes];
        for (size_t l = 0; l < kLanes; ++l) {
          acc[l] = coeff[t - 1];
          points[l] = first + l;
        }
        for (size_t k = t - 1; k-- > 0;) {
          for (size_t l = 0; l < kLanes; ++l) {
            acc[l] = acc[l] * points[l] + coeff[k];
          }
        }
        for (size_t l = 0; l < kLanes && first + l <= n; ++l) {
          out[3 * (first - 1 + l) + c] = acc[l];
        }
      }
    }
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * n);
}
BENCHMARK(BM_HornerU64Baseline)->Apply(ShamirArgs)->Unit(benchmark::kMicrosecond);

// Reconstruction from `used` shares: exactly t (range(2) == 0) or all n (range(2) == 1).
void BM_ShamirReconstruct(benchmark::State& state) {
  const uint32_t n = static_cast<uint32_t>(state.range(0));
  const uint32_t t = static_cast<uint32_t>(state.range(1));
  const bool all = state.range(2) != 0;
  SeededRandom random(kSeed);
  std::vector<uint8_t> secret(kShamirSecretBytes, 7);
  auto shares = ShamirSplit(secret, t, n, random);
  SOTTO_CHECK(shares.ok());
  // The last t shares (x = n - t + 1 .. n) or all of them.
  std::vector<ShamirShare> used;
  for (uint32_t i = all ? 0 : n - t; i < n; ++i) {
    used.push_back({(*shares)[i].x, (*shares)[i].value.Clone()});
  }
  for (auto _ : state) {
    auto rebuilt = ShamirReconstruct(used, t);
    SOTTO_CHECK(rebuilt.ok());
    benchmark::DoNotOptimize(rebuilt->bytes().data());
  }
}
void ShamirReconstructArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"n", "t", "all"});
  b->Args({100, 51, 0})->Args({1000, 501, 0})->Args({10000, 5001, 0});
  for (int64_t n : {1000, 10000, 1000000}) {
    const int64_t k = NeighbourhoodSize(n);
    b->Args({k, k / 2 + 1, 0});
  }
  b->Args({100, 51, 1})->Args({1000, 501, 1});
}
BENCHMARK(BM_ShamirReconstruct)->Apply(ShamirReconstructArgs)->Unit(benchmark::kMicrosecond);

// --- per-pair costs ----------------------------------------------------------------------

void BM_X25519PublicKeyFromBytes(benchmark::State& state) {
  SeededRandom random(kSeed);
  auto pair = GenerateX25519KeyPair(random);
  SOTTO_CHECK(pair.ok());
  for (auto _ : state) {
    auto key = X25519PublicKey::FromBytes(pair->public_key.bytes());
    SOTTO_CHECK(key.ok());
    benchmark::DoNotOptimize(key->bytes().data());
  }
}
BENCHMARK(BM_X25519PublicKeyFromBytes)->Unit(benchmark::kMicrosecond);

void BM_DerivePairSeed(benchmark::State& state) {
  SeededRandom random(kSeed);
  auto u = GenerateX25519KeyPair(random);
  auto v = GenerateX25519KeyPair(random);
  SOTTO_CHECK(u.ok() && v.ok());
  const PairContext context{.round_id = 1, .self_id = 1, .peer_id = 2};
  for (auto _ : state) {
    auto seed = DerivePairSeed(*u, v->public_key, context);
    SOTTO_CHECK(seed.ok());
    benchmark::DoNotOptimize(seed->bytes().data());
  }
}
BENCHMARK(BM_DerivePairSeed)->Unit(benchmark::kMicrosecond);

// One ShareKeys message: two 48-byte shares sealed and opened.
void BM_AeadSealOpenShares(benchmark::State& state) {
  SystemRandom random;
  const Seed key = BenchSeed();
  const AeadContext context{.round_id = 1, .sender_id = 1, .recipient_id = 2};
  const std::vector<uint8_t> plaintext(2 * kShamirShareBytes, 3);
  for (auto _ : state) {
    auto sealed = AeadSeal(key, context, plaintext, random);
    SOTTO_CHECK(sealed.ok());
    auto opened = AeadOpen(key, context, *sealed);
    SOTTO_CHECK(opened.ok());
    benchmark::DoNotOptimize(opened->bytes().data());
  }
}
BENCHMARK(BM_AeadSealOpenShares)->Unit(benchmark::kMicrosecond);

// --- X25519 batches ------------------------------------------------------------------------

// range(0) scalar multiplications with distinct scalars and points through one variant
// (range(1): 0 libsodium one at a time, 1 the AVX-512 IFMA ladders); items = multiplications, so
// the per-item time is the cost of one.
void BM_X25519Batch(benchmark::State& state) {
  const size_t size = static_cast<size_t>(state.range(0));
  const auto isa =
      state.range(1) == 0 ? internal::X25519Isa::kSodium : internal::X25519Isa::kAvx512Ifma;
  if (!internal::X25519IsaSupported(isa)) {
    state.SkipWithError("variant not supported on this CPU");
    return;
  }
  Prng prng(kSeed);
  std::vector<uint8_t> scalars(32 * size), points(32 * size), out(32 * size);
  for (uint8_t& b : scalars) b = static_cast<uint8_t>(prng.Next());
  for (uint8_t& b : points) b = static_cast<uint8_t>(prng.Next());
  std::vector<const uint8_t*> s(size), p(size);
  std::vector<uint8_t*> o(size);
  for (size_t i = 0; i < size; ++i) {
    s[i] = scalars.data() + 32 * i;
    p[i] = points.data() + 32 * i;
    o[i] = out.data() + 32 * i;
  }
  for (auto _ : state) {
    internal::X25519Batch(isa, s, p, o);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) * static_cast<int64_t>(size));
}
void X25519BatchArgs(benchmark::internal::Benchmark* b) {
  b->ArgNames({"size", "ifma"});
  b->Args({1, 0});
  for (int64_t size : {1, 2, 4, 6, 8, 12, 16, 64}) {
    b->Args({size, 1});
  }
}
BENCHMARK(BM_X25519Batch)->Apply(X25519BatchArgs)->Unit(benchmark::kMicrosecond);

// A SecAgg+ client's key agreement at degree k = range(0): two key pairs, then k share-encryption
// seeds and k mask seeds. range(1) 0: one call per key pair and per seed (libsodium, as before
// the batch functions); 1: GenerateX25519KeyPairs(2) and one DerivePairSeeds of 2k requests.
void BM_ClientKeyAgreement(benchmark::State& state) {
  const size_t degree = static_cast<size_t>(state.range(0));
  const bool batched = state.range(1) != 0;
  SeededRandom peer_random(kSeed);
  std::vector<X25519KeyPair> peers;
  for (size_t i = 0; i < 2 * degree; ++i) {
    auto pair = GenerateX25519KeyPair(peer_random);
    SOTTO_CHECK(pair.ok());
    peers.push_back(std::move(pair).value());
  }
  for (auto _ : state) {
    SeededRandom random(kSeed + 1);
    std::vector<X25519KeyPair> own;
    if (batched) {
      auto pairs = GenerateX25519KeyPairs(random, 2);
      SOTTO_CHECK(pairs.ok());
      own = std::move(pairs).value();
    } else {
      for (int i = 0; i < 2; ++i) {
        auto pair = GenerateX25519KeyPair(random);
        SOTTO_CHECK(pair.ok());
        own.push_back(std::move(pair).value());
      }
    }
    std::vector<PairSeedRequest> requests;
    for (size_t i = 0; i < 2 * degree; ++i) {
      requests.push_back({&own[i % 2], &peers[i].public_key,
                          PairContext{.round_id = 1,
                                      .self_id = 1,
                                      .peer_id = 2 + i / 2,
                                      .purpose = i % 2 == 0 ? PairPurpose::kMask
                                                            : PairPurpose::kShareEncryption}});
    }
    if (batched) {
      auto seeds = DerivePairSeeds(requests);
      SOTTO_CHECK(seeds.ok());
      benchmark::DoNotOptimize(seeds->data());
    } else {
      for (const PairSeedRequest& request : requests) {
        auto seed = DerivePairSeed(*request.self, *request.peer_public, request.context);
        SOTTO_CHECK(seed.ok());
        benchmark::DoNotOptimize(seed->bytes().data());
      }
    }
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations()) *
                          static_cast<int64_t>(2 * degree + 2));
}
BENCHMARK(BM_ClientKeyAgreement)
    ->ArgNames({"degree", "batched"})
    ->Args({6, 0})
    ->Args({6, 1})
    ->Args({20, 0})
    ->Args({20, 1})
    ->Unit(benchmark::kMicrosecond);

// --- ratio summary -------------------------------------------------------------------------

// The ratios at the end use CPU time: on a shared machine real time also counts the time other
// processes held the core.
class RatioReporter : public sotto::bench::MedianReporter {
 public:
  void Finalize() override {
    MedianReporter::Finalize();
    std::printf("\nRatios (CPU time per iteration, median when repeated; same run):\n");
    for (size_t coords : {size_t{16384}, size_t{1} << 20}) {
      for (size_t width : {size_t{4}, size_t{8}}) {
        const std::string mask = std::string("BM_DenseMask<uint") + (width == 4 ? "32" : "64") +
                                 "_t>/coords:" + std::to_string(coords) + "/op:0";
        const std::string copy = "BM_Memcpy/" + std::to_string(coords * width);
        PrintThroughputRatio(mask, copy, static_cast<double>(coords * width));
      }
    }
    for (const char* width : {"32", "64"}) {
      const double word_bytes = width[0] == '3' ? 4.0 : 8.0;
      for (auto [coords, op] :
           {std::pair<int64_t, int>{16384, 0}, {int64_t{1} << 20, 0}, {kSparseDim, 1}}) {
        const std::string prefix = std::string("BM_DenseMaskVariant<uint") + width +
                                   "_t>/coords:" + std::to_string(coords) +
                                   "/op:" + std::to_string(op);
        const std::string sodium = prefix + "/avx512:0";
        const std::string avx512 = prefix + "/avx512:1";
        if (Has(sodium) && Has(avx512)) {
          const double bytes = static_cast<double>(coords) * word_bytes;
          std::printf(
              "  dense variants, ring 2^%s, %lld coordinates, op %d: libsodium %.2f GB/s, "
              "AVX-512 core %.2f GB/s (%.2fx)\n",
              width, static_cast<long long>(coords), op, bytes / Get(sodium).cpu / 1e9,
              bytes / Get(avx512).cpu / 1e9, Get(sodium).cpu / Get(avx512).cpu);
        }
      }
    }
    for (const char* width : {"32", "64"}) {
      const std::string dense = std::string("BM_DenseMask<uint") + width +
                                "_t>/coords:" + std::to_string(kSparseDim) + "/op:1";
      for (const char* permille : {"10", "100"}) {
        const std::string sparse =
            std::string("BM_SparseMask<uint") + width + "_t>/permille:" + permille;
        const std::string sodium = std::string("BM_DenseMaskVariant<uint") + width +
                                   "_t>/coords:" + std::to_string(kSparseDim) + "/op:1/avx512:0";
        if (Has(sparse) && Has(dense)) {
          const double sparse_s = Get(sparse).cpu, dense_s = Get(dense).cpu;
          std::printf(
              "  sparse add, ring 2^%s, |S| = %s/1000 of d = 10^6: %.3f ms; dense add over d "
              "%.3f ms (dense / sparse %.2f)",
              width, permille, 1e3 * sparse_s, 1e3 * dense_s, dense_s / sparse_s);
          if (Has(sodium)) {
            std::printf("; libsodium dense variant %.3f ms (%.2f)", 1e3 * Get(sodium).cpu,
                        Get(sodium).cpu / sparse_s);
          }
          std::printf("\n");
        }
      }
    }
    const std::string sodium = "BM_X25519Batch/size:1/ifma:0";
    if (Has(sodium)) {
      std::printf("  X25519, libsodium one at a time: %.2f us per scalar multiplication\n",
                  1e6 * Get(sodium).cpu);
      for (int size : {1, 2, 4, 6, 8, 12, 16, 64}) {
        const std::string batch = "BM_X25519Batch/size:" + std::to_string(size) + "/ifma:1";
        if (Has(batch)) {
          const double per_op = Get(batch).cpu / size;
          std::printf(
              "  X25519, AVX-512 IFMA batch of %d: %.2f us per batch, %.2f us per scalar "
              "multiplication (%.2fx libsodium's per operation)\n",
              size, 1e6 * Get(batch).cpu, 1e6 * per_op, Get(sodium).cpu / per_op);
        }
      }
    }
    for (int degree : {6, 20}) {
      const std::string single =
          "BM_ClientKeyAgreement/degree:" + std::to_string(degree) + "/batched:0";
      const std::string batched =
          "BM_ClientKeyAgreement/degree:" + std::to_string(degree) + "/batched:1";
      if (Has(single) && Has(batched)) {
        std::printf(
            "  client key agreement at degree %d (2 key pairs, %d pair seeds): one at a time "
            "%.1f us, batched %.1f us (%.2fx)\n",
            degree, 2 * degree, 1e6 * Get(single).cpu, 1e6 * Get(batched).cpu,
            Get(single).cpu / Get(batched).cpu);
      }
    }
    for (const char* shape :
         {"n:100/t:51", "n:1000/t:501", "n:10000/t:5001", "n:31/t:16", "n:41/t:21", "n:61/t:31"}) {
      const std::string split = std::string("BM_ShamirSplit/") + shape;
      const std::string baseline = std::string("BM_HornerU64Baseline/") + shape;
      if (Has(split) && Has(baseline)) {
        std::printf("  Shamir split %s: %.3f ms, %.2fx the uint64 Horner baseline (%.3f ms)\n",
                    shape, 1e3 * Get(split).cpu, Get(split).cpu / Get(baseline).cpu,
                    1e3 * Get(baseline).cpu);
      }
    }
  }

 private:
  void PrintThroughputRatio(const std::string& subject, const std::string& baseline, double bytes) {
    if (!Has(subject) || !Has(baseline)) {
      return;
    }
    const double subject_gbs = bytes / Get(subject).cpu / 1e9;
    const double baseline_gbs = bytes / Get(baseline).cpu / 1e9;
    std::printf(
        "  %s: %.2f GB/s; memcpy of the same %.0f KiB: %.2f GB/s; ratio %.3f "
        "(real-time ratio %.3f)\n",
        subject.c_str(), subject_gbs, bytes / 1024, baseline_gbs, subject_gbs / baseline_gbs,
        Get(baseline).real / Get(subject).real);
  }
};

}  // namespace
}  // namespace sotto::crypto

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  sotto::crypto::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
