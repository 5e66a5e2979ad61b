// Sparse wire codec (sotto/core/compress/sparse_codec.h): encode and decode throughput against a
// baseline measured in the same run, and index bits against the entropy floor.
//
// Cases: d = 2^20 and 2^24, density 0.1 %, 1 %, 10 % (uniformly random support, Gaussian
// values), value coding fp32 and bf16, index coding chosen by the encoder. The baseline is a
// memcpy of the same index + value arrays (4 + 4 bytes per entry: what an uncompressed uint32 +
// fp32 update costs to move), timed right after each benchmark for as many iterations. Both are
// timed in thread CPU time (the machines are shared). Counters:
//   x_memcpy      codec time / memcpy time (lower is better; 1 = as fast as copying raw arrays)
//   Mentries/s    entries encoded or decoded per CPU second
//   idx_bits      index bits per index of the chosen coding; floor = log2 C(d, k) / k
//   wire_bytes    encoded size
// Before the benchmarks, a table of bits/index for Rice, bitmap, the entropy floor and raw
// 32-bit indices is printed.
//
//   build/h-codec/bench/codec_bench --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>
#include <time.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <tuple>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/core/compress/sparse_codec.h"

namespace sotto::compress {
namespace {

struct Case {
  uint64_t dim = 0;
  std::vector<uint32_t> indices;
  std::vector<float> values;
  // Baseline destination buffers, touched once so the copy does not page-fault.
  std::vector<uint32_t> index_copy;
  std::vector<float> value_copy;
};

// d = 2^log2_dim, k = d * per_mille / 1000, seeded by the pair.
Case& GetCase(int log2_dim, int per_mille) {
  static std::map<std::pair<int, int>, Case> cases;
  auto [it, inserted] = cases.try_emplace({log2_dim, per_mille});
  Case& c = it->second;
  if (inserted) {
    c.dim = uint64_t{1} << log2_dim;
    const uint64_t k = c.dim * static_cast<uint64_t>(per_mille) / 1000;
    Prng rng(DeriveSeed(static_cast<uint64_t>(log2_dim), static_cast<uint64_t>(per_mille)));
    uint64_t needed = k;
    for (uint64_t i = 0; i < c.dim && needed > 0; ++i) {  // selection sampling
      if (rng.UniformInt(c.dim - i) < needed) {
        c.indices.push_back(static_cast<uint32_t>(i));
        --needed;
      }
    }
    c.values.resize(k);
    for (float& v : c.values) {
      v = static_cast<float>(rng.Normal());
    }
    c.index_copy.assign(k, 1);
    c.value_copy.assign(k, 1.0f);
  }
  return c;
}

// This thread's CPU time in seconds. The machines are shared, so codec and baseline are both
// timed in CPU time, which time-sharing with other processes does not inflate.
double ThreadSeconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// Mean CPU seconds per memcpy of the case's index and value arrays over `iterations` copies.
double MemcpySeconds(Case& c, int64_t iterations) {
  const size_t index_bytes = c.indices.size() * sizeof(uint32_t);
  const size_t value_bytes = c.values.size() * sizeof(float);
  const double start = ThreadSeconds();
  for (int64_t i = 0; i < iterations; ++i) {
    std::memcpy(c.index_copy.data(), c.indices.data(), index_bytes);
    std::memcpy(c.value_copy.data(), c.values.data(), value_bytes);
    benchmark::ClobberMemory();
  }
  return (ThreadSeconds() - start) / static_cast<double>(iterations);
}

EncodeOptions OptionsFor(int64_t coding) {
  EncodeOptions options;
  options.value_coding = coding == 0 ? ValueCoding::kFp32 : ValueCoding::kBf16;
  return options;
}

void SetCounters(benchmark::State& state, Case& c, double codec_seconds,
                 const EncodeOptions& options, size_t wire_bytes) {
  const double k = static_cast<double>(c.indices.size());
  const double memcpy_seconds = MemcpySeconds(c, state.iterations());
  auto bits = MeasureSparse(c.dim, c.indices, options);
  state.counters["x_memcpy"] = codec_seconds / memcpy_seconds;
  state.counters["Mentries/s"] = k / codec_seconds / 1e6;
  state.counters["idx_bits"] = static_cast<double>(bits->index_bits) / k;
  state.counters["floor"] = EntropyFloorBits(c.dim, c.indices.size()) / k;
  state.counters["wire_bytes"] = static_cast<double>(wire_bytes);
  state.SetLabel(bits->format.index_coding == IndexCoding::kRice ? "rice" : "bitmap");
}

// Args: log2(d), density in per mille, value coding (0 fp32, 1 bf16).
void BM_Encode(benchmark::State& state) {
  Case& c = GetCase(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const EncodeOptions options = OptionsFor(state.range(2));
  std::vector<uint8_t> wire;
  const double start = ThreadSeconds();
  for (auto _ : state) {
    const Status status = EncodeSparseTo(c.dim, c.indices, c.values, options, &wire);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(wire.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, c, (ThreadSeconds() - start) / static_cast<double>(state.iterations()),
              options, wire.size());
}

void BM_Decode(benchmark::State& state) {
  Case& c = GetCase(static_cast<int>(state.range(0)), static_cast<int>(state.range(1)));
  const EncodeOptions options = OptionsFor(state.range(2));
  auto wire = EncodeSparse(c.dim, c.indices, c.values, options);
  if (!wire.ok()) {
    state.SkipWithError(wire.status().ToString().c_str());
    return;
  }
  const DecodeLimits limits{c.dim, c.dim};
  SparseUpdate update;
  const double start = ThreadSeconds();
  for (auto _ : state) {
    const Status status = DecodeSparseInto(*wire, limits, &update);
    if (!status.ok()) {
      state.SkipWithError(status.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(update.values.data());
    benchmark::ClobberMemory();
  }
  SetCounters(state, c, (ThreadSeconds() - start) / static_cast<double>(state.iterations()),
              options, wire->size());
}

void Cases(benchmark::internal::Benchmark* b) {
  for (int coding : {0, 1}) {
    for (int log2_dim : {20, 24}) {
      for (int per_mille : {1, 10, 100}) {
        b->Args({log2_dim, per_mille, coding});
      }
    }
  }
  b->ArgNames({"log2d", "permille", "bf16"})->Unit(benchmark::kMicrosecond);
}
BENCHMARK(BM_Encode)->Apply(Cases);
BENCHMARK(BM_Decode)->Apply(Cases);

// Bits per index of each index coding on the benchmark's supports.
void PrintBitsTable() {
  std::printf("%-6s %-8s %9s %10s %8s %8s %8s %8s\n", "d", "density", "k", "Rice(b)", "Rice",
              "bitmap", "floor", "raw32");
  for (int log2_dim : {20, 24}) {
    for (int per_mille : {1, 10, 100}) {
      const Case& c = GetCase(log2_dim, per_mille);
      const double k = static_cast<double>(c.indices.size());
      EncodeOptions rice;
      rice.index_coding = IndexCoding::kRice;
      EncodeOptions bitmap;
      bitmap.index_coding = IndexCoding::kBitmap;
      auto rice_bits = MeasureSparse(c.dim, c.indices, rice);
      auto bitmap_bits = MeasureSparse(c.dim, c.indices, bitmap);
      std::printf("2^%-4d %6.1f%% %9zu %10u %8.3f %8.3f %8.3f %8.1f\n", log2_dim, per_mille / 10.0,
                  c.indices.size(), rice_bits->format.rice_parameter,
                  static_cast<double>(rice_bits->index_bits) / k,
                  static_cast<double>(bitmap_bits->index_bits) / k,
                  EntropyFloorBits(c.dim, c.indices.size()) / k, 32.0);
    }
  }
  std::fflush(stdout);
}

}  // namespace
}  // namespace sotto::compress

int main(int argc, char** argv) {
  sotto::compress::PrintBitsTable();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
