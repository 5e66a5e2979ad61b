#include "sotto/kernels/topk.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "kernels_test_util.h"
#include "sotto/kernels/scratch.h"

namespace sotto::kernels {
namespace {

using testing::AllConfigs;
using testing::Config;
using testing::ConfigName;
using testing::Dist;
using testing::DistName;
using testing::MakeData;
using testing::OptionsFor;
using testing::ReferenceOrder;
using testing::ReferenceTopK;

constexpr uint64_t kSeed = 0x70b4e5;

// Runs TopK under `config` and checks it against the reference order.
void CheckTopK(const std::vector<float>& x, const std::vector<uint32_t>& order, size_t k,
               const Config& config, Scratch& scratch) {
  SCOPED_TRACE("n=" + std::to_string(x.size()) + " k=" + std::to_string(k) + " " +
               ConfigName(config));
  const ExecOptions options = OptionsFor(config);
  std::vector<uint32_t> idx(k + 1, 0xdeadbeef);
  std::vector<float> val(k + 1, -7.0f);
  auto result = TopK(x, k, std::span<uint32_t>(idx.data(), k), std::span<float>(val.data(), k),
                     scratch.Get(TopKScratchBytes(x.size(), k, options)), options);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->count, k);
  EXPECT_EQ(idx[k], 0xdeadbeef) << "wrote past k";
  idx.resize(k);
  val.resize(k);
  const std::vector<uint32_t> want = ReferenceTopK(order, k);
  ASSERT_EQ(idx, want);
  for (size_t j = 0; j < k; ++j) {
    ASSERT_TRUE(testing::SameBits(val[j], x[idx[j]])) << "value at " << j;
  }
  if (k > 0) {
    const float kth = x[order[k - 1]];
    if (std::isnan(kth)) {
      EXPECT_TRUE(std::isnan(result->threshold));
    } else {
      EXPECT_EQ(result->threshold, std::fabs(kth));
    }
  }
}

std::vector<size_t> InterestingKs(size_t n) {
  std::vector<size_t> ks = {0, 1, 2, n / 1000, n / 100, n / 10, n / 4, n / 4 + 1, n / 2, n - 1, n};
  ks.erase(std::remove_if(ks.begin(), ks.end(), [n](size_t k) { return k > n; }), ks.end());
  std::sort(ks.begin(), ks.end());
  ks.erase(std::unique(ks.begin(), ks.end()), ks.end());
  return ks;
}

TEST(TopKTest, EdgeSizesEveryK) {
  Scratch scratch;
  for (size_t n : {0, 1, 2, 31, 32, 33, 64, 100}) {
    for (Dist dist : testing::kAllDists) {
      SCOPED_TRACE(std::string("dist=") + DistName(dist) + " seed=" + std::to_string(kSeed));
      const std::vector<float> x = MakeData(dist, n, kSeed + n);
      const std::vector<uint32_t> order = ReferenceOrder(x);
      for (const Config& config : AllConfigs()) {
        for (size_t k = 0; k <= n; ++k) CheckTopK(x, order, k, config, scratch);
      }
    }
  }
}

TEST(TopKTest, MediumSizesAllPaths) {
  Scratch scratch;
  for (size_t n : {1000, 8193, 70001, 200003}) {
    for (Dist dist : testing::kAllDists) {
      SCOPED_TRACE(std::string("dist=") + DistName(dist) + " seed=" + std::to_string(kSeed));
      const std::vector<float> x = MakeData(dist, n, kSeed ^ n);
      const std::vector<uint32_t> order = ReferenceOrder(x);
      size_t case_number = static_cast<size_t>(dist) * 31 + n;
      for (size_t k : InterestingKs(n)) {
        for (const Config& config : testing::RotatingConfigs(case_number++)) {
          if (config.algorithm == CpuTopKAlgorithm::kSmall && n > 100000) continue;
          CheckTopK(x, order, k, config, scratch);
        }
      }
    }
  }
}

TEST(TopKTest, LargeSize) {
  // Few cases: the reference sort of 2^20 elements dominates a Debug+ASan run.
  Scratch scratch;
  const size_t n = testing::kLarge;
  for (Dist dist : {Dist::kGaussian, Dist::kNan}) {
    SCOPED_TRACE(std::string("dist=") + DistName(dist) + " seed=" + std::to_string(kSeed));
    const std::vector<float> x = MakeData(dist, n, kSeed);
    const std::vector<uint32_t> order = ReferenceOrder(x);
    const std::vector<size_t> ks = dist == Dist::kGaussian
                                       ? std::vector<size_t>{0, n / 1000, n / 10, n}
                                       : std::vector<size_t>{n / 100, n / 2};
    int threads = 1;
    size_t step = 0;
    for (size_t k : ks) {
      threads = 3 - threads;  // alternate 2 and 1 threads, and rotate the SIMD levels
      CheckTopK(x, order, k, Config{threads, testing::SimdLevelAt(step++), CpuTopKAlgorithm::kAuto},
                scratch);
    }
  }
}

TEST(TopKTest, SeededRandomSizes) {
  Scratch scratch;
  for (uint64_t trial = 0; trial < 24; ++trial) {
    const uint64_t seed = DeriveSeed(kSeed, trial);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    Prng rng(seed);
    // Log-uniform sizes up to ~300k, so every path and the two-lane split are hit.
    const auto n = static_cast<size_t>(std::exp(rng.Uniform() * std::log(300000.0)));
    const Dist dist = testing::kAllDists[rng.UniformInt(std::size(testing::kAllDists))];
    const size_t k = rng.UniformInt(n + 1);
    const std::vector<Config> configs = AllConfigs();
    const Config config = configs[rng.UniformInt(configs.size())];
    if (config.algorithm == CpuTopKAlgorithm::kSmall && n > 100000) continue;
    const std::vector<float> x = MakeData(dist, n, seed);
    CheckTopK(x, ReferenceOrder(x), k, config, scratch);
  }
}

// Clustered data (kernels_test_util.h) makes the sampled prediction miss both ways (too few
// candidates, too many, or more than k above the window). Every outcome must still be exact,
// and the misses must happen.
TEST(TopKTest, ClusteredDataDefeatsTheSample) {
  Scratch scratch;
  const size_t n = (size_t{1} << 17) + 3;
  int misses = 0;
  int hits = 0;
  for (uint64_t trial = 0; trial < 8; ++trial) {
    const uint64_t seed = DeriveSeed(kSeed, 1000 + trial);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    const std::vector<float> x = testing::MakeClustered(n, seed);
    const std::vector<uint32_t> order = ReferenceOrder(x);
    for (size_t k : {n / 100, n / 20, n / 14}) {
      const Config config{static_cast<int>(trial % 2) + 1, testing::SimdLevelAt(trial),
                          CpuTopKAlgorithm::kSampled};
      CheckTopK(x, order, k, config, scratch);
      std::vector<uint32_t> idx(k);
      auto r = TopK(x, k, idx, {}, scratch.Get(TopKScratchBytes(n, k, OptionsFor(config))),
                    OptionsFor(config));
      ASSERT_TRUE(r.ok());
      (r->passes > 1 ? misses : hits) += 1;
    }
  }
  EXPECT_GT(misses, 0) << "the fallback path was never exercised";
  EXPECT_GT(hits, 0);
}

TEST(TopKTest, IndicesOnly) {
  const std::vector<float> x = MakeData(Dist::kGaussian, 50000, kSeed);
  std::vector<uint32_t> idx(500);
  Scratch scratch;
  auto r = TopK(x, 500, idx, {}, scratch.Get(TopKScratchBytes(x.size(), 500)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(idx, ReferenceTopK(ReferenceOrder(x), 500));
}

TEST(TopKTest, NanRanksFirst) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  const std::vector<float> x = {1.0f, -inf, nan, 3.0f, -nan, 0.0f};
  std::vector<uint32_t> idx(3);
  std::vector<float> val(3);
  Scratch scratch;
  auto r = TopK(x, 3, idx, val, scratch.Get(TopKScratchBytes(x.size(), 3)));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(idx, (std::vector<uint32_t>{1, 2, 4}));
  EXPECT_TRUE(std::isinf(val[0]));
  EXPECT_TRUE(std::isnan(val[1]));
  EXPECT_EQ(r->threshold, inf);  // the 3rd is -inf
}

TEST(TopKTest, BadArguments) {
  const std::vector<float> x(10, 1.0f);
  std::vector<uint32_t> idx(10);
  std::vector<float> val(10);
  Scratch scratch;
  const auto bytes = scratch.Get(TopKScratchBytes(10, 10));
  EXPECT_EQ(TopK(x, 11, idx, val, bytes).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(TopK(x, 5, std::span<uint32_t>(idx.data(), 4), val, bytes).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(TopK(x, 5, idx, std::span<float>(val.data(), 3), bytes).status().code(),
            StatusCode::kInvalidArgument);
  const std::vector<float> big(100000, 1.0f);
  std::vector<uint32_t> big_idx(1000);
  EXPECT_EQ(TopK(big, 1000, big_idx, {}, std::span<std::byte>()).status().code(),
            StatusCode::kInvalidArgument);
  ExecOptions cuda;
  cuda.backend = Backend::kCuda;
  if (!CudaAvailable()) {
    EXPECT_EQ(TopK(x, 5, idx, val, bytes, cuda).status().code(), StatusCode::kFailedPrecondition);
  }
}

}  // namespace
}  // namespace sotto::kernels
