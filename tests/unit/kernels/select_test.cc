#include "sotto/kernels/select.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <set>
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

constexpr uint64_t kSeed = 0x5e1ec7;

// Brute force: indices with |x| > tau under the magnitude order (NaN passes).
std::vector<uint32_t> Above(const std::vector<float>& x, float tau) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::fabs(x[i]) > tau) out.push_back(static_cast<uint32_t>(i));
  }
  return out;
}

// ---- Threshold -------------------------------------------------------------------------------

TEST(ThresholdSelectTest, MatchesBruteForce) {
  Scratch scratch;
  const float inf = std::numeric_limits<float>::infinity();
  for (size_t n : {0, 1, 33, 5000, 200003}) {
    for (Dist dist : {Dist::kGaussian, Dist::kNan, Dist::kTies, Dist::kZeros}) {
      const std::vector<float> x = MakeData(dist, n, kSeed + n);
      for (float tau : {-1.0f, 0.0f, 0.5f, 1.0f, 2.5f, inf}) {
        for (const Config& config : AllConfigs()) {
          if (config.algorithm != CpuTopKAlgorithm::kAuto) continue;
          SCOPED_TRACE(std::string("dist=") + DistName(dist) + " n=" + std::to_string(n) +
                       " tau=" + std::to_string(tau) + " " + ConfigName(config) +
                       " seed=" + std::to_string(kSeed));
          const ExecOptions options = OptionsFor(config);
          std::vector<uint32_t> idx(n);
          std::vector<float> val(n);
          auto r = ThresholdSelect(x, tau, idx, val,
                                   scratch.Get(ThresholdScratchBytes(n, n, options)), options);
          ASSERT_TRUE(r.ok()) << r.status();
          std::vector<uint32_t> want = tau < 0 ? std::vector<uint32_t>(n) : Above(x, tau);
          if (tau < 0) std::iota(want.begin(), want.end(), 0u);
          ASSERT_EQ(r->count, want.size());
          EXPECT_EQ(r->num_above, want.size());
          idx.resize(r->count);
          EXPECT_EQ(idx, want);
          for (size_t j = 0; j < r->count; ++j) ASSERT_TRUE(testing::SameBits(val[j], x[idx[j]]));
        }
      }
    }
  }
}

TEST(ThresholdSelectTest, CapacityKeepsTheLargest) {
  Scratch scratch;
  const std::vector<float> x = MakeData(Dist::kNan, 150001, kSeed);
  const std::vector<uint32_t> order = testing::ReferenceOrder(x);
  const std::vector<uint32_t> above = Above(x, 0.5f);
  for (size_t cap : {size_t{0}, size_t{1}, size_t{1000}, above.size() - 1, above.size()}) {
    for (const Config& config : AllConfigs()) {
      if (config.algorithm != CpuTopKAlgorithm::kAuto) continue;
      SCOPED_TRACE("cap=" + std::to_string(cap) + " " + ConfigName(config));
      const ExecOptions options = OptionsFor(config);
      std::vector<uint32_t> idx(cap);
      std::vector<float> val(cap);
      auto r = ThresholdSelect(x, 0.5f, idx, val,
                               scratch.Get(ThresholdScratchBytes(x.size(), cap, options)), options);
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_EQ(r->num_above, above.size());
      ASSERT_EQ(r->count, cap);
      EXPECT_EQ(idx, testing::ReferenceTopK(order, cap));
    }
  }
}

TEST(ThresholdSelectTest, BadArguments) {
  const std::vector<float> x(10, 1.0f);
  std::vector<uint32_t> idx(10);
  std::vector<float> val(5);
  Scratch scratch;
  const auto bytes = scratch.Get(ThresholdScratchBytes(10, 10));
  EXPECT_EQ(ThresholdSelect(x, std::nanf(""), idx, {}, bytes).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ThresholdSelect(x, 0.5f, idx, val, bytes).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ThresholdSelect(x, 0.5f, idx, {}, std::span<std::byte>()).status().code(),
            StatusCode::kInvalidArgument);
}

// ---- Gaussian-k
// ----------------------------------------------------------------------------------

struct GaussianCase {
  Dist dist;
  double density;
};

class GaussianKTest : public ::testing::TestWithParam<GaussianCase> {};

