// One GD-SEC client step (sotto/core/compress/gdsec.h) at d = 10^6, top-k rule at 1 %, against
// baselines measured in the same run:
//   BM_CopyGradient        a memcpy of the gradient (4 MB): the floor of any pass over it
//   BM_TopKErrorFeedback   Compressor::Compress, top-k 1 % with classic error feedback: the
//                          plain top-k round GD-SEC is compared with in federation_bench
// and the GD-SEC cases:
//   BM_GdSecStep              Encode alone (a round that counts)
//   BM_GdSecStepSnapshot      copy h and e aside, then Encode (what the client did per round
//                             before Undo existed)
//   BM_GdSecStepSnapshotRestore  the same plus Restore (a round that does not count)
//   BM_GdSecStepUndo          Encode, then Undo (a round that does not count)
//   BM_GdSecUndo              Undo alone (the Encode before it is not timed)
//   BM_GdSecOnSupport[Undo]   EncodeOnSupport on a fixed 1 % support (secure aggregation), alone
//                             and followed by Undo
// All are timed in CPU time (the machines are shared); the summary prints each as a ratio to
// both baselines (medians when repeated).
//
//   build/h-gdsec/bench/gdsec_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "median_reporter.h"
#include "sotto/base/random.h"
#include "sotto/core/compress/compressor.h"
#include "sotto/core/compress/gdsec.h"

namespace sotto::compress {
namespace {

constexpr size_t kDim = 1000000;
constexpr double kDensity = 0.01;
constexpr size_t kGradients = 8;  // 32 MB, cycled: h and e keep moving, the gradient is not cached

// kGradients Gaussian gradients of kDim values, seeded.
const std::vector<std::vector<float>>& Gradients() {
  static const std::vector<std::vector<float>> gradients = [] {
    std::vector<std::vector<float>> g(kGradients, std::vector<float>(kDim));
    Prng rng(20240601);
    for (auto& v : g) {
      for (float& x : v) {
        x = static_cast<float>(rng.Normal());
      }
    }
    return g;
  }();
  return gradients;
}

// beta about the density: with i.i.d. gradients and no model in the loop, a larger beta lets h
// overshoot on the 1 % of coordinates sent each step, and |v| leaves the range of h within a
// few hundred steps. The cost of a step does not depend on beta.
GdSecOptions TopKOptions() {
  GdSecOptions o;
  o.beta = 0.01;
  o.rule = GdSecRule::kTopK;
  o.density = kDensity;
  return o;
}

// A client warmed up by a few steps, so that h and e are not zero.
std::unique_ptr<GdSecClient> WarmClient(benchmark::State& state) {
  auto created = GdSecClient::Create(TopKOptions(), kDim);
  if (!created.ok()) {
    state.SkipWithError(created.status().ToString().c_str());
    return nullptr;
  }
  SparseUpdate out;
  for (size_t i = 0; i < 2 * kGradients; ++i) {
    if (!(*created)->Encode(Gradients()[i % kGradients], {}, &out).ok()) {
      state.SkipWithError("warm-up step failed");
      return nullptr;
    }
  }
  return std::move(created).value();
}

void BM_CopyGradient(benchmark::State& state) {
  std::vector<float> copy(kDim, 1.0f);
  size_t n = 0;
  for (auto _ : state) {
    const std::vector<float>& g = Gradients()[n++ % kGradients];
    std::memcpy(copy.data(), g.data(), kDim * sizeof(float));
    benchmark::DoNotOptimize(copy.data());
    benchmark::ClobberMemory();
  }
}
BENCHMARK(BM_CopyGradient)->Unit(benchmark::kMillisecond);

void BM_TopKErrorFeedback(benchmark::State& state) {
  CompressorOptions o;
  o.sparsifier = SparsifierKind::kTopK;
  o.density = kDensity;
  o.error_feedback = ErrorFeedback::kClassic;
  auto compressor = Compressor::Create(o, kDim);
  if (!compressor.ok()) {
    state.SkipWithError(compressor.status().ToString().c_str());
    return;
  }
  SparseUpdate out;
  uint64_t round = 0;
  for (auto _ : state) {
    const Status s = (*compressor)->Compress(Gradients()[round % kGradients], round, &out);
    ++round;
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.values.data());
  }
}
BENCHMARK(BM_TopKErrorFeedback)->Unit(benchmark::kMillisecond);

// mode 0: Encode; 1: snapshot + Encode; 2: snapshot + Encode + Restore; 3: Encode + Undo;
// 4: Undo alone (the Encode before it untimed).
void GdSecStep(benchmark::State& state, int mode) {
  std::unique_ptr<GdSecClient> client = WarmClient(state);
  if (client == nullptr) {
    return;
  }
  GdSecClient::Snapshot saved = client->Save();
  SparseUpdate out;
  size_t n = 0;
  for (auto _ : state) {
    if (mode == 1 || mode == 2) {
      saved.h.assign(client->h_fixed().begin(), client->h_fixed().end());
      saved.error.assign(client->error().begin(), client->error().end());
    }
    if (mode == 4) {
      state.PauseTiming();
    }
    Status s = client->Encode(Gradients()[n++ % kGradients], {}, &out);
    if (mode == 4) {
      state.ResumeTiming();
    }
    if (s.ok() && mode == 2) {
      s = client->Restore(saved);
    }
    if (s.ok() && (mode == 3 || mode == 4)) {
      s = client->Undo();
    }
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(out.values.data());
  }
}
void BM_GdSecStep(benchmark::State& state) { GdSecStep(state, 0); }
void BM_GdSecStepSnapshot(benchmark::State& state) { GdSecStep(state, 1); }
void BM_GdSecStepSnapshotRestore(benchmark::State& state) { GdSecStep(state, 2); }
void BM_GdSecStepUndo(benchmark::State& state) { GdSecStep(state, 3); }
void BM_GdSecUndo(benchmark::State& state) { GdSecStep(state, 4); }
BENCHMARK(BM_GdSecStep)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GdSecStepUndo)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GdSecUndo)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GdSecStepSnapshot)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GdSecStepSnapshotRestore)->Unit(benchmark::kMillisecond);

