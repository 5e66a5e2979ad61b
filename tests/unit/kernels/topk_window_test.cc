// White-box test of the sampled top-k path: every outcome of the predicted window, forced with
// TopKCpuWithWindowForTesting (kernels/src/cpu/engine.h), plain and fused with error feedback.

#include <gtest/gtest.h>

#include <climits>
#include <vector>

#include "cpu/engine.h"
#include "kernels_test_util.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/topk.h"

namespace sotto::kernels {
namespace {

using testing::Dist;
using testing::MakeData;
using testing::SameBits;

constexpr uint64_t kSeed = 0x3141;

struct Window {
  const char* name;
  int32_t t_lo;
  int32_t t_hi;
  int passes;  // 1 when the window holds the k-th element, 5 after the fallback
};

std::vector<Window> Windows(const std::vector<float>& x, const std::vector<uint32_t>& order,
                            size_t k) {
  auto key = [&](size_t rank) { return static_cast<int32_t>(MagnitudeKey(x[order[rank]])); };
  return {
      {"hit", key(k + 500) - 1, key(k - 500), 1},
      {"hit_nothing_above", key(k + 500) - 1, INT32_MAX, 1},
      // With error feedback the pass zeroes e a quarter of the window below t_hi: the k-th
      // element clearly below that line, and clearly above it (e restored from the pool).
      {"hit_low_in_window", key(k + 50) - 1, key(k - 950), 1},
      {"hit_high_in_window", key(k + 950) - 1, key(k - 50), 1},
      {"exactly_k_above", key(k + 500) - 1, key(k), 1},
      {"more_than_k_above", key(k + 1000) - 1, key(k + 200), 1},
      {"fewer_than_k_candidates", key(k - 100), INT32_MAX, 5},
      {"pool_overflows", -1, INT32_MAX, 5},
  };
}

TEST(TopKWindowTest, EveryOutcomeIsExact) {
  const size_t n = 200003;
  Scratch scratch;
  for (Dist dist : {Dist::kGaussian, Dist::kLaplace}) {
    const std::vector<float> x = MakeData(dist, n, kSeed);
    const std::vector<uint32_t> order = testing::ReferenceOrder(x);
    for (size_t k : {n / 100, n / 10}) {
      const std::vector<uint32_t> want = testing::ReferenceTopK(order, k);
      for (const Window& w : Windows(x, order, k)) {
        for (const testing::Config& config : testing::AllConfigs()) {
          if (config.algorithm != CpuTopKAlgorithm::kAuto) continue;
          SCOPED_TRACE(std::string(w.name) + " k=" + std::to_string(k) + " " +
                       testing::ConfigName(config) + " seed=" + std::to_string(kSeed));
          const ExecOptions options = testing::OptionsFor(config);
          std::vector<uint32_t> idx(k);
          std::vector<float> val(k);
          internal::Arena arena(scratch.Get(TopKScratchBytes(n, k, options)));
          const SelectResult r = internal::TopKCpuWithWindowForTesting(
              internal::SelectInput{x.data(), nullptr, nullptr}, n, k, w.t_lo, w.t_hi, idx.data(),
              val.data(), arena, options);
          EXPECT_EQ(r.passes, w.passes);
          ASSERT_EQ(idx, want);
          for (size_t j = 0; j < k; ++j) ASSERT_TRUE(SameBits(val[j], x[idx[j]]));
        }
      }
    }
  }
}

TEST(TopKWindowTest, ErrorFeedbackEveryOutcomeConserves) {
  const size_t n = 200003;
  Scratch scratch;
  const std::vector<float> u = MakeData(Dist::kNan, n, kSeed);
  const std::vector<float> e_old = MakeData(Dist::kGaussian, n, kSeed + 1);
  std::vector<float> a(n);
  for (size_t i = 0; i < n; ++i) a[i] = u[i] + e_old[i];
  const std::vector<uint32_t> order = testing::ReferenceOrder(a);
  for (size_t k : {n / 100, n / 10}) {
    const std::vector<uint32_t> want = testing::ReferenceTopK(order, k);
    for (const Window& w : Windows(a, order, k)) {
      for (const testing::Config& config : testing::AllConfigs()) {
        if (config.algorithm != CpuTopKAlgorithm::kAuto) continue;
        SCOPED_TRACE(std::string(w.name) + " k=" + std::to_string(k) + " " +
                     testing::ConfigName(config) + " seed=" + std::to_string(kSeed));
        const ExecOptions options = testing::OptionsFor(config);
        std::vector<float> e = e_old;
        std::vector<uint32_t> idx(k);
        std::vector<float> val(k);
        internal::Arena arena(scratch.Get(TopKScratchBytes(n, k, options)));
        const SelectResult r = internal::TopKCpuWithWindowForTesting(
            internal::SelectInput{nullptr, u.data(), e.data()}, n, k, w.t_lo, w.t_hi, idx.data(),
            val.data(), arena, options);
        EXPECT_EQ(r.passes, w.passes);
        ASSERT_EQ(idx, want);
        std::vector<char> selected(n, 0);
        for (size_t j = 0; j < k; ++j) {
          selected[idx[j]] = 1;
          ASSERT_TRUE(SameBits(val[j], a[idx[j]]));
        }
        for (size_t i = 0; i < n; ++i) {
          ASSERT_TRUE(SameBits(e[i], selected[i] ? 0.0f : a[i])) << "coordinate " << i;
        }
      }
    }
  }
}

}  // namespace
}  // namespace sotto::kernels
