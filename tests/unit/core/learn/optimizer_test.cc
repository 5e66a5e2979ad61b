#include "sotto/core/learn/optimizer.h"

#include <gtest/gtest.h>

#include <Eigen/Dense>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/core/learn/dataset.h"
#include "sotto/core/learn/model.h"

namespace sotto::learn {
namespace {

constexpr uint64_t kSeed = 20261126;

std::unique_ptr<Model> Make(ModelKind kind, size_t dim, int classes,
                            std::vector<size_t> hidden = {}, double l2 = 0.0) {
  ModelSpec spec;
  spec.kind = kind;
  spec.input_dim = dim;
  spec.num_classes = classes;
  spec.hidden = std::move(hidden);
  spec.l2 = l2;
  auto model = MakeModel(spec);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(model).value() : nullptr;
}

// y = w.x + b + noise with x ~ N(0, 1).
Dataset LeastSquaresProblem(size_t n, size_t dim, uint64_t seed) {
  Prng rng(seed);
  Dataset data;
  data.num_samples = n;
  data.dim = dim;
  std::vector<double> w(dim);
  for (double& v : w) {
    v = rng.Normal();
  }
  for (size_t i = 0; i < n; ++i) {
    double y = 0.7;
    for (size_t j = 0; j < dim; ++j) {
      const float x = static_cast<float>(rng.Normal());
      data.features.push_back(x);
      y += w[j] * x;
    }
    data.targets.push_back(static_cast<float>(y + 0.3 * rng.Normal()));
  }
  EXPECT_TRUE(data.Validate().ok());
  return data;
}

// `classes` Gaussian blobs (sd 0.5) around +-3 on distinct axes: linearly separable in practice.
Dataset BlobsProblem(size_t n, size_t dim, int classes, uint64_t seed) {
  Prng rng(seed);
  Dataset data;
  data.num_samples = n;
  data.dim = dim;
  data.num_classes = classes;
  for (size_t i = 0; i < n; ++i) {
    const int label = static_cast<int>(rng.UniformInt(classes));
    for (size_t j = 0; j < dim; ++j) {
      double center = 0.0;
      if (j == static_cast<size_t>(label / 2)) {
        center = label % 2 == 0 ? 3.0 : -3.0;
      }
      data.features.push_back(static_cast<float>(center + 0.5 * rng.Normal()));
    }
    data.labels.push_back(label);
  }
  EXPECT_TRUE(data.Validate().ok());
  return data;
}

// XOR of the signs of two coordinates: not linearly separable, easy for a small MLP.
Dataset XorProblem(size_t n, uint64_t seed) {
  Prng rng(seed);
  Dataset data;
  data.num_samples = n;
  data.dim = 2;
  data.num_classes = 2;
  for (size_t i = 0; i < n; ++i) {
    const double x0 = 2.0 * rng.Uniform() - 1.0;
    const double x1 = 2.0 * rng.Uniform() - 1.0;
    data.features.push_back(static_cast<float>(x0));
    data.features.push_back(static_cast<float>(x1));
    data.labels.push_back((x0 > 0) != (x1 > 0) ? 1 : 0);
  }
  return data;
}

// --- ValidateSgdOptions ---

struct BadOptions {
  std::string name;
  SgdOptions options;
  std::string field;
};

void PrintTo(const BadOptions& c, std::ostream* os) { *os << c.name; }

SgdOptions With(void (*edit)(SgdOptions&)) {
  SgdOptions options;
  edit(options);
  return options;
}

class ValidateSgdOptionsTest : public ::testing::TestWithParam<BadOptions> {};

TEST_P(ValidateSgdOptionsTest, RejectsWithInvalidArgumentNamingTheField) {
  const Status status = ValidateSgdOptions(GetParam().options);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find(GetParam().field), std::string_view::npos) << status;
}

INSTANTIATE_TEST_SUITE_P(
    BadOptions, ValidateSgdOptionsTest,
    ::testing::Values(
        BadOptions{"ZeroRate", With([](SgdOptions& o) { o.learning_rate = 0; }), "learning_rate"},
        BadOptions{"NegativeRate", With([](SgdOptions& o) { o.learning_rate = -1; }),
                   "learning_rate"},
        BadOptions{"NanRate", With([](SgdOptions& o) {
                     o.learning_rate = std::numeric_limits<double>::quiet_NaN();
                   }),
                   "learning_rate"},
        BadOptions{"ZeroBatch", With([](SgdOptions& o) { o.batch_size = 0; }), "batch_size"},
        BadOptions{"MomentumOne", With([](SgdOptions& o) { o.momentum = 1.0; }), "momentum"},
        BadOptions{"NegativeMomentum", With([](SgdOptions& o) { o.momentum = -0.1; }), "momentum"},
        BadOptions{"NegativeWeightDecay", With([](SgdOptions& o) { o.weight_decay = -1e-4; }),
                   "weight_decay"},
        BadOptions{"NegativeEpochs", With([](SgdOptions& o) { o.epochs = -1; }), "epochs"},
        BadOptions{"InfiniteEpochs",
                   With([](SgdOptions& o) { o.epochs = std::numeric_limits<double>::infinity(); }),
                   "epochs"},
        BadOptions{"AbsurdEpochs", With([](SgdOptions& o) { o.epochs = 1e30; }), "epochs"}),
    [](const ::testing::TestParamInfo<BadOptions>& info) { return info.param.name; });

TEST(ValidateSgdOptionsTest, AcceptsDefaultsAndEdges) {
  EXPECT_TRUE(ValidateSgdOptions(SgdOptions{}).ok());
  SgdOptions options;
  options.momentum = 0.99;
  options.epochs = 0.0;
  options.weight_decay = 0.0;
  options.batch_size = 1;
  EXPECT_TRUE(ValidateSgdOptions(options).ok());
}

// --- Sgd::Train errors ---

TEST(SgdTest, EmptyDatasetIsFailedPrecondition) {
  auto model = Make(ModelKind::kLinearRegression, 3, 0);
  Sgd sgd(model.get(), SgdOptions{});
  std::vector<float> params(model->NumParameters());
  Dataset empty;
  empty.dim = 3;
  Prng rng(kSeed);
  auto stats = sgd.Train(params, empty, rng);
  ASSERT_FALSE(stats.ok());
  EXPECT_EQ(stats.status().code(), StatusCode::kFailedPrecondition) << stats.status();
}

TEST(SgdTest, IncompatibleDataIsInvalidArgument) {
  auto model = Make(ModelKind::kSoftmaxRegression, 3, 2);
  Sgd sgd(model.get(), SgdOptions{});
  std::vector<float> params(model->NumParameters());
  Prng rng(kSeed);
  auto wrong_dim = sgd.Train(params, BlobsProblem(10, 4, 2, kSeed), rng);
  EXPECT_EQ(wrong_dim.status().code(), StatusCode::kInvalidArgument) << wrong_dim.status();
  auto regression = sgd.Train(params, LeastSquaresProblem(10, 3, kSeed), rng);
  EXPECT_EQ(regression.status().code(), StatusCode::kInvalidArgument) << regression.status();
  auto too_many_classes = sgd.Train(params, BlobsProblem(10, 3, 4, kSeed), rng);
  EXPECT_EQ(too_many_classes.status().code(), StatusCode::kInvalidArgument);
}

TEST(SgdTest, InvalidOptionsOrParamsAreInvalidArgument) {
  auto model = Make(ModelKind::kLinearRegression, 3, 0);
  const Dataset data = LeastSquaresProblem(10, 3, kSeed);
  Prng rng(kSeed);
  SgdOptions options;
  options.momentum = 1.5;
  Sgd bad_options(model.get(), options);
  std::vector<float> params(model->NumParameters());
  auto stats = bad_options.Train(params, data, rng);
  EXPECT_EQ(stats.status().code(), StatusCode::kInvalidArgument) << stats.status();

  Sgd sgd(model.get(), SgdOptions{});
  std::vector<float> short_params(model->NumParameters() - 1);
  auto short_stats = sgd.Train(short_params, data, rng);
  EXPECT_EQ(short_stats.status().code(), StatusCode::kInvalidArgument) << short_stats.status();
}

// --- Sgd::Train step counts ---

struct EpochCase {
  size_t n;
  size_t batch;
  double epochs;
  size_t steps;
  size_t samples;
};

void PrintTo(const EpochCase& c, std::ostream* os) {
  *os << "n=" << c.n << " batch=" << c.batch << " epochs=" << c.epochs;
}

class SgdEpochTest : public ::testing::TestWithParam<EpochCase> {};

TEST_P(SgdEpochTest, StepsAreCeilOfEpochsTimesSamplesOverBatch) {
  const EpochCase& c = GetParam();
  auto model = Make(ModelKind::kLinearRegression, 2, 0);
  SgdOptions options;
  options.batch_size = c.batch;
  options.epochs = c.epochs;
  options.learning_rate = 0.01;
  Sgd sgd(model.get(), options);
  std::vector<float> params(model->NumParameters());
  Prng rng(kSeed);
  auto stats = sgd.Train(params, LeastSquaresProblem(c.n, 2, kSeed), rng);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->steps, c.steps);
  EXPECT_EQ(stats->samples, c.samples);
  if (c.steps > 0) {
    EXPECT_GT(stats->mean_loss, 0.0);
  }
}