// EncodeOnSupport on every 100th coordinate, clip 4; with `undo`, followed by Undo.
void GdSecOnSupport(benchmark::State& state, bool undo) {
  std::unique_ptr<GdSecClient> client = WarmClient(state);
  if (client == nullptr) {
    return;
  }
  std::vector<uint32_t> support;
  for (uint32_t i = 0; i < kDim; i += 100) {
    support.push_back(i);
  }
  std::vector<int64_t> q(support.size());
  size_t n = 0;
  for (auto _ : state) {
    Status s = client->EncodeOnSupport(Gradients()[n++ % kGradients], support, 4.0, q);
    if (s.ok() && undo) {
      s = client->Undo();
    }
    if (!s.ok()) {
      state.SkipWithError(s.ToString().c_str());
      return;
    }
    benchmark::DoNotOptimize(q.data());
  }
}
void BM_GdSecOnSupport(benchmark::State& state) { GdSecOnSupport(state, false); }
void BM_GdSecOnSupportUndo(benchmark::State& state) { GdSecOnSupport(state, true); }
BENCHMARK(BM_GdSecOnSupport)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GdSecOnSupportUndo)->Unit(benchmark::kMillisecond);

class RatioReporter : public sotto::bench::MedianReporter {
 public:
  void Finalize() override {
    MedianReporter::Finalize();
    const char* kCopy = "BM_CopyGradient";
    const char* kTopK = "BM_TopKErrorFeedback";
    if (!Has(kCopy) || !Has(kTopK)) {
      return;
    }
    std::printf("\nSummary (CPU time per step, medians when repeated, same run; d = %zu, 1 %%):\n",
                kDim);
    std::printf("  %-30s %9.3f ms\n", kCopy, 1e3 * Get(kCopy).cpu);
    for (const char* name : {"BM_TopKErrorFeedback", "BM_GdSecStep", "BM_GdSecStepUndo",
                             "BM_GdSecUndo", "BM_GdSecStepSnapshot", "BM_GdSecStepSnapshotRestore",
                             "BM_GdSecOnSupport", "BM_GdSecOnSupportUndo"}) {
      if (Has(name)) {
        std::printf("  %-30s %9.3f ms  %6.2fx memcpy  %5.2fx top-k EF\n", name, 1e3 * Get(name).cpu,
                    Get(name).cpu / Get(kCopy).cpu, Get(name).cpu / Get(kTopK).cpu);
      }
    }
  }
};

}  // namespace
}  // namespace sotto::compress

int main(int argc, char** argv) {
  sotto::bench::KeepFreedBuffersInHeap();
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  sotto::compress::RatioReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
