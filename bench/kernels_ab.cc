// Interleaved A/B of TopK or the fused EF step across builds of sotto_kernels.
//
// Each argument after the first four is a shared library built from one revision
// (scripts/kernels_ab.sh builds them). Every round prepares fresh data for each library's call
// as kernels_bench does (the 16-element groups of the input permuted at random, e restored,
// then one streaming read), calls the libraries in a random order, and times each call; the
// medians are printed with their ratio to the first library and to the streaming read. On a
// noisy shared machine two builds measured this way differ by a few percent reliably where two
// separate benchmark runs do not.
//
//   kernels_ab LOG2_D K_OVER_D EF CALLS a.so b.so [...]
//
// KERNELS_AB_THREADS=N in the environment runs the calls on a kernels::ThreadPool of N threads
// (the harness's own pool; the revisions' ThreadPool must be the same class).

#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/thread_pool.h"
#include "sotto/kernels/topk.h"

namespace {

using sotto::kernels::EfSelection;
using sotto::kernels::ExecOptions;
using TopKFn = decltype(&sotto::kernels::TopK);
using TopKBytesFn = decltype(&sotto::kernels::TopKScratchBytes);
using EfFn = decltype(&sotto::kernels::ErrorFeedbackStep);
using EfBytesFn = decltype(&sotto::kernels::ErrorFeedbackScratchBytes);

struct Library {
  std::string path;
  TopKFn topk = nullptr;
  TopKBytesFn topk_bytes = nullptr;
  EfFn ef = nullptr;
  EfBytesFn ef_bytes = nullptr;
};

// The mangled names of the four entry points (g++ / Itanium ABI).
constexpr const char* kTopK =
    "_ZN5sotto7kernels4TopKESt4spanIKfLm18446744073709551615EEmS1_IjLm18446744073709551615EES1_"
    "IfLm18446744073709551615EES1_ISt4byteLm18446744073709551615EERKNS0_11ExecOptionsE";
constexpr const char* kTopKBytes = "_ZN5sotto7kernels16TopKScratchBytesEmmRKNS0_11ExecOptionsE";
constexpr const char* kEf =
    "_ZN5sotto7kernels17ErrorFeedbackStepESt4spanIKfLm18446744073709551615EES1_IfLm"
    "18446744073709551615EERKNS0_11EfSelectionES1_IjLm18446744073709551615EES4_S1_ISt4byteLm"
    "18446744073709551615EERKNS0_11ExecOptionsE";
constexpr const char* kEfBytes =
    "_ZN5sotto7kernels25ErrorFeedbackScratchBytesEmRKNS0_11EfSelectionEmRKNS0_11ExecOptionsE";

bool Load(const char* path, Library* lib) {
  void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (h == nullptr) {
    std::fprintf(stderr, "kernels_ab: %s\n", dlerror());
    return false;
  }
  lib->path = path;
  lib->topk = reinterpret_cast<TopKFn>(dlsym(h, kTopK));
  lib->topk_bytes = reinterpret_cast<TopKBytesFn>(dlsym(h, kTopKBytes));
  lib->ef = reinterpret_cast<EfFn>(dlsym(h, kEf));
  lib->ef_bytes = reinterpret_cast<EfBytesFn>(dlsym(h, kEfBytes));
  if (lib->topk == nullptr || lib->topk_bytes == nullptr || lib->ef == nullptr ||
      lib->ef_bytes == nullptr) {
    std::fprintf(stderr, "kernels_ab: %s lacks the TopK / ErrorFeedbackStep symbols\n", path);
    return false;
  }
  return true;
}

// Sum of |x| with four accumulators: the streaming-read yardstick of kernels_bench.
float ReadSum(const float* x, size_t n) {
  float a[4][8] = {};
  for (size_t i = 0; i + 32 <= n; i += 32) {
    for (int r = 0; r < 4; ++r) {
      for (int l = 0; l < 8; ++l) a[r][l] += std::fabs(x[i + 8 * r + l]);
    }
  }
  float s = 0;
  for (auto& r : a) {
    for (float v : r) s += v;
  }
  return s;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr, "usage: kernels_ab LOG2_D K_OVER_D EF(0|1) CALLS a.so b.so [...]\n");
    return 2;
  }
  const int log2_d = std::atoi(argv[1]);
  const double density = std::atof(argv[2]);
  const bool ef = std::atoi(argv[3]) != 0;
  const int calls = std::atoi(argv[4]);
  if (log2_d < 10 || log2_d > 28 || !(density > 0 && density < 1) || calls < 1) {
    std::fprintf(stderr, "kernels_ab: want 10 <= LOG2_D <= 28, 0 < K_OVER_D < 1, CALLS >= 1\n");
    return 2;
  }
  std::vector<Library> libs(static_cast<size_t>(argc - 5));
  for (size_t l = 0; l < libs.size(); ++l) {
    if (!Load(argv[5 + l], &libs[l])) return 1;
  }
  const size_t d = size_t{1} << log2_d;
  const auto k = static_cast<size_t>(static_cast<double>(d) * density);
  constexpr uint64_t kSeed = 0xab5eed;
  std::printf("kernels_ab: d=2^%d k=%zu %s, %d calls per library, seed=%llu\n", log2_d, k,
              ef ? "EF step" : "TopK", calls, static_cast<unsigned long long>(kSeed));
  std::mt19937_64 rng(kSeed);
  std::normal_distribution<float> gauss(0.0f, 0.01f);
  std::vector<float> x(d);
  std::vector<float> e(d);
  std::vector<float> e0(d);
  for (size_t i = 0; i < d; ++i) {
    x[i] = gauss(rng);
    e0[i] = 0.5f * gauss(rng);
  }
  const char* threads_env = std::getenv("KERNELS_AB_THREADS");
  const int threads = threads_env != nullptr ? std::atoi(threads_env) : 1;
  std::unique_ptr<sotto::kernels::ThreadPool> pool;
  ExecOptions options;
  if (threads > 1) {
    auto created = sotto::kernels::ThreadPool::Create(threads);
    if (!created.ok()) {
      std::fprintf(stderr, "kernels_ab: %s\n", std::string(created.status().message()).c_str());
      return 1;
    }
    pool = std::move(created).value();
    options.pool = pool.get();
  }
  std::printf("threads: %d\n", threads);
  std::vector<std::vector<std::byte>> scratch(libs.size());
  for (size_t l = 0; l < libs.size(); ++l) {
    scratch[l].resize(ef ? libs[l].ef_bytes(d, EfSelection::TopK(k), k, options)
                         : libs[l].topk_bytes(d, k, options));
  }
  std::vector<uint32_t> idx(k);
  std::vector<float> val(k);
  auto fresh = [&] {
    for (size_t g = d / 16 - 1; g > 0; --g) {
      const size_t h = rng() % (g + 1);
      std::swap_ranges(x.begin() + 16 * g, x.begin() + 16 * g + 16, x.begin() + 16 * h);
    }
    if (ef) e = e0;
  };
  using Clock = std::chrono::steady_clock;
  auto micros = [](Clock::time_point a, Clock::time_point b) {
    return std::chrono::duration<double, std::micro>(b - a).count();
  };
  std::vector<std::vector<double>> times(libs.size());
  std::vector<double> reads;
  std::vector<size_t> order(libs.size());
  for (size_t l = 0; l < order.size(); ++l) order[l] = l;
  volatile float sink = 0;
  for (int c = 0; c < calls; ++c) {
    fresh();
    sink = ReadSum(x.data(), d);
    Clock::time_point t0 = Clock::now();
    sink = ReadSum(x.data(), d);
    reads.push_back(micros(t0, Clock::now()));
    std::shuffle(order.begin(), order.end(), rng);
    for (size_t l : order) {
      fresh();
      sink = ReadSum(x.data(), d);
      t0 = Clock::now();
      const auto result = ef ? libs[l].ef(x, e, EfSelection::TopK(k), idx, val, scratch[l], options)
                             : libs[l].topk(x, k, idx, val, scratch[l], options);
      times[l].push_back(micros(t0, Clock::now()));
      if (!result.ok()) {
        std::fprintf(stderr, "kernels_ab: %s failed: %s\n", libs[l].path.c_str(),
                     std::string(result.status().message()).c_str());
        return 1;
      }
    }
  }
  (void)sink;
  const double read = Median(reads);
  const double first = Median(times[0]);
  std::printf(
      "read of x (median): %.1f us (a portable loop, not kernels_bench's SIMD read: the\n"
      "ratios to it are not those of docs/BENCHMARKS.md)\n",
      read);
  for (size_t l = 0; l < libs.size(); ++l) {
    const double m = Median(times[l]);
    std::printf("  [%zu] %-40s %8.1f us  %.2fx read  %.3f of [0]\n", l, libs[l].path.c_str(), m,
                m / read, m / first);
  }
  return 0;
}
