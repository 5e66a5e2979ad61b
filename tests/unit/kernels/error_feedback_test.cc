#include "sotto/kernels/error_feedback.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels_test_util.h"
#include "sotto/kernels/scratch.h"
#include "sotto/kernels/select.h"
#include "sotto/kernels/topk.h"

namespace sotto::kernels {
namespace {

using testing::AllConfigs;
using testing::Config;
using testing::ConfigName;
using testing::Dist;
using testing::DistName;
using testing::MakeData;
using testing::OptionsFor;
using testing::SameBits;

constexpr uint64_t kSeed = 0xef5eed;

enum class Kind { kTopK, kThreshold, kGaussianK, kSupport };

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kTopK:
      return "topk";
    case Kind::kThreshold:
      return "threshold";
    case Kind::kGaussianK:
      return "gaussiank";
    case Kind::kSupport:
      return "support";
  }
  return "?";
}

// Runs one EF step and checks, per coordinate and bit for bit, that
//   selected:   sent == u + e_old and e_new == 0
//   unselected: e_new == u + e_old
// and that the selection equals the plain selection on a = u + e_old.
void CheckStep(Kind kind, const std::vector<float>& u, const std::vector<float>& e_old, size_t k,
               size_t capacity, const Config& config, Scratch& scratch) {
  const size_t n = u.size();
  SCOPED_TRACE(std::string("kind=") + KindName(kind) + " n=" + std::to_string(n) + " k=" +
               std::to_string(k) + " cap=" + std::to_string(capacity) + " " + ConfigName(config));
  const ExecOptions options = OptionsFor(config);
  std::vector<float> a(n);
  for (size_t i = 0; i < n; ++i) a[i] = u[i] + e_old[i];

  std::vector<uint32_t> support;
  if (kind == Kind::kSupport) {
    support.resize(k);
    std::vector<std::byte> rs(RandomKScratchBytes(n));
    ASSERT_TRUE(RandomK(n, k, kSeed, support, rs).ok());
  }
  EfSelection sel = EfSelection::TopK(k);
  if (kind == Kind::kThreshold) sel = EfSelection::Threshold(0.75f);
  if (kind == Kind::kGaussianK) sel = EfSelection::GaussianK(k);
  if (kind == Kind::kSupport) sel = EfSelection::Support(support);

  std::vector<float> e = e_old;
  std::vector<uint32_t> idx(capacity);
  std::vector<float> val(capacity);
  auto r =
      ErrorFeedbackStep(u, e, sel, idx, val,
                        scratch.Get(ErrorFeedbackScratchBytes(n, sel, capacity, options)), options);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_LE(r->count, capacity);
  idx.resize(r->count);
  val.resize(r->count);

  std::vector<char> selected(n, 0);
  for (size_t j = 0; j < idx.size(); ++j) {
    ASSERT_LT(idx[j], n);
    if (j > 0) {
      ASSERT_LT(idx[j - 1], idx[j]);
    }
    selected[idx[j]] = 1;
    ASSERT_TRUE(SameBits(val[j], a[idx[j]])) << "sent value at " << idx[j];
  }
  for (size_t i = 0; i < n; ++i) {
    if (selected[i]) {
      ASSERT_TRUE(SameBits(e[i], 0.0f)) << "e not zeroed at " << i;
    } else {
      ASSERT_TRUE(SameBits(e[i], a[i])) << "e != u + e_old at " << i;
    }
  }

  // The same selection as the stand-alone kernel on a.
  std::vector<uint32_t> want(capacity);
  switch (kind) {
    case Kind::kTopK: {
      auto w = TopK(a, k, want, {}, scratch.Get(TopKScratchBytes(n, k, options)), options);
      ASSERT_TRUE(w.ok());
      want.resize(w->count);
      break;
    }
    case Kind::kThreshold: {
      auto w = ThresholdSelect(a, 0.75f, want, {},
                               scratch.Get(ThresholdScratchBytes(n, capacity, options)), options);
      ASSERT_TRUE(w.ok());
      EXPECT_EQ(r->num_above, w->num_above);
      want.resize(w->count);
      break;
    }
    case Kind::kGaussianK: {
      auto w = GaussianK(a, k, want, {}, scratch.Get(GaussianKScratchBytes(n, capacity, options)),
                         options);
      ASSERT_TRUE(w.ok());
      EXPECT_TRUE(SameBits(r->threshold, w->threshold));
      want.resize(w->count);
      break;
    }
    case Kind::kSupport:
      want = support;
      break;
  }
  EXPECT_EQ(idx, want);
}