INSTANTIATE_TEST_SUITE_P(Epochs, SgdEpochTest,
                         ::testing::Values(EpochCase{100, 32, 1.0, 4, 100},
                                           EpochCase{100, 32, 0.5, 2, 50},
                                           EpochCase{100, 32, 2.5, 8, 250},
                                           EpochCase{100, 25, 2.0, 8, 200},
                                           EpochCase{100, 32, 0.0, 0, 0},
                                           EpochCase{10, 4, 0.3, 1, 3},    // 0.3 * 10 is not 3
                                           EpochCase{20, 64, 3.0, 3, 60},  // batch capped at n
                                           EpochCase{1, 32, 5.0, 5, 5}));

// --- Sgd::Train update rule ---

TEST(SgdTest, FullBatchStepsFollowTheHeavyBallRule) {
  // With the batch equal to the dataset, every step sees the same samples (in shuffled order),
  // so the trajectory can be replayed by hand.
  auto model = Make(ModelKind::kLinearRegression, 3, 0, {}, /*l2=*/0.05);
  const Dataset data = LeastSquaresProblem(8, 3, kSeed);
  SgdOptions options;
  options.learning_rate = 0.1;
  options.momentum = 0.9;
  options.weight_decay = 0.01;
  options.batch_size = 8;
  options.epochs = 3;
  std::vector<float> params = {0.1f, -0.2f, 0.3f, 0.05f};
  std::vector<float> expected = params;

  Sgd sgd(model.get(), options);
  Prng rng(kSeed);
  auto stats = sgd.Train(params, data, rng);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->steps, 3u);

  auto replay = model->Clone();
  std::vector<float> grad(expected.size()), velocity(expected.size(), 0.0f);
  for (int step = 0; step < 3; ++step) {
    replay->LossAndGradient(expected, WholeBatch(data), grad);
    for (size_t j = 0; j < expected.size(); ++j) {
      velocity[j] = 0.9f * velocity[j] + grad[j] + 0.01f * expected[j];
      expected[j] -= 0.1f * velocity[j];
    }
  }
  for (size_t j = 0; j < expected.size(); ++j) {
    EXPECT_NEAR(params[j], expected[j], 1e-5) << "coordinate " << j << ", seed " << kSeed;
  }
}

