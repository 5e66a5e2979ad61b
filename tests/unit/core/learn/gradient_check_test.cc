// Gradient checks for every model: the analytic gradient of LossAndGradient() against central
// finite differences of the loss that the same call returns, on every coordinate of a small
// random problem; plus the loss against an independent double-precision reference written from
// the documented parameter layouts.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <ostream>
#include <string>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/core/learn/dataset.h"
#include "sotto/core/learn/model.h"

namespace sotto::learn {
namespace {

constexpr uint64_t kSeed = 20261124;
constexpr size_t kDim = 4;
constexpr size_t kSamples = 6;
constexpr int kClasses = 3;

// Central-difference step. Float losses carry ~1e-7 absolute noise, so the finite difference
// carries at most ~1e-7 / (2 h) = 2.5e-5 (observed: < 1e-5); the truncation error
// h^2/6 * f''' is ~1e-6. Both sit well below the tolerance, which in turn sits well below the
// gradient coordinates of these random problems (~1e-3 to 1), so a sign error or a missing term
// cannot pass: the Checker* tests below show it.
constexpr float kStep = 2e-3f;
constexpr double kAbsTolerance = 2e-4;
constexpr double kRelTolerance = 2e-3;

// Hidden pre-activations must stay this far from the ReLU kink; a step moves any of them by at
// most kStep * max(1, |activation|) * max(1, |weight|), which the test checks is below it.
constexpr double kKinkMargin = 0.05;

struct GradientCase {
  std::string name;
  ModelSpec spec;
};

void PrintTo(const GradientCase& c, std::ostream* os) { *os << c.name; }

ModelSpec Spec(ModelKind kind, int classes, std::vector<size_t> hidden, double l2) {
  ModelSpec spec;
  spec.kind = kind;
  spec.input_dim = kDim;
  spec.num_classes = classes;
  spec.hidden = std::move(hidden);
  spec.l2 = l2;
  return spec;
}

std::vector<GradientCase> AllCases() {
  std::vector<GradientCase> cases;
  for (double l2 : {0.0, 0.3}) {
    const std::string suffix = l2 == 0.0 ? "NoL2" : "L2";
    cases.push_back({"Linear" + suffix, Spec(ModelKind::kLinearRegression, 0, {}, l2)});
    cases.push_back({"Logistic" + suffix, Spec(ModelKind::kLogisticRegression, 2, {}, l2)});
    cases.push_back({"Softmax" + suffix, Spec(ModelKind::kSoftmaxRegression, kClasses, {}, l2)});
    cases.push_back({"Mlp1Hidden" + suffix, Spec(ModelKind::kMlp, kClasses, {5}, l2)});
    cases.push_back({"Mlp2Hidden" + suffix, Spec(ModelKind::kMlp, kClasses, {5, 4}, l2)});
  }
  return cases;
}

// Layer widths d_0..d_L of a softmax or MLP spec (model.h / mlp_model.h layout).
std::vector<size_t> Widths(const ModelSpec& spec) {
  std::vector<size_t> widths = {spec.input_dim};
  widths.insert(widths.end(), spec.hidden.begin(), spec.hidden.end());
  widths.push_back(static_cast<size_t>(spec.num_classes));
  return widths;
}

struct Reference {
  double loss = 0.0;         // mean data loss, no regulariser
  double regulariser = 0.0;  // (l2/2) * sum of squared weights
  double accuracy = 0.0;
  double min_abs_hidden = INFINITY;  // smallest |hidden pre-activation|
  double max_abs_hidden = 0.0;       // largest hidden activation
  bool all_units_alive = true;       // every hidden unit is active on some sample
};

// The loss in double precision, from the documented layouts alone.
Reference ReferenceLoss(const ModelSpec& spec, const std::vector<float>& p, const Dataset& data) {
  Reference ref;
  const size_t n = data.num_samples;
  const size_t d = data.dim;
  size_t correct = 0;
  if (spec.kind == ModelKind::kLinearRegression || spec.kind == ModelKind::kLogisticRegression) {
    for (size_t j = 0; j < d; ++j) {
      ref.regulariser += 0.5 * spec.l2 * p[j] * p[j];
    }
    for (size_t i = 0; i < n; ++i) {
      double z = p[d];
      for (size_t j = 0; j < d; ++j) {
        z += static_cast<double>(p[j]) * data.row(i)[j];
      }
      if (spec.kind == ModelKind::kLinearRegression) {
        ref.loss += 0.5 * (z - data.targets[i]) * (z - data.targets[i]);
      } else {
        const double s = 2.0 * data.labels[i] - 1.0;
        ref.loss += std::log1p(std::exp(-s * z));
        correct += (z > 0) == (data.labels[i] == 1) ? 1 : 0;
      }
    }
  } else {
    const std::vector<size_t> widths = Widths(spec);
    std::vector<std::vector<bool>> alive(widths.size());
    for (size_t l = 0; l < widths.size(); ++l) {
      alive[l].assign(widths[l], false);
    }
    for (size_t i = 0; i < n; ++i) {
      std::vector<double> a(data.row(i), data.row(i) + d);
      size_t offset = 0;
      for (size_t l = 0; l + 1 < widths.size(); ++l) {
        const size_t in = widths[l];
        const size_t out = widths[l + 1];
        std::vector<double> z(out);
        for (size_t o = 0; o < out; ++o) {
          z[o] = p[offset + out * in + o];
          for (size_t k = 0; k < in; ++k) {
            z[o] += static_cast<double>(p[offset + o * in + k]) * a[k];
          }
        }
        if (i == 0) {
          for (size_t k = 0; k < out * in; ++k) {
            ref.regulariser += 0.5 * spec.l2 * p[offset + k] * p[offset + k];
          }
        }
        offset += out * in + out;
        const bool hidden = l + 2 < widths.size();
        if (hidden) {
          for (size_t o = 0; o < out; ++o) {
            ref.min_abs_hidden = std::min(ref.min_abs_hidden, std::abs(z[o]));
            z[o] = std::max(z[o], 0.0);
            ref.max_abs_hidden = std::max(ref.max_abs_hidden, z[o]);
            if (z[o] > 0) {
              alive[l + 1][o] = true;
            }
          }
        }
        a = std::move(z);
      }
      const double max_logit = *std::max_element(a.begin(), a.end());
      double sum = 0.0;
      for (double v : a) {
        sum += std::exp(v - max_logit);
      }
      ref.loss += max_logit + std::log(sum) - a[static_cast<size_t>(data.labels[i])];
      const size_t argmax = static_cast<size_t>(std::max_element(a.begin(), a.end()) - a.begin());
      correct += argmax == static_cast<size_t>(data.labels[i]) ? 1 : 0;
    }
    for (size_t l = 1; l + 1 < widths.size(); ++l) {
      for (bool unit_alive : alive[l]) {
        ref.all_units_alive = ref.all_units_alive && unit_alive;
      }
    }
  }
  ref.loss /= static_cast<double>(n);
  ref.accuracy = static_cast<double>(correct) / static_cast<double>(n);
  return ref;
}

struct Problem {
  Dataset data;
  std::vector<float> params;
};

// A random problem for `spec`: features U(-1, 1), random labels or N(0, 1) targets, and
// parameters U(-1, 1) everywhere (biases included, so that their gradients are exercised).
// For MLPs it redraws until every hidden pre-activation keeps kKinkMargin from the kink and
// every hidden unit is active on some sample (a dead unit would leave its weights untested).
Problem MakeProblem(const Model& model, const ModelSpec& spec, uint64_t seed) {
  for (uint64_t attempt = 0; attempt < 1000; ++attempt) {
    Prng rng(DeriveSeed(seed, attempt));
    Problem problem;
    Dataset& data = problem.data;
    data.num_samples = kSamples;
    data.dim = kDim;
    data.num_classes = model.NumClasses();
    data.features.resize(kSamples * kDim);
    for (float& f : data.features) {
      f = static_cast<float>(2.0 * rng.Uniform() - 1.0);
    }
    for (size_t i = 0; i < kSamples; ++i) {
      if (data.is_classification()) {
        data.labels.push_back(static_cast<int32_t>(rng.UniformInt(data.num_classes)));
      } else {
        data.targets.push_back(static_cast<float>(rng.Normal()));
      }
    }
    problem.params.resize(model.NumParameters());
    for (float& p : problem.params) {
      p = static_cast<float>(2.0 * rng.Uniform() - 1.0);
    }
    if (spec.kind != ModelKind::kMlp) {
      return problem;
    }
    const Reference ref = ReferenceLoss(spec, problem.params, data);
    const double max_shift = kStep * std::max(1.0, ref.max_abs_hidden);  // |weights| <= 1
    if (ref.min_abs_hidden > kKinkMargin && max_shift < kKinkMargin / 2 && ref.all_units_alive) {
      return problem;
    }
  }
  ADD_FAILURE() << "no kink-free problem found, seed " << seed;
  return {};
}

struct CheckReport {
  size_t mismatches = 0;
  size_t worst = 0;
  double worst_excess = -INFINITY;  // |fd - analytic| - tolerance at the worst coordinate
  double worst_fd = 0.0;
  double worst_analytic = 0.0;
};

// Compares the analytic gradient with central differences of the model's own loss on every
// coordinate.
CheckReport CheckGradient(Model& model, const std::vector<float>& params, const Batch& batch) {
  std::vector<float> analytic(params.size());
  std::vector<float> scratch(params.size());
  model.LossAndGradient(params, batch, analytic);
  CheckReport report;
  std::vector<float> probe = params;
  for (size_t i = 0; i < params.size(); ++i) {
    probe[i] = params[i] + kStep;
    const float up = probe[i];
    const double loss_up = model.LossAndGradient(probe, batch, scratch);
    probe[i] = params[i] - kStep;
    const float down = probe[i];
    const double loss_down = model.LossAndGradient(probe, batch, scratch);
    probe[i] = params[i];
    // The float steps are not exactly +-kStep; divide by the step actually taken.
    const double fd = (loss_up - loss_down) / (static_cast<double>(up) - down);
    const double tolerance =
        kAbsTolerance + kRelTolerance * std::max(std::abs(fd), std::abs(double{analytic[i]}));
    const double excess = std::abs(fd - analytic[i]) - tolerance;
    if (excess > 0) {
      ++report.mismatches;
    }
    if (excess > report.worst_excess) {
      report.worst_excess = excess;
      report.worst = i;
      report.worst_fd = fd;
      report.worst_analytic = analytic[i];
    }
  }
  return report;
}

std::string Describe(const CheckReport& report, uint64_t seed) {
  return "seed " + std::to_string(seed) + ": " + std::to_string(report.mismatches) +
         " mismatching coordinates; worst is #" + std::to_string(report.worst) +
         " (finite difference " + std::to_string(report.worst_fd) + ", analytic " +
         std::to_string(report.worst_analytic) + ")";
}

// Wraps a model and corrupts its gradient, to show the checker catches such bugs.
class CorruptedGradientModel final : public Model {
 public:
  enum class Corruption { kFlipLastBias, kDropFirstWeight };

