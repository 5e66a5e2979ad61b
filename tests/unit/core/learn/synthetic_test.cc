#include "sotto/core/learn/synthetic.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <ostream>
#include <vector>

namespace sotto::learn {
namespace {

// The losses and gradients of synthetic.h, written out independently in double.
double Affine(const Dataset& data, size_t i, const std::vector<double>& params) {
  double z = params[data.dim];
  for (size_t j = 0; j < data.dim; ++j) z += params[j] * static_cast<double>(data.row(i)[j]);
  return z;
}

std::vector<double> ToDouble(const std::vector<float>& v) { return {v.begin(), v.end()}; }

double LinearLoss(const Dataset& data, const std::vector<double>& params, double l2) {
  double sum = 0.0, norm2 = 0.0;
  for (size_t i = 0; i < data.num_samples; ++i) {
    const double r = Affine(data, i, params) - data.targets[i];
    sum += 0.5 * r * r;
  }
  for (size_t j = 0; j < data.dim; ++j) norm2 += params[j] * params[j];
  return sum / data.num_samples + 0.5 * l2 * norm2;
}

std::vector<double> LinearGradient(const Dataset& data, const std::vector<double>& params,
                                   double l2) {
  std::vector<double> g(data.dim + 1, 0.0);
  for (size_t i = 0; i < data.num_samples; ++i) {
    const double r = Affine(data, i, params) - data.targets[i];
    for (size_t j = 0; j < data.dim; ++j) g[j] += r * data.row(i)[j];
    g[data.dim] += r;
  }
  for (size_t j = 0; j <= data.dim; ++j) g[j] /= data.num_samples;
  for (size_t j = 0; j < data.dim; ++j) g[j] += l2 * params[j];
  return g;
}

double LogisticLoss(const Dataset& data, const std::vector<double>& params, double l2) {
  double sum = 0.0, norm2 = 0.0;
  for (size_t i = 0; i < data.num_samples; ++i) {
    const double s = 2.0 * data.labels[i] - 1.0;
    sum += std::log1p(std::exp(-s * Affine(data, i, params)));
  }
  for (size_t j = 0; j < data.dim; ++j) norm2 += params[j] * params[j];
  return sum / data.num_samples + 0.5 * l2 * norm2;
}

std::vector<double> LogisticGradient(const Dataset& data, const std::vector<double>& params,
                                     double l2) {
  std::vector<double> g(data.dim + 1, 0.0);
  for (size_t i = 0; i < data.num_samples; ++i) {
    const double s = 2.0 * data.labels[i] - 1.0;
    const double z = Affine(data, i, params);
    // d/dz log(1 + exp(-s z)) = -s / (1 + exp(s z))
    const double dz = -s / (1.0 + std::exp(s * z));
    for (size_t j = 0; j < data.dim; ++j) g[j] += dz * data.row(i)[j];
    g[data.dim] += dz;
  }
  for (size_t j = 0; j <= data.dim; ++j) g[j] /= data.num_samples;
  for (size_t j = 0; j < data.dim; ++j) g[j] += l2 * params[j];
  return g;
}

double Norm(const std::vector<double>& v) {
  double s = 0.0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

struct LinearCase {
  size_t n, dim;
  double noise, l2;
  uint64_t seed;
};

void PrintTo(const LinearCase& c, std::ostream* os) {
  *os << "n=" << c.n << " dim=" << c.dim << " noise=" << c.noise << " l2=" << c.l2
      << " seed=" << c.seed;
}

class LinearRegressionTest : public ::testing::TestWithParam<LinearCase> {};

TEST_P(LinearRegressionTest, OptimumIsStationaryAndBeatsTruth) {
  const LinearCase c = GetParam();
  const StatusOr<SyntheticProblem> p = MakeLinearRegression(c.n, c.dim, c.noise, c.l2, c.seed);
  ASSERT_TRUE(p.ok()) << p.status() << " seed " << c.seed;
  const Dataset& data = p->data;
  EXPECT_TRUE(data.Validate().ok()) << data.Validate();
  EXPECT_EQ(data.num_samples, c.n);
  EXPECT_EQ(data.dim, c.dim);
  EXPECT_EQ(data.num_classes, 0);
  ASSERT_EQ(p->true_params.size(), c.dim + 1);
  ASSERT_EQ(p->optimum.size(), c.dim + 1);

  const double grad_norm = Norm(LinearGradient(data, p->optimum, c.l2));
  EXPECT_LT(grad_norm, 1e-9) << "seed " << c.seed;
  const double loss = LinearLoss(data, p->optimum, c.l2);
  EXPECT_NEAR(p->optimum_loss, loss, 1e-12 * std::max(1.0, loss)) << "seed " << c.seed;
  const double truth_loss = LinearLoss(data, ToDouble(p->true_params), c.l2);
  EXPECT_LE(p->optimum_loss, truth_loss + 1e-12) << "seed " << c.seed;
  // The gradient at the truth is not tiny unless the problem is noiseless and unregularised,
  // so the stationarity check above can tell the two apart.
  if (c.noise > 0.0 || c.l2 > 0.0) {
    EXPECT_GT(Norm(LinearGradient(data, ToDouble(p->true_params), c.l2)), 1e-6)
        << "seed " << c.seed;
  }
}

INSTANTIATE_TEST_SUITE_P(
    Cases, LinearRegressionTest,
    ::testing::Values(LinearCase{500, 10, 0.1, 0.0, 11}, LinearCase{500, 10, 0.5, 0.01, 12},
                      LinearCase{2000, 50, 1.0, 0.1, 13}, LinearCase{5000, 3, 0.0, 0.0, 14},
                      LinearCase{1, 1, 0.1, 0.0, 15},
                      // fewer samples than parameters: the least-norm minimiser
                      LinearCase{8, 20, 0.3, 0.0, 16}, LinearCase{8, 20, 0.3, 0.05, 17},
                      // more than one 4096-row block
                      LinearCase{9000, 5, 0.2, 0.001, 18}));

TEST(LinearRegressionTest, NoiselessUnregularisedRecoversTruth) {
  constexpr uint64_t kSeed = 21;
  const StatusOr<SyntheticProblem> p = MakeLinearRegression(400, 8, 0.0, 0.0, kSeed);
  ASSERT_TRUE(p.ok()) << p.status();
  // Targets are rounded to float, so the truth is recovered to about float precision.
  for (size_t j = 0; j < p->optimum.size(); ++j) {
    EXPECT_NEAR(p->optimum[j], p->true_params[j], 1e-5) << "param " << j << " seed " << kSeed;
  }
}

TEST(LinearRegressionTest, LeastNormWhenUnderdetermined) {
  constexpr uint64_t kSeed = 22;
  const StatusOr<SyntheticProblem> p = MakeLinearRegression(5, 12, 0.1, 0.0, kSeed);
  ASSERT_TRUE(p.ok()) << p.status();
  // Every minimiser interpolates (loss 0); the least-norm one is shorter than the truth.
  EXPECT_NEAR(p->optimum_loss, 0.0, 1e-12) << "seed " << kSeed;
  EXPECT_LE(Norm(p->optimum), Norm(ToDouble(p->true_params))) << "seed " << kSeed;
}

struct LogisticCase {
  size_t n, dim;
  double l2;
  uint64_t seed;
};

void PrintTo(const LogisticCase& c, std::ostream* os) {
  *os << "n=" << c.n << " dim=" << c.dim << " l2=" << c.l2 << " seed=" << c.seed;
}

class LogisticRegressionTest : public ::testing::TestWithParam<LogisticCase> {};

TEST_P(LogisticRegressionTest, OptimumIsStationary) {
  const LogisticCase c = GetParam();
  const StatusOr<SyntheticProblem> p = MakeLogisticRegression(c.n, c.dim, c.l2, c.seed);
  ASSERT_TRUE(p.ok()) << p.status() << " seed " << c.seed;
  const Dataset& data = p->data;
  EXPECT_TRUE(data.Validate().ok()) << data.Validate();
  EXPECT_EQ(data.num_classes, 2);
  ASSERT_EQ(p->optimum.size(), c.dim + 1);
  size_t ones = 0;
  for (int32_t y : data.labels) ones += (y == 1);
  EXPECT_GT(ones, 0u) << "seed " << c.seed;
  EXPECT_LT(ones, c.n) << "seed " << c.seed;

  EXPECT_LT(Norm(LogisticGradient(data, p->optimum, c.l2)), 1e-9) << "seed " << c.seed;
  const double loss = LogisticLoss(data, p->optimum, c.l2);
  EXPECT_NEAR(p->optimum_loss, loss, 1e-12) << "seed " << c.seed;
  EXPECT_LE(p->optimum_loss, LogisticLoss(data, ToDouble(p->true_params), c.l2) + 1e-12)
      << "seed " << c.seed;
  EXPECT_GT(Norm(LogisticGradient(data, ToDouble(p->true_params), c.l2)), 1e-6)
      << "seed " << c.seed;
}

INSTANTIATE_TEST_SUITE_P(Cases, LogisticRegressionTest,
                         ::testing::Values(LogisticCase{1000, 10, 0.01, 31},
                                           LogisticCase{2000, 40, 1e-4, 32},
                                           LogisticCase{300, 5, 1.0, 33},
                                           LogisticCase{10, 30, 0.1, 34},
                                           LogisticCase{6000, 4, 1e-3, 35}));

TEST(SyntheticTest, DeterministicPerSeed) {
  constexpr uint64_t kSeed = 41;
  const auto a = MakeLinearRegression(200, 7, 0.3, 0.01, kSeed);
  const auto b = MakeLinearRegression(200, 7, 0.3, 0.01, kSeed);
  const auto c = MakeLinearRegression(200, 7, 0.3, 0.01, kSeed + 1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->data.features, b->data.features);
  EXPECT_EQ(a->data.targets, b->data.targets);
  EXPECT_EQ(a->true_params, b->true_params);
  EXPECT_EQ(a->optimum, b->optimum);
  EXPECT_NE(a->data.features, c->data.features);
  EXPECT_NE(a->true_params, c->true_params);

  const auto la = MakeLogisticRegression(200, 7, 0.01, kSeed);
  const auto lb = MakeLogisticRegression(200, 7, 0.01, kSeed);
  const auto lc = MakeLogisticRegression(200, 7, 0.01, kSeed + 1);
  ASSERT_TRUE(la.ok() && lb.ok() && lc.ok());
  EXPECT_EQ(la->data.features, lb->data.features);
  EXPECT_EQ(la->data.labels, lb->data.labels);
  EXPECT_EQ(la->optimum, lb->optimum);
  EXPECT_NE(la->data.labels, lc->data.labels);
}

TEST(SyntheticTest, LabelsFollowTheLogisticModel) {
  // With many samples, the fraction of positives among samples with z* > 2 should be near the
  // mean sigmoid there (> 0.88), and below 0.12 for z* < -2: labels are neither random nor
  // separable.
  constexpr uint64_t kSeed = 42;
  const auto p = MakeLogisticRegression(20000, 5, 0.01, kSeed);
  ASSERT_TRUE(p.ok()) << p.status();
  const std::vector<double> truth = ToDouble(p->true_params);
  size_t high = 0, high_pos = 0, low = 0, low_pos = 0;
  for (size_t i = 0; i < p->data.num_samples; ++i) {
    const double z = Affine(p->data, i, truth);
    if (z > 2.0) {
      ++high;
      high_pos += p->data.labels[i];
    } else if (z < -2.0) {
      ++low;
      low_pos += p->data.labels[i];
    }
  }
  ASSERT_GT(high, 100u);
  ASSERT_GT(low, 100u);
  EXPECT_GT(static_cast<double>(high_pos) / high, 0.85) << "seed " << kSeed;
  EXPECT_LT(high_pos, high) << "seed " << kSeed;
  EXPECT_LT(static_cast<double>(low_pos) / low, 0.15) << "seed " << kSeed;
  EXPECT_GT(low_pos, 0u) << "seed " << kSeed;
}

TEST(SyntheticTest, InvalidArguments) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(MakeLinearRegression(0, 3, 0.1, 0.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLinearRegression(10, 0, 0.1, 0.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLinearRegression(10, 3, -0.1, 0.0, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLinearRegression(10, 3, 0.1, -1.0, 1).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLinearRegression(10, 3, nan, 0.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLinearRegression(10, 3, 0.1, inf, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLogisticRegression(0, 3, 0.1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLogisticRegression(10, 0, 0.1, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLogisticRegression(10, 3, 0.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLogisticRegression(10, 3, -0.5, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLogisticRegression(10, 3, nan, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(MakeLinearRegression(10, kMaxSyntheticDim + 1, 0.1, 0.0, 1).status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(MakeLinearRegression(kMaxSyntheticValues, 2, 0.1, 0.0, 1).status().code(),
            StatusCode::kResourceExhausted);
}

}  // namespace
}  // namespace sotto::learn
