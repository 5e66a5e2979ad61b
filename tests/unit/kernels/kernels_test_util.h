#pragma once

// Shared helpers of the kernels tests: seeded data generators, the sort-based reference for the
// magnitude order, and the execution configurations every test sweeps (threads x SIMD x
// algorithm). Header-only; each test binary includes it once.

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/selection.h"
#include "sotto/kernels/thread_pool.h"

namespace sotto::kernels::testing {

enum class Dist { kGaussian, kLaplace, kTies, kConstant, kZeros, kNan, kRamp, kSparseSpikes };

inline const char* DistName(Dist d) {
  switch (d) {
    case Dist::kGaussian:
      return "gaussian";
    case Dist::kLaplace:
      return "laplace";
    case Dist::kTies:
      return "ties";
    case Dist::kConstant:
      return "constant";
    case Dist::kZeros:
      return "zeros";
    case Dist::kNan:
      return "nan";
    case Dist::kRamp:
      return "ramp";
    case Dist::kSparseSpikes:
      return "spikes";
  }
  return "?";
}

inline constexpr Dist kAllDists[] = {Dist::kGaussian, Dist::kLaplace,     Dist::kTies,
                                     Dist::kConstant, Dist::kZeros,       Dist::kNan,
                                     Dist::kRamp,     Dist::kSparseSpikes};

inline std::vector<float> MakeData(Dist dist, size_t n, uint64_t seed) {
  Prng rng(seed);
  std::vector<float> x(n);
  for (size_t i = 0; i < n; ++i) {
    switch (dist) {
      case Dist::kGaussian:
        x[i] = static_cast<float>(rng.Normal());
        break;
      case Dist::kLaplace: {
        double u;
        do {
          u = rng.Uniform();
        } while (u == 0.0);
        const double mag = -std::log(u);
        x[i] = static_cast<float>(rng.Next() & 1 ? mag : -mag);
        break;
      }
      case Dist::kTies:
        x[i] = static_cast<float>(static_cast<int>(rng.UniformInt(7)) - 3);
        if (x[i] == 0.0f && (rng.Next() & 1)) x[i] = -0.0f;
        break;
      case Dist::kConstant:
        x[i] = -1.5f;
        break;
      case Dist::kZeros:
        x[i] = (i % 3 == 0) ? -0.0f : 0.0f;
        break;
      case Dist::kNan: {
        const uint64_t r = rng.UniformInt(100);
        if (r < 5) {
          // NaNs with different payloads and signs.
          const uint32_t bits = 0x7f800001u | static_cast<uint32_t>(rng.UniformInt(0x3fffff));
          x[i] = std::bit_cast<float>(bits | (r & 1 ? 0x80000000u : 0u));
        } else if (r < 7) {
          x[i] = r == 5 ? std::numeric_limits<float>::infinity()
                        : -std::numeric_limits<float>::infinity();
        } else if (r < 10) {
          x[i] = -0.0f;
        } else {
          x[i] = static_cast<float>(rng.Normal());
        }
        break;
      }
      case Dist::kRamp:
        x[i] = static_cast<float>(i) * 1e-3f - 1.0f;
        break;
      case Dist::kSparseSpikes:
        x[i] = rng.UniformInt(50) == 0 ? static_cast<float>(rng.Normal() * 1e3)
                                       : static_cast<float>(rng.Normal() * 1e-3);
        break;
    }
  }
  return x;
}

// Small Gaussian noise with `clusters` runs of `width` large values at random places: a
// stratified sample sees them with high variance, so the top-k prediction often misses.
inline std::vector<float> MakeClustered(size_t n, uint64_t seed, size_t clusters = 40,
                                        size_t width = 256) {
  Prng rng(seed);
  std::vector<float> x(n);
  for (float& v : x) v = static_cast<float>(rng.Normal() * 1e-3);
  for (size_t c = 0; c < clusters; ++c) {
    const size_t start = rng.UniformInt(n - width);
    for (size_t t = 0; t < width; ++t) x[start + t] = static_cast<float>(1.0 + rng.Uniform());
  }
  return x;
}

// a ranks strictly before b in the magnitude order (index ties are left to a stable sort).
inline bool MagnitudeGreater(float a, float b) {
  const bool an = std::isnan(a);
  const bool bn = std::isnan(b);
  if (an || bn) return an && !bn;
  return std::fabs(a) > std::fabs(b);
}

// All indices in magnitude order, by a stable sort (ties keep index order).
inline std::vector<uint32_t> ReferenceOrder(const std::vector<float>& x) {
  std::vector<uint32_t> order(x.size());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint32_t a, uint32_t b) { return MagnitudeGreater(x[a], x[b]); });
  return order;
}

