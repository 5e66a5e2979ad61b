// Top-k selection and fused error feedback (sotto_kernels) against baselines measured in the
// same run: a streaming read of the same array (sum of |x| at memory bandwidth), e += u (the
// traffic every EF step has, with nothing selected), and std::nth_element / std::partial_sort on
// a copy of |x|.
//
// Arguments: /log2(d)/k in parts per million of d/threads. Every benchmark reports real time
// and bytes_per_second (4 bytes per element of the input it must read). scripts/
// kernels_bench_report.py turns a JSON run into the ratio tables of docs/BENCHMARKS.md.
// The kernels take the widest SIMD path the CPU has (counter "simd": 0 scalar, 1 AVX2,
// 2 AVX-512); BM_TopKAvx2 and BM_EfTopKAvx2 pin the AVX2 path, for CPUs without AVX-512.
//
//   build/bench-kernels/bench/kernels_bench --benchmark_repetitions=5
//       --benchmark_enable_random_interleaving=true
//       --benchmark_out=kernels.json --benchmark_out_format=json   (one command line)
//   python3 scripts/kernels_bench_report.py kernels.json --doc

#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/select.h"
#include "sotto/kernels/thread_pool.h"
#include "sotto/kernels/topk.h"

namespace sotto::kernels {
namespace {

constexpr uint64_t kSeed = 20240611;

// Gradient-like data: Gaussian, fixed seed, one copy per size for the whole run.
const std::vector<float>& Data(size_t d, uint64_t stream = 0) {
  static std::map<std::pair<size_t, uint64_t>, std::vector<float>> cache;
  auto it = cache.find({d, stream});
  if (it == cache.end()) {
    Prng rng(DeriveSeed(kSeed, d * 4 + stream));
    std::vector<float> x(d);
    for (float& v : x) v = static_cast<float>(rng.Normal() * 1e-2);
    it = cache.emplace(std::make_pair(d, stream), std::move(x)).first;
  }
  return it->second;
}

// The same values in a new order before every timed call, as a new gradient would be: the
// kernels branch on the data (which groups hold a survivor), and with one fixed array the CPU's
// branch predictor learns that pattern over the iterations, which no real round allows (on this
// VM a branch per 16-element group cost 4x less at 2 % survivors once learnt). The 16-element
// groups of the base array are permuted at random (one permutation serves u and e, so a = u + e
// keeps its values); the copy is untimed and leaves the data in cache as a trainer would.
class Fresh {
 public:
  explicit Fresh(size_t d) : d_(d), perm_(d / 16), rng_(DeriveSeed(kSeed, d + 7)) {
    for (size_t g = 0; g < perm_.size(); ++g) perm_[g] = static_cast<uint32_t>(g);
  }
  // Draws the next permutation.
  void Shuffle() { rng_.Shuffle(std::span<uint32_t>(perm_)); }
  // out = the base's groups in the current order.
  void Apply(const std::vector<float>& base, std::vector<float>& out) const {
    for (size_t g = 0; g < perm_.size(); ++g) {
      std::memcpy(out.data() + 16 * g, base.data() + 16 * size_t{perm_[g]}, 16 * sizeof(float));
    }
    std::memcpy(out.data() + 16 * perm_.size(), base.data() + 16 * perm_.size(),
                (d_ % 16) * sizeof(float));
  }

