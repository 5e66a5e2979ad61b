// The CUDA back end against the CPU reference. Every test skips where no device exists.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels_test_util.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/select.h"
#include "sotto/kernels/topk.h"

namespace sotto::kernels {
namespace {

using testing::Dist;
using testing::DistName;
using testing::MakeData;

constexpr uint64_t kSeed = 0xc0da;

#define SKIP_WITHOUT_DEVICE() \
  if (!CudaAvailable()) GTEST_SKIP() << "no CUDA device (compiled: " << CudaCompiled() << ")"

ExecOptions Cuda() {
  ExecOptions o;
  o.backend = Backend::kCuda;
  return o;
}

TEST(CudaTopKTest, MatchesCpu) {
  SKIP_WITHOUT_DEVICE();
  Scratch scratch;
  for (size_t n :
       {size_t{0}, size_t{1}, size_t{31}, size_t{32}, size_t{33}, size_t{5000}, testing::kLarge}) {
    for (Dist dist : testing::kAllDists) {
      const std::vector<float> x = MakeData(dist, n, kSeed + n);
      for (size_t k : {size_t{0}, size_t{1}, n / 1000, n / 100, n / 10, n / 2, n}) {
        if (k > n) continue;
        SCOPED_TRACE(std::string("dist=") + DistName(dist) + " n=" + std::to_string(n) +
                     " k=" + std::to_string(k) + " seed=" + std::to_string(kSeed));
        std::vector<uint32_t> ci(k), gi(k);
        std::vector<float> cv(k), gv(k);
        auto c = TopK(x, k, ci, cv, scratch.Get(TopKScratchBytes(n, k)));
        auto g = TopK(x, k, gi, gv, {}, Cuda());
        ASSERT_TRUE(c.ok()) << c.status();
        ASSERT_TRUE(g.ok()) << g.status();
        EXPECT_EQ(g->backend, Backend::kCuda);
        ASSERT_EQ(gi, ci);
        for (size_t j = 0; j < k; ++j) ASSERT_TRUE(testing::SameBits(gv[j], cv[j]));
      }
    }
  }
}

TEST(CudaSelectTest, ThresholdMatchesCpu) {
  SKIP_WITHOUT_DEVICE();
  Scratch scratch;
  const size_t n = testing::kLarge;
  for (Dist dist : {Dist::kGaussian, Dist::kNan, Dist::kTies}) {
    const std::vector<float> x = MakeData(dist, n, kSeed);
    for (size_t cap : {n, n / 100}) {
      SCOPED_TRACE(std::string("dist=") + DistName(dist) + " cap=" + std::to_string(cap));
      std::vector<uint32_t> ci(cap), gi(cap);
      auto c = ThresholdSelect(x, 1.5f, ci, {}, scratch.Get(ThresholdScratchBytes(n, cap)));
      auto g = ThresholdSelect(x, 1.5f, gi, {}, {}, Cuda());
      ASSERT_TRUE(c.ok()) << c.status();
      ASSERT_TRUE(g.ok()) << g.status();
      EXPECT_EQ(g->num_above, c->num_above);
      ASSERT_EQ(g->count, c->count);
      ci.resize(c->count);
      gi.resize(g->count);
      EXPECT_EQ(gi, ci);
    }
  }
}

TEST(CudaSelectTest, GaussianKSelectsAboveItsThreshold) {
  SKIP_WITHOUT_DEVICE();
  const size_t n = size_t{1} << 20;
  const std::vector<float> x = MakeData(Dist::kLaplace, n, kSeed);
  const size_t k = n / 100;
  std::vector<uint32_t> gi(2 * k);
  auto g = GaussianK(x, k, gi, {}, {}, Cuda());
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_GE(g->count, (2 * k + 2) / 3);
  EXPECT_LE(g->count, 4 * k / 3);
  gi.resize(g->count);
  std::vector<uint32_t> want;
  for (size_t i = 0; i < n; ++i) {
    if (std::fabs(x[i]) > g->threshold) want.push_back(static_cast<uint32_t>(i));
  }
  EXPECT_EQ(gi, want);
}

TEST(CudaErrorFeedbackTest, ConservationAndSameSelectionAsCpu) {
  SKIP_WITHOUT_DEVICE();
  Scratch scratch;
  const size_t n = testing::kLarge;
  const std::vector<float> u = MakeData(Dist::kNan, n, kSeed);
  const std::vector<float> e0 = MakeData(Dist::kGaussian, n, kSeed + 1);
  std::vector<uint32_t> support(n / 50);
  std::vector<std::byte> rs(RandomKScratchBytes(n));
  ASSERT_TRUE(RandomK(n, support.size(), kSeed, support, rs).ok());
  for (const EfSelection& sel :
       {EfSelection::TopK(n / 100), EfSelection::Threshold(2.0f), EfSelection::Support(support)}) {
    const size_t cap = n / 10;
    std::vector<float> ec = e0, eg = e0;
    std::vector<uint32_t> ci(cap), gi(cap);
    std::vector<float> cv(cap), gv(cap);
    auto c =
        ErrorFeedbackStep(u, ec, sel, ci, cv, scratch.Get(ErrorFeedbackScratchBytes(n, sel, cap)));
    auto g = ErrorFeedbackStep(u, eg, sel, gi, gv, {}, Cuda());
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(g.ok()) << g.status();
    ASSERT_EQ(g->count, c->count);
    for (size_t j = 0; j < c->count; ++j) {
      ASSERT_EQ(gi[j], ci[j]);
      ASSERT_TRUE(testing::SameBits(gv[j], cv[j]));
    }
    for (size_t i = 0; i < n; ++i) ASSERT_TRUE(testing::SameBits(eg[i], ec[i])) << i;
  }
}

}  // namespace
}  // namespace sotto::kernels