TEST(ErrorFeedbackTest, ConservationEveryKindAndPath) {
  Scratch scratch;
  for (size_t n : {0, 1, 31, 32, 33, 5000, 200003}) {
    for (Dist dist : {Dist::kGaussian, Dist::kNan, Dist::kTies}) {
      SCOPED_TRACE(std::string("dist=") + DistName(dist) + " seed=" + std::to_string(kSeed));
      const std::vector<float> u = MakeData(dist, n, kSeed + n);
      std::vector<float> e_old = MakeData(Dist::kGaussian, n, kSeed * 3 + n);
      for (float& v : e_old) v *= 0.5f;
      size_t case_number = static_cast<size_t>(dist) * 17 + n;
      for (Kind kind : {Kind::kTopK, Kind::kThreshold, Kind::kGaussianK, Kind::kSupport}) {
        for (size_t k : {size_t{0}, n / 100, n / 10, n}) {
          if (kind == Kind::kThreshold && k != n / 10) continue;
          const size_t capacity = kind == Kind::kThreshold ? n : std::max<size_t>(k, 4 * k / 3 + 1);
          // Small inputs sweep every configuration, large ones rotate through them.
          const std::vector<Config> configs =
              n <= 5000 ? AllConfigs() : testing::RotatingConfigs(case_number++, 4);
          for (const Config& config : configs) {
            if (config.algorithm == CpuTopKAlgorithm::kSmall && n > 10000) continue;
            CheckStep(kind, u, e_old, k, std::min(capacity, n), config, scratch);
          }
        }
      }
    }
  }
}

TEST(ErrorFeedbackTest, ConservationWhenThePredictionMisses) {
  // Clustered u defeats the sampled prediction (see topk_test.cc): the fused pass has then
  // already zeroed coordinates that must be restored.
  Scratch scratch;
  const size_t n = (size_t{1} << 17) + 3;
  for (uint64_t trial = 0; trial < 8; ++trial) {
    const uint64_t seed = DeriveSeed(kSeed, 2000 + trial);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    const std::vector<float> u = testing::MakeClustered(n, seed);
    const std::vector<float> e_old = MakeData(Dist::kGaussian, n, seed + 1);
    for (size_t k : {n / 100, n / 20, n / 14}) {
      const Config config{static_cast<int>(trial % 2) + 1, testing::SimdLevelAt(trial),
                          CpuTopKAlgorithm::kSampled};
      CheckStep(Kind::kTopK, u, e_old, k, k, config, scratch);
    }
  }
}

TEST(ErrorFeedbackTest, ThresholdOverCapacityFallsBackToTopCap) {
  Scratch scratch;
  const size_t n = 150001;
  const std::vector<float> u = MakeData(Dist::kGaussian, n, kSeed);
  const std::vector<float> e_old(n, 0.25f);
  for (int threads : {1, 2}) {
    for (const Config& config : testing::EverySimd(threads, CpuTopKAlgorithm::kAuto)) {
      for (size_t cap : {size_t{0}, size_t{10}, size_t{5000}}) {
        CheckStep(Kind::kThreshold, u, e_old, 0, cap, config, scratch);
      }
    }
  }
}

TEST(ErrorFeedbackTest, RepeatedStepsConserveMass) {
  // Over many rounds with a fixed u, sum(sent) + e_final == rounds * u + e_0 per coordinate,
  // up to float rounding of the running sums (checked loosely), and each step exactly.
  Scratch scratch;
  const size_t n = 70000;
  const std::vector<float> u = MakeData(Dist::kLaplace, n, kSeed);
  std::vector<float> e(n, 0.0f);
  std::vector<double> sent(n, 0.0);
  const ExecOptions options;
  for (int round = 0; round < 20; ++round) {
    std::vector<uint32_t> idx(700);
    std::vector<float> val(700);
    const EfSelection sel = EfSelection::TopK(700);
    auto r = ErrorFeedbackStep(u, e, sel, idx, val,
                               scratch.Get(ErrorFeedbackScratchBytes(n, sel, 700, options)));
    ASSERT_TRUE(r.ok()) << r.status();
    for (size_t j = 0; j < r->count; ++j) sent[idx[j]] += val[j];
  }
  for (size_t i = 0; i < n; ++i) {
    const double want = 20.0 * u[i];
    ASSERT_NEAR(sent[i] + e[i], want, 1e-4 * (std::fabs(want) + 1.0)) << i;
  }
}

TEST(ErrorFeedbackTest, BadArgumentsLeaveStateUntouched) {
  Scratch scratch;
  const std::vector<float> u(100, 1.0f);
  std::vector<float> e(100, 2.0f);
  std::vector<float> short_e(99, 2.0f);
  std::vector<uint32_t> idx(100);
  std::vector<float> val(100);
  auto bytes = scratch.Get(ErrorFeedbackScratchBytes(100, EfSelection::TopK(100), 100));
  auto code = [&](const EfSelection& s, std::span<float> ee) {
    return ErrorFeedbackStep(u, ee, s, idx, val, bytes).status().code();
  };
  EXPECT_EQ(code(EfSelection::TopK(5), short_e), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EfSelection::TopK(101), e), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EfSelection::GaussianK(101), e), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EfSelection::Threshold(std::nanf("")), e), StatusCode::kInvalidArgument);
  const std::vector<uint32_t> unsorted = {3, 2};
  const std::vector<uint32_t> repeated = {2, 2};
  const std::vector<uint32_t> outside = {5, 100};
  EXPECT_EQ(code(EfSelection::Support(unsorted), e), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EfSelection::Support(repeated), e), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(EfSelection::Support(outside), e), StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorFeedbackStep(u, e, EfSelection::TopK(50), std::span<uint32_t>(idx.data(), 10), val,
                              bytes)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ErrorFeedbackStep(u, e, EfSelection::TopK(50), idx, val, std::span<std::byte>())
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  for (float v : e) ASSERT_EQ(v, 2.0f);
}

}  // namespace
}  // namespace sotto::kernels