TEST(SgdTest, KeepingMomentumAcrossCallsContinuesTheTrajectory) {
  auto model = Make(ModelKind::kLinearRegression, 3, 0);
  const Dataset data = LeastSquaresProblem(8, 3, kSeed);
  SgdOptions options;
  options.learning_rate = 0.1;
  options.momentum = 0.9;
  options.batch_size = 8;  // full batch: the order does not matter
  options.epochs = 1;

  options.reset_momentum = false;
  Sgd keep(model.get(), options);
  options.reset_momentum = true;
  Sgd reset(model.get(), options);
  options.epochs = 2;
  Sgd both(model.get(), options);

  Prng rng(kSeed);
  std::vector<float> kept(model->NumParameters()), was_reset(kept.size()), together(kept.size());
  for (int call = 0; call < 2; ++call) {
    ASSERT_TRUE(keep.Train(kept, data, rng).ok());
    ASSERT_TRUE(reset.Train(was_reset, data, rng).ok());
  }
  ASSERT_TRUE(both.Train(together, data, rng).ok());
  double reset_gap = 0.0;
  for (size_t j = 0; j < kept.size(); ++j) {
    EXPECT_NEAR(kept[j], together[j], 1e-6) << "coordinate " << j;
    reset_gap = std::max(reset_gap, std::abs(double{was_reset[j]} - together[j]));
  }
  EXPECT_GT(reset_gap, 1e-3) << "resetting momentum should change the second step";
}