inline std::vector<uint32_t> ReferenceTopK(const std::vector<uint32_t>& order, size_t k) {
  std::vector<uint32_t> top(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k));
  std::sort(top.begin(), top.end());
  return top;
}

inline bool SameBits(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
}

// The SIMD levels this machine can run, narrowest first (scalar always; AVX2 and AVX-512 where
// the CPU has them). Every configuration sweep covers each of them, so a machine with AVX-512
// checks all three paths against the reference.
inline std::vector<SimdLevel> SupportedSimdLevels() {
  std::vector<SimdLevel> out = {SimdLevel::kScalar};
  if (CpuHasAvx2()) out.push_back(SimdLevel::kAvx2);
  if (CpuHasAvx512()) out.push_back(SimdLevel::kAvx512);
  return out;
}

// The i-th supported level, cycling.
inline SimdLevel SimdLevelAt(size_t i) {
  const std::vector<SimdLevel> levels = SupportedSimdLevels();
  return levels[i % levels.size()];
}

// One execution configuration.
struct Config {
  int threads;
  SimdLevel simd;
  CpuTopKAlgorithm algorithm;
};

inline std::string ConfigName(const Config& c) {
  const char* algo = "auto";
  switch (c.algorithm) {
    case CpuTopKAlgorithm::kSampled:
      algo = "sampled";
      break;
    case CpuTopKAlgorithm::kRadix:
      algo = "radix";
      break;
    case CpuTopKAlgorithm::kSmall:
      algo = "small";
      break;
    case CpuTopKAlgorithm::kAuto:
      break;
  }
  return "threads=" + std::to_string(c.threads) + " simd=" + std::string(SimdLevelName(c.simd)) +
         " algo=" + algo;
}

// A process-wide two-lane pool (lane 0 is the calling thread).
inline ThreadPool* TwoThreadPool() {
  static std::unique_ptr<ThreadPool> pool = [] {
    auto p = ThreadPool::Create(2);
    if (!p.ok()) std::abort();
    return std::move(p).value();
  }();
  return pool.get();
}

inline ExecOptions OptionsFor(const Config& c) {
  ExecOptions o;
  o.pool = c.threads > 1 ? TwoThreadPool() : nullptr;
  o.backend = Backend::kCpu;
  o.use_simd = c.simd != SimdLevel::kScalar;  // both knobs get exercised
  o.max_simd = c.simd;
  o.topk_algorithm = c.algorithm;
  return o;
}

inline std::vector<Config> AllConfigs() {
  std::vector<Config> out;
  for (int threads : {1, 2}) {
    for (SimdLevel simd : SupportedSimdLevels()) {
      for (CpuTopKAlgorithm a : {CpuTopKAlgorithm::kAuto, CpuTopKAlgorithm::kSampled,
                                 CpuTopKAlgorithm::kRadix, CpuTopKAlgorithm::kSmall}) {
        out.push_back({threads, simd, a});
      }
    }
  }
  return out;
}

// A few configurations for case number `i`, rotating through AllConfigs() so that a sweep
// over many cases still covers every configuration without running each on every case.
inline std::vector<Config> RotatingConfigs(size_t i, size_t count = 3) {
  const std::vector<Config> all = AllConfigs();
  std::vector<Config> out;
  for (size_t j = 0; j < count; ++j) out.push_back(all[(i * 5 + j * 7) % all.size()]);
  return out;
}

// The widest level this machine supports.
inline SimdLevel BestSimd() { return CpuSimdLevel(); }

// Every supported level, with `threads` and `algorithm` fixed.
inline std::vector<Config> EverySimd(int threads, CpuTopKAlgorithm algorithm) {
  std::vector<Config> out;
  for (SimdLevel simd : SupportedSimdLevels()) out.push_back({threads, simd, algorithm});
  return out;
}

// Lane chunks are at least 65536 elements, so sizes below 2^17 never split: the 2-thread
// configurations matter only above that; the tests still run them everywhere.
inline constexpr size_t kLarge = (size_t{1} << 20) + 1;

}  // namespace sotto::kernels::testing
