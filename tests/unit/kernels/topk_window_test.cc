// White-box test of the sampled top-k path: every outcome of the predicted window, forced with
// TopKCpuWithWindowForTesting (kernels/src/cpu/engine.h), plain and fused with error feedback.

#include <gtest/gtest.h>

#include <climits>
#include <cmath>
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
  int32_t t_zero;  // error feedback: the pass zeroes e above it (clamped to the window)
  int passes;      // 1 when the window holds the k-th element, 5 after the fallback
};

std::vector<Window> Windows(const std::vector<float>& x, const std::vector<uint32_t>& order,
                            size_t k) {
  // key(r): the key of the element of 0-based rank r (descending); the k-th is key(k - 1).
  auto key = [&](size_t rank) { return static_cast<int32_t>(MagnitudeKey(x[order[rank]])); };
  return {
      {"hit", key(k + 500) - 1, key(k - 500), key(k - 1), 1},
      {"hit_nothing_above", key(k + 500) - 1, INT32_MAX, key(k + 20), 1},
      // With error feedback: the zero line clearly above the k-th key (the emission zeroes the
      // selected entries below it), clearly below (it restores the unselected ones above it),
      // just below it (restoring the k-th key's unselected ties), and at either end.
      {"hit_zero_line_above_kth", key(k + 500) - 1, key(k - 500), key(k - 300), 1},
      {"hit_zero_line_below_kth", key(k + 500) - 1, key(k - 500), key(k + 300), 1},
      {"hit_zero_line_just_below_kth", key(k + 500) - 1, key(k - 500), key(k - 1) - 1, 1},
      {"hit_zero_line_at_t_lo", key(k + 500) - 1, key(k - 500), INT32_MIN, 1},
      {"hit_zero_line_at_t_hi", key(k + 500) - 1, key(k - 500), INT32_MAX, 1},
      {"exactly_k_above", key(k + 500) - 1, key(k), key(k), 1},
      {"more_than_k_above", key(k + 1000) - 1, key(k + 200), key(k + 600), 1},
      {"fewer_than_k_candidates", key(k - 100), INT32_MAX, key(k - 100), 5},
      {"pool_overflows", -1, INT32_MAX, key(k), 5},
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
              internal::SelectInput{x.data(), nullptr, nullptr}, n, k, w.t_lo, w.t_hi, w.t_zero,
              idx.data(), val.data(), arena, options);
          EXPECT_EQ(r.passes, w.passes);
          ASSERT_EQ(idx, want);
          for (size_t j = 0; j < k; ++j) ASSERT_TRUE(SameBits(val[j], x[idx[j]]));
        }
      }
    }
  }
}

// u and e_old of the error-feedback test: NaN-containing u with Gaussian e, and u on a grid of
// 1/64 with e = 0, so a = u exactly and the k-th key has a few hundred ties.
struct EfData {
  const char* name;
  std::vector<float> u;
  std::vector<float> e_old;
};

std::vector<EfData> EfDataSets(size_t n) {
  std::vector<float> grid = MakeData(Dist::kGaussian, n, kSeed + 2);
  for (float& v : grid) v = std::round(v * 64.0f) / 64.0f;
  return {{"nan_u", MakeData(Dist::kNan, n, kSeed), MakeData(Dist::kGaussian, n, kSeed + 1)},
          {"tied_u", grid, std::vector<float>(n, 0.0f)}};
}

TEST(TopKWindowTest, ErrorFeedbackEveryOutcomeConserves) {
  const size_t n = 200003;
  Scratch scratch;
  for (const EfData& data : EfDataSets(n)) {
    const std::vector<float>& u = data.u;
    std::vector<float> a(n);
    for (size_t i = 0; i < n; ++i) a[i] = u[i] + data.e_old[i];
    const std::vector<uint32_t> order = testing::ReferenceOrder(a);
    for (size_t k : {n / 100, n / 10}) {
      const std::vector<uint32_t> want = testing::ReferenceTopK(order, k);
      for (const Window& w : Windows(a, order, k)) {
        for (const testing::Config& config : testing::AllConfigs()) {
          if (config.algorithm != CpuTopKAlgorithm::kAuto) continue;
          SCOPED_TRACE(std::string(data.name) + " " + w.name + " k=" + std::to_string(k) + " " +
                       testing::ConfigName(config) + " seed=" + std::to_string(kSeed));
          const ExecOptions options = testing::OptionsFor(config);
          std::vector<float> e = data.e_old;
          std::vector<uint32_t> idx(k);
          std::vector<float> val(k);
          internal::Arena arena(scratch.Get(TopKScratchBytes(n, k, options)));
          const SelectResult r = internal::TopKCpuWithWindowForTesting(
              internal::SelectInput{nullptr, u.data(), e.data()}, n, k, w.t_lo, w.t_hi, w.t_zero,
              idx.data(), val.data(), arena, options);
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
}

}  // namespace
}  // namespace sotto::kernels