// --- Sgd::Train outcomes ---

TEST(SgdTest, MomentumSgdSeparatesSoftmaxBlobs) {
  auto model = Make(ModelKind::kSoftmaxRegression, 6, 4, {}, /*l2=*/1e-4);
  const Dataset train = BlobsProblem(400, 6, 4, kSeed);
  const Dataset test = BlobsProblem(400, 6, 4, kSeed + 1);
  std::vector<float> params(model->NumParameters());
  model->Initialize(kSeed, params);
  const EvalResult before = EvaluateDataset(*model, params, test);

  SgdOptions options;
  options.learning_rate = 0.05;
  options.momentum = 0.9;
  options.batch_size = 16;
  options.epochs = 5;
  Sgd sgd(model.get(), options);
  Prng rng(kSeed);
  auto stats = sgd.Train(params, train, rng);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->steps, 125u);

  const EvalResult after = EvaluateDataset(*model, params, test);
  EXPECT_GE(after.accuracy, 0.99) << "seed " << kSeed;
  EXPECT_LT(after.loss, 0.1 * before.loss) << "seed " << kSeed;
}

TEST(SgdTest, MlpLearnsXor) {
  auto model = Make(ModelKind::kMlp, 2, 2, {16});
  const Dataset train = XorProblem(1000, kSeed);
  const Dataset test = XorProblem(500, kSeed + 1);
  std::vector<float> params(model->NumParameters());
  model->Initialize(kSeed, params);
  SgdOptions options;
  options.learning_rate = 0.1;
  options.momentum = 0.9;
  options.batch_size = 32;
  options.epochs = 30;
  Sgd sgd(model.get(), options);
  Prng rng(kSeed);
  ASSERT_TRUE(sgd.Train(params, train, rng).ok());
  EXPECT_GE(EvaluateDataset(*model, params, test).accuracy, 0.95) << "seed " << kSeed;
}

TEST(SgdTest, SameSeedGivesBitIdenticalParameters) {
  auto model = Make(ModelKind::kMlp, 6, 4, {12, 8}, 1e-3);
  const Dataset data = BlobsProblem(300, 6, 4, kSeed);
  SgdOptions options;
  options.momentum = 0.9;
  options.weight_decay = 1e-4;
  options.batch_size = 20;
  options.epochs = 1.7;

  auto run = [&](uint64_t shuffle_seed) {
    auto local = model->Clone();
    std::vector<float> params(local->NumParameters());
    local->Initialize(kSeed, params);
    Sgd sgd(local.get(), options);
    Prng rng(shuffle_seed);
    for (int call = 0; call < 2; ++call) {
      EXPECT_TRUE(sgd.Train(params, data, rng).ok());
    }
    return params;
  };
  const std::vector<float> a = run(kSeed);
  const std::vector<float> b = run(kSeed);
  const std::vector<float> c = run(kSeed + 1);
  ASSERT_EQ(a.size(), b.size());
  EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << "seed " << kSeed;
  EXPECT_NE(a, c) << "a different shuffle seed should give a different trajectory";
}

// --- GradientDescent ---

// The exact minimiser of (1/n) sum 0.5 (w.x + b - y)^2 + (l2/2)||w||^2 (bias not regularised):
// (X1^T X1 / n + l2 D) theta = X1^T y / n with X1 = [X, 1], D = diag(1, ..., 1, 0).
Eigen::VectorXd NormalEquationSolution(const Dataset& data, double l2) {
  const Eigen::Index n = static_cast<Eigen::Index>(data.num_samples);
  const Eigen::Index d = static_cast<Eigen::Index>(data.dim);
  Eigen::MatrixXd x1(n, d + 1);
  Eigen::VectorXd y(n);
  for (Eigen::Index i = 0; i < n; ++i) {
    for (Eigen::Index j = 0; j < d; ++j) {
      x1(i, j) = data.row(static_cast<size_t>(i))[j];
    }
    x1(i, d) = 1.0;
    y(i) = data.targets[static_cast<size_t>(i)];
  }
  Eigen::MatrixXd lhs = x1.transpose() * x1 / static_cast<double>(n);
  lhs.diagonal().head(d).array() += l2;
  const Eigen::VectorXd rhs = x1.transpose() * y / static_cast<double>(n);
  return lhs.ldlt().solve(rhs);
}