 private:
  size_t d_;
  std::vector<uint32_t> perm_;
  Prng rng_;
};

ThreadPool* PoolFor(int threads) {
  static std::unique_ptr<ThreadPool> pools[3];
  if (threads <= 1) return nullptr;
  if (!pools[threads]) pools[threads] = std::move(ThreadPool::Create(threads)).value();
  return pools[threads].get();
}

ExecOptions Options(int threads, SimdLevel max_simd = SimdLevel::kAvx512) {
  ExecOptions o;
  o.pool = PoolFor(threads);
  o.backend = Backend::kCpu;
  o.max_simd = max_simd;
  return o;
}

size_t D(const benchmark::State& st) { return size_t{1} << st.range(0); }
size_t K(const benchmark::State& st) {
  return static_cast<size_t>(static_cast<double>(D(st)) * static_cast<double>(st.range(1)) / 1e6);
}

void Finish(benchmark::State& st, size_t bytes_per_iter) {
  st.SetBytesProcessed(static_cast<int64_t>(st.iterations()) *
                       static_cast<int64_t>(bytes_per_iter));
}

// ---- Streaming read: sum of |x| with several accumulators
// -----------------------------------------

__attribute__((target("avx2"))) float SumAbsAvx2(const float* x, size_t begin, size_t end) {
  const __m256 mask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  size_t i = begin;
  for (; i + 32 <= end; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_and_ps(mask, _mm256_loadu_ps(x + i)));
    a1 = _mm256_add_ps(a1, _mm256_and_ps(mask, _mm256_loadu_ps(x + i + 8)));
    a2 = _mm256_add_ps(a2, _mm256_and_ps(mask, _mm256_loadu_ps(x + i + 16)));
    a3 = _mm256_add_ps(a3, _mm256_and_ps(mask, _mm256_loadu_ps(x + i + 24)));
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float s = 0.0f;
  for (float v : lanes) s += v;
  for (; i < end; ++i) s += std::fabs(x[i]);
  return s;
}

float SumAbsScalar(const float* x, size_t begin, size_t end) {
  float a[8] = {};
  size_t i = begin;
  for (; i + 8 <= end; i += 8) {
    for (int j = 0; j < 8; ++j) a[j] += std::fabs(x[i + j]);
  }
  float s = 0.0f;
  for (float v : a) s += v;
  for (; i < end; ++i) s += std::fabs(x[i]);
  return s;
}

// fn(lane, begin, end) over `threads` equal chunks of [0, d), on the pool when there is one.
template <typename Fn>
void RunSplit(ThreadPool* pool, int threads, size_t d, const Fn& fn) {
  auto body = [&](int lane) {
    fn(lane, d * static_cast<size_t>(lane) / static_cast<size_t>(threads),
       d * static_cast<size_t>(lane + 1) / static_cast<size_t>(threads));
  };
  if (pool != nullptr) {
    pool->Run(threads, body);
  } else {
    body(0);
  }
}

void BM_StreamRead(benchmark::State& st) {
  const size_t d = D(st);
  const int threads = static_cast<int>(st.range(2));
  const std::vector<float>& base = Data(d);
  std::vector<float> x(d);
  Fresh fresh(d);
  ThreadPool* pool = PoolFor(threads);
  const bool avx2 = CpuHasAvx2();
  for (auto _ : st) {
    st.PauseTiming();
    fresh.Shuffle();
    fresh.Apply(base, x);
    st.ResumeTiming();
    float parts[2] = {};
    RunSplit(pool, threads, d, [&](int lane, size_t begin, size_t end) {
      parts[lane] = avx2 ? SumAbsAvx2(x.data(), begin, end) : SumAbsScalar(x.data(), begin, end);
    });
    benchmark::DoNotOptimize(parts[0] + parts[1]);
  }
  Finish(st, d * 4);
}

// ---- The floor of any fused EF step: e += u, nothing selected
// -------------------------------------------

__attribute__((target("avx2"))) void AddAvx2(const float* u, float* e, size_t begin, size_t end) {
  size_t i = begin;
  for (; i + 16 <= end; i += 16) {
    _mm256_storeu_ps(e + i, _mm256_add_ps(_mm256_loadu_ps(e + i), _mm256_loadu_ps(u + i)));
    _mm256_storeu_ps(e + i + 8,
                     _mm256_add_ps(_mm256_loadu_ps(e + i + 8), _mm256_loadu_ps(u + i + 8)));
  }
  for (; i < end; ++i) e[i] += u[i];
}

// Reads u and e and writes e, as every EF step must; prepared as EfBench prepares its inputs.
void BM_AddFloor(benchmark::State& st) {
  const size_t d = D(st);
  const int threads = static_cast<int>(st.range(2));
  const std::vector<float>& u0 = Data(d);
  const std::vector<float>& e0 = Data(d, 1);
  std::vector<float> u(d);
  std::vector<float> e = e0;
  Fresh fresh(d);
  ThreadPool* pool = PoolFor(threads);
  const bool avx2 = CpuHasAvx2();
  for (auto _ : st) {
    st.PauseTiming();
    fresh.Shuffle();
    fresh.Apply(u0, u);
    std::memcpy(e.data(), e0.data(), d * sizeof(float));
    st.ResumeTiming();
    RunSplit(pool, threads, d, [&](int, size_t begin, size_t end) {
      if (avx2) {
        AddAvx2(u.data(), e.data(), begin, end);
      } else {
        for (size_t i = begin; i < end; ++i) e[i] += u[i];
      }
    });
    benchmark::DoNotOptimize(e.data());
  }
  Finish(st, d * 4);
}

// ---- Baselines on a copy of |x|
// -------------------------------------------------------------------

void BM_NthElement(benchmark::State& st) {
  const size_t d = D(st);
  const size_t k = std::max<size_t>(K(st), 1);
  const std::vector<float>& x = Data(d);
  std::vector<float> copy(d);
  for (auto _ : st) {
    std::transform(x.begin(), x.end(), copy.begin(), [](float v) { return std::fabs(v); });
    std::nth_element(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k - 1), copy.end(),
                     std::greater<float>());
    benchmark::DoNotOptimize(copy[k - 1]);
  }
  Finish(st, d * 4);
}

void BM_PartialSort(benchmark::State& st) {
  const size_t d = D(st);
  const size_t k = std::max<size_t>(K(st), 1);
  const std::vector<float>& x = Data(d);
  std::vector<float> copy(d);
  for (auto _ : st) {
    std::transform(x.begin(), x.end(), copy.begin(), [](float v) { return std::fabs(v); });
    std::partial_sort(copy.begin(), copy.begin() + static_cast<std::ptrdiff_t>(k), copy.end(),
                      std::greater<float>());
    benchmark::DoNotOptimize(copy[k - 1]);
  }
  Finish(st, d * 4);
}

// ---- sotto kernels
// --------------------------------------------------------------------------------

void TopKBench(benchmark::State& st, SimdLevel max_simd) {
  const size_t d = D(st);
  const size_t k = K(st);
  const ExecOptions options = Options(static_cast<int>(st.range(2)), max_simd);
  const std::vector<float>& base = Data(d);
  std::vector<float> x(d);
  Fresh fresh(d);
  std::vector<uint32_t> idx(k);
  std::vector<float> val(k);
  Scratch scratch;
  const auto bytes = scratch.Get(TopKScratchBytes(d, k, options));
  int passes = 0;
  for (auto _ : st) {
    st.PauseTiming();
    fresh.Shuffle();
    fresh.Apply(base, x);
    st.ResumeTiming();
    auto r = TopK(x, k, idx, val, bytes, options);
    if (!r.ok()) st.SkipWithError("TopK failed");
    passes = r->passes;
    benchmark::DoNotOptimize(idx.data());
  }
  st.counters["passes"] = passes;  // 1 when the sampled prediction hit
  st.counters["simd"] = static_cast<double>(EffectiveSimdLevel(options));
  Finish(st, d * 4);
}

void BM_TopK(benchmark::State& st) { TopKBench(st, SimdLevel::kAvx512); }
void BM_TopKAvx2(benchmark::State& st) { TopKBench(st, SimdLevel::kAvx2); }

void BM_GaussianK(benchmark::State& st) {
  const size_t d = D(st);
  const size_t k = K(st);
  const ExecOptions options = Options(static_cast<int>(st.range(2)));
  const std::vector<float>& base = Data(d);
  std::vector<float> x(d);
  Fresh fresh(d);
  const size_t cap = 4 * k / 3 + 1;
  std::vector<uint32_t> idx(cap);
  std::vector<float> val(cap);
  Scratch scratch;
  const auto bytes = scratch.Get(GaussianKScratchBytes(d, cap, options));
  size_t count = 0;
  for (auto _ : st) {
    st.PauseTiming();
    fresh.Shuffle();
    fresh.Apply(base, x);
    st.ResumeTiming();
    auto r = GaussianK(x, k, idx, val, bytes, options);
    if (!r.ok()) st.SkipWithError("GaussianK failed");
    count = r->count;
  }
  st.counters["count_over_k"] = static_cast<double>(count) / static_cast<double>(k);
  Finish(st, d * 4);
}

// Fused EF step. u and e are two Gaussian vectors; before every step (untimed) u gets a fresh
// group order (Fresh) and e is restored from its first value, so a = u + e is new each time.
void EfBench(benchmark::State& st, const EfSelection& sel, size_t capacity,
             SimdLevel max_simd = SimdLevel::kAvx512) {
  const size_t d = D(st);
  const ExecOptions options = Options(static_cast<int>(st.range(2)), max_simd);
  const std::vector<float>& u0 = Data(d);
  const std::vector<float>& e0 = Data(d, 1);
  std::vector<float> u(d);
  std::vector<float> e = e0;
  Fresh fresh(d);
  std::vector<uint32_t> idx(capacity);
  std::vector<float> val(capacity);
  Scratch scratch;
  const auto bytes = scratch.Get(ErrorFeedbackScratchBytes(d, sel, capacity, options));
  int passes = 0;
  for (auto _ : st) {
    st.PauseTiming();
    fresh.Shuffle();
    fresh.Apply(u0, u);
    std::memcpy(e.data(), e0.data(), d * sizeof(float));
    st.ResumeTiming();
    auto r = ErrorFeedbackStep(u, e, sel, idx, val, bytes, options);
    if (!r.ok()) st.SkipWithError("ErrorFeedbackStep failed");
    passes = r->passes;
    benchmark::DoNotOptimize(e.data());
  }
  st.counters["passes"] = passes;
  st.counters["simd"] = static_cast<double>(EffectiveSimdLevel(options));
  Finish(st, d * 4);
}

void BM_EfTopK(benchmark::State& st) { EfBench(st, EfSelection::TopK(K(st)), K(st)); }
void BM_EfTopKAvx2(benchmark::State& st) {
  EfBench(st, EfSelection::TopK(K(st)), K(st), SimdLevel::kAvx2);
}
void BM_EfGaussianK(benchmark::State& st) {
  EfBench(st, EfSelection::GaussianK(K(st)), 4 * K(st) / 3 + 1);
}

void SizesDensitiesThreads(benchmark::internal::Benchmark* b) {
  for (int log2d : {20, 24}) {
    for (int ppm : {1000, 10000, 100000}) {
      for (int threads : {1, 2}) b->Args({log2d, ppm, threads});
    }
  }
}
void SizesDensities(benchmark::internal::Benchmark* b) {
  for (int log2d : {20, 24}) {
    for (int ppm : {1000, 10000, 100000}) b->Args({log2d, ppm, 1});
  }
}
void SizesThreads(benchmark::internal::Benchmark* b) {
  for (int log2d : {20, 24}) {
    for (int threads : {1, 2}) b->Args({log2d, 0, threads});
  }
}

BENCHMARK(BM_StreamRead)->Apply(SizesThreads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_AddFloor)->Apply(SizesThreads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopK)->Apply(SizesDensitiesThreads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EfTopK)->Apply(SizesDensitiesThreads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_GaussianK)->Apply(SizesDensitiesThreads)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EfGaussianK)
    ->Apply(SizesDensitiesThreads)
    ->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_TopKAvx2)->Apply(SizesDensities)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_EfTopKAvx2)->Apply(SizesDensities)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NthElement)->Apply(SizesDensities)->UseRealTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_PartialSort)->Apply(SizesDensities)->UseRealTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace sotto::kernels

BENCHMARK_MAIN();