  CorruptedGradientModel(std::unique_ptr<Model> inner, Corruption corruption)
      : inner_(std::move(inner)), corruption_(corruption) {}

  std::string Name() const override { return "corrupted " + inner_->Name(); }
  size_t NumParameters() const override { return inner_->NumParameters(); }
  size_t InputDim() const override { return inner_->InputDim(); }
  int NumClasses() const override { return inner_->NumClasses(); }
  void Initialize(uint64_t seed, std::span<float> params) const override {
    inner_->Initialize(seed, params);
  }
  double LossAndGradient(std::span<const float> params, const Batch& batch,
                         std::span<float> grad) override {
    const double loss = inner_->LossAndGradient(params, batch, grad);
    if (corruption_ == Corruption::kFlipLastBias) {
      grad.back() = -grad.back();  // the last parameter is a bias in every layout
    } else {
      grad.front() = 0.0f;  // the first parameter is a weight in every layout
    }
    return loss;
  }
  EvalResult Evaluate(std::span<const float> params, const Batch& batch) override {
    return inner_->Evaluate(params, batch);
  }
  std::unique_ptr<Model> Clone() const override {
    return std::make_unique<CorruptedGradientModel>(inner_->Clone(), corruption_);
  }

 private:
  std::unique_ptr<Model> inner_;
  Corruption corruption_;
};

class GradientCheckTest : public ::testing::TestWithParam<GradientCase> {
 protected:
  void SetUp() override {
    auto model = MakeModel(GetParam().spec);
    ASSERT_TRUE(model.ok()) << model.status();
    model_ = std::move(model).value();
    problem_ = MakeProblem(*model_, GetParam().spec, kSeed);
    ASSERT_EQ(problem_.params.size(), model_->NumParameters());
  }