TEST(SgdTest, DivergenceIsAbortedNamingTheLearningRate) {
  // A huge learning rate on least squares blows the loss up to Inf/NaN within a few steps.
  Dataset data = LeastSquaresProblem(64, 4, kSeed);
  auto model = Make(ModelKind::kLinearRegression, 4, 0);
  std::vector<float> params(model->NumParameters(), 0.0f);
  SgdOptions options;
  options.learning_rate = 1e6;
  options.batch_size = 8;
  options.epochs = 50;
  Sgd sgd(model.get(), options);
  Prng rng(kSeed);
  auto stats = sgd.Train(params, data, rng);
  ASSERT_FALSE(stats.ok()) << "seed " << kSeed;
  EXPECT_EQ(stats.status().code(), StatusCode::kAborted);
  EXPECT_NE(stats.status().message().find("diverged"), std::string::npos) << stats.status();

  GradientDescent gd(model.get(), 1e6);
  std::vector<float> p2(model->NumParameters(), 0.0f);
  EXPECT_EQ(gd.Train(p2, data, 200).status().code(), StatusCode::kAborted);
}

TEST(GradientDescentTest, ConvergesToTheNormalEquationSolution) {
  for (double l2 : {0.0, 0.5}) {
    auto model = Make(ModelKind::kLinearRegression, 4, 0, {}, l2);
    const Dataset data = LeastSquaresProblem(200, 4, kSeed);
    const Eigen::VectorXd optimum = NormalEquationSolution(data, l2);
    std::vector<float> params(model->NumParameters());
    model->Initialize(kSeed, params);
    GradientDescent gd(model.get(), 0.5);
    auto stats = gd.Train(params, data, 300);
    ASSERT_TRUE(stats.ok()) << stats.status();
    EXPECT_EQ(stats->steps, 300u);
    EXPECT_EQ(stats->samples, 300u * 200);
    for (size_t j = 0; j < params.size(); ++j) {
      EXPECT_NEAR(params[j], optimum(static_cast<Eigen::Index>(j)), 1e-4)
          << "coordinate " << j << ", l2 " << l2 << ", seed " << kSeed;
    }
    // At the optimum the gradient vanishes.
    std::vector<float> grad(params.size());
    gd.Gradient(params, data, grad);
    for (float g : grad) {
      EXPECT_NEAR(g, 0.0f, 1e-4) << "l2 " << l2;
    }
  }
}

TEST(GradientDescentTest, GradientIsTheFullBatchGradient) {
  // 20000 rows: more than one internal chunk.
  auto model = Make(ModelKind::kLogisticRegression, 3, 2, {}, 0.1);
  Dataset data = BlobsProblem(20000, 3, 2, kSeed);
  std::vector<float> params = {0.3f, -0.1f, 0.2f, 0.05f};
  std::vector<float> chunked(params.size()), whole(params.size());
  GradientDescent gd(model.get(), 0.1);
  const double chunked_loss = gd.Gradient(params, data, chunked);
  auto reference = model->Clone();
  const double whole_loss = reference->LossAndGradient(params, WholeBatch(data), whole);
  EXPECT_NEAR(chunked_loss, whole_loss, 1e-6);
  for (size_t j = 0; j < params.size(); ++j) {
    EXPECT_NEAR(chunked[j], whole[j], 1e-5) << "coordinate " << j;
  }
}

TEST(GradientDescentTest, Errors) {
  auto model = Make(ModelKind::kLinearRegression, 2, 0);
  std::vector<float> params(model->NumParameters());
  const Dataset data = LeastSquaresProblem(10, 2, kSeed);

  GradientDescent bad_rate(model.get(), 0.0);
  EXPECT_EQ(bad_rate.Train(params, data, 1).status().code(), StatusCode::kInvalidArgument);

  GradientDescent gd(model.get(), 0.1);
  EXPECT_EQ(gd.Train(params, data, -1).status().code(), StatusCode::kInvalidArgument);
  Dataset empty;
  empty.dim = 2;
  EXPECT_EQ(gd.Train(params, empty, 1).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(gd.Train(params, BlobsProblem(10, 2, 2, kSeed), 1).status().code(),
            StatusCode::kInvalidArgument);

  auto zero_steps = gd.Train(params, data, 0);
  ASSERT_TRUE(zero_steps.ok());
  EXPECT_EQ(zero_steps->steps, 0u);
}

}  // namespace
}  // namespace sotto::learn