TEST_P(GaussianKTest, CountLandsInBand) {
  const GaussianCase c = GetParam();
  const size_t n = size_t{1} << 18;
  const auto k = static_cast<size_t>(c.density * static_cast<double>(n));
  Scratch scratch;
  for (uint64_t trial = 0; trial < 3; ++trial) {
    const uint64_t seed = DeriveSeed(kSeed, trial);
    SCOPED_TRACE(std::string("dist=") + DistName(c.dist) + " k=" + std::to_string(k) +
                 " seed=" + std::to_string(seed));
    std::vector<float> x = MakeData(c.dist, n, seed);
    const float scale = static_cast<float>(trial + 1) * 0.01f;  // gradient-like scales
    for (float& v : x) v *= scale;
    const size_t cap = (4 * k) / 3 + 1;
    std::vector<uint32_t> idx(cap);
    std::vector<float> val(cap);
    auto r = GaussianK(x, k, idx, val, scratch.Get(GaussianKScratchBytes(n, cap)));
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_GE(r->count, (2 * k + 2) / 3) << "corrections=" << r->corrections;
    EXPECT_LE(r->count, 4 * k / 3) << "corrections=" << r->corrections;
    EXPECT_LE(r->corrections, 3);
    idx.resize(r->count);
    EXPECT_EQ(idx, Above(x, r->threshold)) << "selection is not {|x| > threshold}";
    for (size_t j = 0; j < r->count; ++j) ASSERT_TRUE(testing::SameBits(val[j], x[idx[j]]));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Densities, GaussianKTest,
    ::testing::Values(GaussianCase{Dist::kGaussian, 0.001}, GaussianCase{Dist::kGaussian, 0.01},
                      GaussianCase{Dist::kGaussian, 0.05}, GaussianCase{Dist::kGaussian, 0.1},
                      GaussianCase{Dist::kLaplace, 0.001}, GaussianCase{Dist::kLaplace, 0.01},
                      GaussianCase{Dist::kLaplace, 0.05}, GaussianCase{Dist::kLaplace, 0.1}),
    [](const ::testing::TestParamInfo<GaussianCase>& info) {
      return std::string(DistName(info.param.dist)) + "_ppm" +
             std::to_string(static_cast<int>(info.param.density * 1e6));
    });

TEST(GaussianKSelectTest, SameResultForEveryThreadCountAndSimd) {
  const size_t n = 300001;
  const std::vector<float> x = MakeData(Dist::kNan, n, kSeed);
  Scratch scratch;
  std::vector<uint32_t> first;
  float first_tau = 0.0f;
  for (const Config& config : AllConfigs()) {
    if (config.algorithm != CpuTopKAlgorithm::kAuto) continue;
    SCOPED_TRACE(ConfigName(config));
    const ExecOptions options = OptionsFor(config);
    std::vector<uint32_t> idx(5000);
    auto r =
        GaussianK(x, 3000, idx, {}, scratch.Get(GaussianKScratchBytes(n, 5000, options)), options);
    ASSERT_TRUE(r.ok()) << r.status();
    idx.resize(r->count);
    if (first.empty()) {
      first = idx;
      first_tau = r->threshold;
    } else {
      EXPECT_EQ(idx, first);
      EXPECT_TRUE(testing::SameBits(r->threshold, first_tau));
    }
  }
}

TEST(GaussianKSelectTest, EdgeCases) {
  Scratch scratch;
  const std::vector<float> x = MakeData(Dist::kGaussian, 1000, kSeed);
  std::vector<uint32_t> idx(1000);
  auto r0 = GaussianK(x, 0, idx, {}, scratch.Get(GaussianKScratchBytes(1000, 1000)));
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(r0->count, 0u);
  auto all = GaussianK(x, 1000, idx, {}, scratch.Get(GaussianKScratchBytes(1000, 1000)));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->count, 1000u);
  auto empty =
      GaussianK(std::span<const float>(), 0, {}, {}, scratch.Get(GaussianKScratchBytes(0, 0)));
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->count, 0u);
  EXPECT_EQ(
      GaussianK(x, 1001, idx, {}, scratch.Get(GaussianKScratchBytes(1000, 1000))).status().code(),
      StatusCode::kInvalidArgument);
  // Constant data: any count is allowed, but the capacity is respected and the call succeeds.
  const std::vector<float> flat(4096, 2.0f);
  std::vector<uint32_t> small(10);
  auto rc = GaussianK(flat, 8, small, {}, scratch.Get(GaussianKScratchBytes(4096, 10)));
  ASSERT_TRUE(rc.ok()) << rc.status();
  EXPECT_LE(rc->count, 10u);
}

// ---- Random-k
// ------------------------------------------------------------------------------------

std::vector<uint32_t> Draw(size_t n, size_t k, uint64_t seed) {
  std::vector<uint32_t> idx(k);
  std::vector<std::byte> scratch(RandomKScratchBytes(n));
  const Status s = RandomK(n, k, seed, idx, scratch);
  EXPECT_TRUE(s.ok()) << s;
  return idx;
}

TEST(RandomKTest, ExactlyKDistinctAscendingInRange) {
  for (size_t n : {0, 1, 63, 64, 65, 1000, 100003}) {
    for (size_t k : {size_t{0}, size_t{1}, n / 10, n / 2, n / 2 + 1, n - (n > 0 ? 1 : 0), n}) {
      if (k > n) continue;
      SCOPED_TRACE("n=" + std::to_string(n) + " k=" + std::to_string(k));
      const std::vector<uint32_t> idx = Draw(n, k, kSeed);
      ASSERT_EQ(idx.size(), k);
      for (size_t j = 0; j < k; ++j) {
        ASSERT_LT(idx[j], n);
        if (j > 0) {
          ASSERT_LT(idx[j - 1], idx[j]);
        }
      }
    }
  }
}

TEST(RandomKTest, SameSeedSameSupportOtherSeedOther) {
  EXPECT_EQ(Draw(100000, 1000, 7), Draw(100000, 1000, 7));
  EXPECT_EQ(Draw(100000, 90000, 7), Draw(100000, 90000, 7));
  EXPECT_NE(Draw(100000, 1000, 7), Draw(100000, 1000, 8));
}

TEST(RandomKTest, RoughlyUniform) {
  // Every index of [0, 64) is chosen with probability 1/4 over 4000 draws of k=16.
  std::vector<int> hits(64, 0);
  for (uint64_t s = 0; s < 4000; ++s) {
    for (uint32_t i : Draw(64, 16, DeriveSeed(kSeed, s))) ++hits[i];
  }
  for (int h : hits) {
    EXPECT_GT(h, 850);
    EXPECT_LT(h, 1150);
  }
}

TEST(RandomKTest, BadArguments) {
  std::vector<uint32_t> idx(10);
  std::vector<std::byte> scratch(RandomKScratchBytes(100));
  EXPECT_EQ(RandomK(5, 6, 1, idx, scratch).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RandomK(100, 11, 1, idx, scratch).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(RandomK(100, 5, 1, idx, std::span<std::byte>()).code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::kernels