  std::unique_ptr<Model> model_;
  Problem problem_;
};

TEST_P(GradientCheckTest, AnalyticMatchesFiniteDifferencesOnEveryCoordinate) {
  const CheckReport report = CheckGradient(*model_, problem_.params, WholeBatch(problem_.data));
  EXPECT_EQ(report.mismatches, 0u) << Describe(report, kSeed);
}

TEST_P(GradientCheckTest, CheckerCatchesAFlippedBiasGradient) {
  CorruptedGradientModel corrupted(model_->Clone(),
                                   CorruptedGradientModel::Corruption::kFlipLastBias);
  const CheckReport report = CheckGradient(corrupted, problem_.params, WholeBatch(problem_.data));
  EXPECT_GE(report.mismatches, 1u) << Describe(report, kSeed);
  EXPECT_EQ(report.worst, problem_.params.size() - 1) << Describe(report, kSeed);
}

TEST_P(GradientCheckTest, CheckerCatchesAMissingWeightGradient) {
  CorruptedGradientModel corrupted(model_->Clone(),
                                   CorruptedGradientModel::Corruption::kDropFirstWeight);
  const CheckReport report = CheckGradient(corrupted, problem_.params, WholeBatch(problem_.data));
  EXPECT_GE(report.mismatches, 1u) << Describe(report, kSeed);
  EXPECT_EQ(report.worst, 0u) << Describe(report, kSeed);
}

TEST_P(GradientCheckTest, LossMatchesDoublePrecisionReference) {
  const Reference ref = ReferenceLoss(GetParam().spec, problem_.params, problem_.data);
  std::vector<float> grad(model_->NumParameters());
  const double loss = model_->LossAndGradient(problem_.params, WholeBatch(problem_.data), grad);
  EXPECT_NEAR(loss, ref.loss + ref.regulariser, 1e-5 * (1.0 + ref.loss)) << "seed " << kSeed;

  const EvalResult eval = model_->Evaluate(problem_.params, WholeBatch(problem_.data));
  EXPECT_NEAR(eval.loss, ref.loss, 1e-5 * (1.0 + ref.loss)) << "seed " << kSeed;
  EXPECT_DOUBLE_EQ(eval.accuracy, ref.accuracy) << "seed " << kSeed;
  EXPECT_EQ(eval.samples, kSamples);
}

TEST_P(GradientCheckTest, GradientOfSubBatchIsItsOwnMean) {
  // Rows [2, 5) as a batch view must give the same gradient as a dataset of just those rows.
  const std::vector<size_t> rows = {2, 3, 4};
  const Dataset subset = problem_.data.Subset(rows);
  std::vector<float> from_view(model_->NumParameters());
  std::vector<float> from_subset(model_->NumParameters());
  const double loss_view =
      model_->LossAndGradient(problem_.params, BatchOf(problem_.data, 2, 3), from_view);
  const double loss_subset =
      model_->LossAndGradient(problem_.params, WholeBatch(subset), from_subset);
  EXPECT_DOUBLE_EQ(loss_view, loss_subset);
  EXPECT_EQ(from_view, from_subset);
}

INSTANTIATE_TEST_SUITE_P(AllModels, GradientCheckTest, ::testing::ValuesIn(AllCases()),
                         [](const ::testing::TestParamInfo<GradientCase>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace sotto::learn
