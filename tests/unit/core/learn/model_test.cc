#include "sotto/core/learn/model.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/core/learn/dataset.h"

namespace sotto::learn {
namespace {

constexpr uint64_t kSeed = 20261125;

std::unique_ptr<Model> Make(const ModelSpec& spec) {
  auto model = MakeModel(spec);
  EXPECT_TRUE(model.ok()) << model.status();
  return model.ok() ? std::move(model).value() : nullptr;
}

ModelSpec Spec(ModelKind kind, size_t input_dim, int classes, std::vector<size_t> hidden = {},
               double l2 = 0.0) {
  ModelSpec spec;
  spec.kind = kind;
  spec.input_dim = input_dim;
  spec.num_classes = classes;
  spec.hidden = std::move(hidden);
  spec.l2 = l2;
  return spec;
}

Dataset Classification(size_t dim, int classes, std::vector<float> features,
                       std::vector<int32_t> labels) {
  Dataset data;
  data.dim = dim;
  data.num_classes = classes;
  data.num_samples = labels.size();
  data.features = std::move(features);
  data.labels = std::move(labels);
  EXPECT_TRUE(data.Validate().ok()) << data.Validate();
  return data;
}

Dataset Regression(size_t dim, std::vector<float> features, std::vector<float> targets) {
  Dataset data;
  data.dim = dim;
  data.num_samples = targets.size();
  data.features = std::move(features);
  data.targets = std::move(targets);
  EXPECT_TRUE(data.Validate().ok()) << data.Validate();
  return data;
}

Dataset RandomClassification(size_t n, size_t dim, int classes, uint64_t seed) {
  Prng rng(seed);
  Dataset data;
  data.num_samples = n;
  data.dim = dim;
  data.num_classes = classes;
  for (size_t i = 0; i < n * dim; ++i) {
    data.features.push_back(static_cast<float>(rng.Normal()));
  }
  for (size_t i = 0; i < n; ++i) {
    data.labels.push_back(static_cast<int32_t>(rng.UniformInt(classes)));
  }
  return data;
}

// --- ParseModelKind / ModelKindName ---

TEST(ModelKindTest, NamesRoundTrip) {
  for (ModelKind kind : {ModelKind::kLinearRegression, ModelKind::kLogisticRegression,
                         ModelKind::kSoftmaxRegression, ModelKind::kMlp}) {
    auto parsed = ParseModelKind(ModelKindName(kind));
    ASSERT_TRUE(parsed.ok()) << parsed.status();
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_EQ(ModelKindName(ModelKind::kMlp), "mlp");
  EXPECT_EQ(ModelKindName(ModelKind::kSoftmaxRegression), "softmax");
}

TEST(ModelKindTest, UnknownNameIsInvalidArgument) {
  for (std::string_view name : {"", "MLP", "cnn", "linear "}) {
    auto parsed = ParseModelKind(name);
    ASSERT_FALSE(parsed.ok()) << name;
    EXPECT_EQ(parsed.status().code(), StatusCode::kInvalidArgument);
  }
}

// --- MakeModel ---

struct BadSpec {
  std::string name;
  ModelSpec spec;
  std::string field;  // the message must name it
};

void PrintTo(const BadSpec& c, std::ostream* os) { *os << c.name; }

class MakeModelRejectsTest : public ::testing::TestWithParam<BadSpec> {};

TEST_P(MakeModelRejectsTest, WithInvalidArgumentNamingTheField) {
  auto model = MakeModel(GetParam().spec);
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kInvalidArgument) << model.status();
  EXPECT_NE(model.status().message().find(GetParam().field), std::string_view::npos)
      << model.status();
}

std::vector<BadSpec> BadSpecs() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  return {
      {"ZeroInputDim", Spec(ModelKind::kMlp, 0, 10, {8}), "input_dim"},
      {"ZeroInputDimLinear", Spec(ModelKind::kLinearRegression, 0, 0), "input_dim"},
      {"LinearWithClasses", Spec(ModelKind::kLinearRegression, 3, 2), "num_classes"},
      {"LogisticWithThreeClasses", Spec(ModelKind::kLogisticRegression, 3, 3), "num_classes"},
      {"LogisticWithNoClasses", Spec(ModelKind::kLogisticRegression, 3, 0), "num_classes"},
      {"SoftmaxWithOneClass", Spec(ModelKind::kSoftmaxRegression, 3, 1), "num_classes"},
      {"MlpWithNegativeClasses", Spec(ModelKind::kMlp, 3, -4, {8}), "num_classes"},
      {"MlpWithoutHidden", Spec(ModelKind::kMlp, 3, 4), "hidden"},
      {"MlpWithThreeHidden", Spec(ModelKind::kMlp, 3, 4, {8, 8, 8}), "hidden"},
      {"MlpWithZeroWidth", Spec(ModelKind::kMlp, 3, 4, {8, 0}), "hidden[1]"},
      {"SoftmaxWithHidden", Spec(ModelKind::kSoftmaxRegression, 3, 4, {8}), "hidden"},
      {"LinearWithHidden", Spec(ModelKind::kLinearRegression, 3, 0, {8}), "hidden"},
      {"NegativeL2", Spec(ModelKind::kSoftmaxRegression, 3, 4, {}, -0.1), "l2"},
      {"NanL2", Spec(ModelKind::kLinearRegression, 3, 0, {}, nan), "l2"},
      {"InfiniteL2", Spec(ModelKind::kMlp, 3, 4, {8}, inf), "l2"},
      {"UnknownKind", Spec(static_cast<ModelKind>(42), 3, 4), "kind"},
  };
}

INSTANTIATE_TEST_SUITE_P(BadSpecs, MakeModelRejectsTest, ::testing::ValuesIn(BadSpecs()),
                         [](const ::testing::TestParamInfo<BadSpec>& info) {
                           return info.param.name;
                         });

TEST(MakeModelTest, RejectsAbsurdlyLargeModelWithoutOverflow) {
  auto model = MakeModel(Spec(ModelKind::kMlp, size_t{1} << 40, 10, {size_t{1} << 40}));
  ASSERT_FALSE(model.ok());
  EXPECT_EQ(model.status().code(), StatusCode::kResourceExhausted) << model.status();
}

TEST(MakeModelTest, ShapesAndNames) {
  auto linear = Make(Spec(ModelKind::kLinearRegression, 13, 0));
  EXPECT_EQ(linear->NumParameters(), 14u);
  EXPECT_EQ(linear->InputDim(), 13u);
  EXPECT_EQ(linear->NumClasses(), 0);
  EXPECT_EQ(linear->Name(), "linear(13)");

  auto logistic = Make(Spec(ModelKind::kLogisticRegression, 5, 2));
  EXPECT_EQ(logistic->NumParameters(), 6u);
  EXPECT_EQ(logistic->NumClasses(), 2);
  EXPECT_EQ(logistic->Name(), "logistic(5)");

  auto softmax = Make(Spec(ModelKind::kSoftmaxRegression, 784, 10));
  EXPECT_EQ(softmax->NumParameters(), 784u * 10 + 10);
  EXPECT_EQ(softmax->NumClasses(), 10);
  EXPECT_EQ(softmax->Name(), "softmax(784x10)");

  auto mlp = Make(Spec(ModelKind::kMlp, 784, 10, {128}));
  EXPECT_EQ(mlp->NumParameters(), 784u * 128 + 128 + 128 * 10 + 10);
  EXPECT_EQ(mlp->InputDim(), 784u);
  EXPECT_EQ(mlp->Name(), "mlp(784-128-10)");

  auto mlp2 = Make(Spec(ModelKind::kMlp, 20, 3, {16, 8}));
  EXPECT_EQ(mlp2->NumParameters(), 20u * 16 + 16 + 16 * 8 + 8 + 8 * 3 + 3);
  EXPECT_EQ(mlp2->Name(), "mlp(20-16-8-3)");
}

// --- Initialize ---

TEST(InitializeTest, ConvexModelsStartAtZero) {
  for (const ModelSpec& spec :
       {Spec(ModelKind::kLinearRegression, 4, 0), Spec(ModelKind::kLogisticRegression, 4, 2),
        Spec(ModelKind::kSoftmaxRegression, 4, 3)}) {
    auto model = Make(spec);
    std::vector<float> params(model->NumParameters(), 7.0f);
    model->Initialize(kSeed, params);
    for (float p : params) {
      ASSERT_EQ(p, 0.0f) << model->Name();
    }
  }
}

TEST(InitializeTest, MlpIsSeededHeUniformWithZeroBiases) {
  auto model = Make(Spec(ModelKind::kMlp, 50, 4, {30, 20}));
  std::vector<float> a(model->NumParameters()), b(a.size()), c(a.size());
  model->Initialize(kSeed, a);
  model->Initialize(kSeed, b);
  model->Initialize(kSeed + 1, c);
  EXPECT_EQ(a, b) << "seed " << kSeed;
  EXPECT_NE(a, c) << "seed " << kSeed;

  // Layout: W0 (30x50), b0 (30), W1 (20x30), b1 (20), W2 (4x20), b2 (4).
  struct Block {
    size_t begin, size;
    double bound;  // 0 for a bias
  };
  const std::vector<Block> blocks = {{0, 1500, std::sqrt(6.0 / 50)},   {1500, 30, 0.0},
                                     {1530, 600, std::sqrt(6.0 / 30)}, {2130, 20, 0.0},
                                     {2150, 80, std::sqrt(3.0 / 20)},  {2230, 4, 0.0}};
  ASSERT_EQ(blocks.back().begin + blocks.back().size, a.size());
  for (const Block& block : blocks) {
    double max_abs = 0.0;
    for (size_t i = block.begin; i < block.begin + block.size; ++i) {
      max_abs = std::max(max_abs, std::abs(double{a[i]}));
    }
    if (block.bound == 0.0) {
      EXPECT_EQ(max_abs, 0.0) << "bias block at " << block.begin;
    } else {
      EXPECT_LE(max_abs, block.bound) << "block at " << block.begin;
      EXPECT_GT(max_abs, 0.8 * block.bound) << "block at " << block.begin << ", seed " << kSeed;
    }
  }
}

// --- CheckCompatible ---

TEST(CheckCompatibleTest, AcceptsMatchingData) {
  auto softmax = Make(Spec(ModelKind::kSoftmaxRegression, 3, 5));
  EXPECT_TRUE(softmax->CheckCompatible(RandomClassification(10, 3, 5, kSeed)).ok());
  // Fewer classes in the data than the model predicts is fine (a client may see a subset).
  EXPECT_TRUE(softmax->CheckCompatible(RandomClassification(10, 3, 2, kSeed)).ok());
  auto linear = Make(Spec(ModelKind::kLinearRegression, 2, 0));
  EXPECT_TRUE(linear->CheckCompatible(Regression(2, {1, 2, 3, 4}, {1, 2})).ok());
}

TEST(CheckCompatibleTest, RejectsDimensionMismatch) {
  auto softmax = Make(Spec(ModelKind::kSoftmaxRegression, 3, 5));
  const Status status = softmax->CheckCompatible(RandomClassification(10, 4, 5, kSeed));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
  EXPECT_NE(status.message().find("dimension"), std::string_view::npos) << status;
}

TEST(CheckCompatibleTest, RejectsRegressionDataForClassifier) {
  const Dataset regression = Regression(2, {1, 2, 3, 4}, {1, 2});
  for (const ModelSpec& spec :
       {Spec(ModelKind::kLogisticRegression, 2, 2), Spec(ModelKind::kSoftmaxRegression, 2, 3),
        Spec(ModelKind::kMlp, 2, 3, {4})}) {
    auto model = Make(spec);
    const Status status = model->CheckCompatible(regression);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << model->Name();
    EXPECT_NE(status.message().find("regression data"), std::string_view::npos) << status;
  }
}

TEST(CheckCompatibleTest, RejectsClassificationDataForRegression) {
  auto linear = Make(Spec(ModelKind::kLinearRegression, 3, 0));
  const Status status = linear->CheckCompatible(RandomClassification(4, 3, 2, kSeed));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
}

TEST(CheckCompatibleTest, RejectsLabelsBeyondClasses) {
  auto logistic = Make(Spec(ModelKind::kLogisticRegression, 3, 2));
  const Status status = logistic->CheckCompatible(RandomClassification(20, 3, 3, kSeed));
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;

  // A hand-built dataset whose labels exceed even its own num_classes.
  Dataset bad = RandomClassification(5, 3, 2, kSeed);
  bad.labels[3] = 2;
  const Status label_status = logistic->CheckCompatible(bad);
  EXPECT_EQ(label_status.code(), StatusCode::kInvalidArgument) << label_status;
  EXPECT_NE(label_status.message().find("sample 3"), std::string_view::npos) << label_status;
}

TEST(CheckCompatibleTest, RejectsInconsistentSizes) {
  auto softmax = Make(Spec(ModelKind::kSoftmaxRegression, 3, 5));
  Dataset short_features = RandomClassification(10, 3, 5, kSeed);
  short_features.features.pop_back();
  EXPECT_EQ(softmax->CheckCompatible(short_features).code(), StatusCode::kInvalidArgument);
  Dataset short_labels = RandomClassification(10, 3, 5, kSeed);
  short_labels.labels.pop_back();
  EXPECT_EQ(softmax->CheckCompatible(short_labels).code(), StatusCode::kInvalidArgument);
}

// --- Evaluate on hand-computed cases ---

TEST(EvaluateTest, LinearRegressionLossWithoutRegulariser) {
  auto model = Make(Spec(ModelKind::kLinearRegression, 1, 0, {}, /*l2=*/5.0));
  const std::vector<float> params = {2.0f, 1.0f};  // y = 2x + 1
  // Residuals 0 and 1: loss = (0 + 0.5) / 2.
  const EvalResult result = model->Evaluate(params, WholeBatch(Regression(1, {1, 2}, {3, 4})));
  EXPECT_DOUBLE_EQ(result.loss, 0.25);
  EXPECT_EQ(result.accuracy, 0.0);
  EXPECT_EQ(result.samples, 2u);
}

TEST(EvaluateTest, LogisticRegressionWithKnownWeights) {
  auto model = Make(Spec(ModelKind::kLogisticRegression, 2, 2));
  const std::vector<float> params = {1.0f, -1.0f, 0.5f};  // z = x0 - x1 + 0.5
  const Dataset data = Classification(2, 2, {1, 0, 0, 1, 0, 2}, {1, 1, 0});
  // z = 1.5 (y=1, right), -0.5 (y=1, wrong), -1.5 (y=0, right).
  const double expected =
      (std::log1p(std::exp(-1.5)) + std::log1p(std::exp(0.5)) + std::log1p(std::exp(-1.5))) / 3;
  const EvalResult result = model->Evaluate(params, WholeBatch(data));
  EXPECT_NEAR(result.loss, expected, 1e-7);
  EXPECT_DOUBLE_EQ(result.accuracy, 2.0 / 3.0);
}

TEST(EvaluateTest, LogisticLossIsStableForHugeScores) {
  auto model = Make(Spec(ModelKind::kLogisticRegression, 1, 2));
  const std::vector<float> params = {1000.0f, 0.0f};
  const Dataset data = Classification(1, 2, {1, -1, 1}, {1, 0, 0});
  // Two confident right answers (loss ~0) and one confident wrong one (loss ~1000).
  const EvalResult result = model->Evaluate(params, WholeBatch(data));
  EXPECT_NEAR(result.loss, 1000.0 / 3.0, 1e-6);
  EXPECT_DOUBLE_EQ(result.accuracy, 2.0 / 3.0);
}

TEST(EvaluateTest, SoftmaxRegressionWithKnownWeights) {
  auto model = Make(Spec(ModelKind::kSoftmaxRegression, 1, 3));
  // W = 0, b = (0, 0, ln 2): probabilities 1/4, 1/4, 1/2 whatever the input.
  const std::vector<float> params = {0, 0, 0, 0, 0, static_cast<float>(std::log(2.0))};
  const Dataset data = Classification(1, 3, {5, -3}, {2, 0});
  const EvalResult result = model->Evaluate(params, WholeBatch(data));
  EXPECT_NEAR(result.loss, (std::log(2.0) + std::log(4.0)) / 2, 1e-6);
  EXPECT_DOUBLE_EQ(result.accuracy, 0.5);
}

TEST(EvaluateTest, SoftmaxIsStableForHugeLogits) {
  auto model = Make(Spec(ModelKind::kSoftmaxRegression, 1, 2));
  const std::vector<float> params = {1000.0f, -1000.0f, 0.0f, 0.0f};  // logits (1000x, -1000x)
  const Dataset data = Classification(1, 2, {1, 1}, {0, 1});
  const EvalResult result = model->Evaluate(params, WholeBatch(data));
  EXPECT_NEAR(result.loss, 1000.0, 1e-3);  // (0 + 2000) / 2
  EXPECT_DOUBLE_EQ(result.accuracy, 0.5);
}

TEST(EvaluateTest, MlpWithKnownWeightsFollowsTheDocumentedLayout) {
  auto model = Make(Spec(ModelKind::kMlp, 1, 2, {1}));
  // W0 = [1], b0 = [0], W1 = [[1], [-1]], b1 = [0, 0].
  const std::vector<float> params = {1, 0, 1, -1, 0, 0};
  ASSERT_EQ(params.size(), model->NumParameters());
  // x = 2: hidden 2, logits (2, -2), label 0 right. x = -1: hidden relu(-1) = 0, logits (0, 0),
  // a tie, so the prediction is class 0 and label 1 is wrong.
  const Dataset data = Classification(1, 2, {2, -1}, {0, 1});
  const EvalResult result = model->Evaluate(params, WholeBatch(data));
  EXPECT_NEAR(result.loss, (std::log1p(std::exp(-4.0)) + std::log(2.0)) / 2, 1e-6);
  EXPECT_DOUBLE_EQ(result.accuracy, 0.5);
}

TEST(EvaluateTest, EmptyBatchGivesZeros) {
  auto model = Make(Spec(ModelKind::kSoftmaxRegression, 2, 3));
  std::vector<float> params(model->NumParameters());
  Batch empty;
  empty.dim = 2;
  const EvalResult result = model->Evaluate(params, empty);
  EXPECT_EQ(result.samples, 0u);
  EXPECT_EQ(result.loss, 0.0);
}

// --- EvaluateDataset ---

TEST(EvaluateDatasetTest, ChunkedMatchesOneBatch) {
  auto model = Make(Spec(ModelKind::kMlp, 6, 4, {8}));
  std::vector<float> params(model->NumParameters());
  model->Initialize(kSeed, params);
  const Dataset data = RandomClassification(103, 6, 4, kSeed);
  const EvalResult whole = model->Evaluate(params, WholeBatch(data));
  for (size_t chunk : {size_t{1}, size_t{7}, size_t{64}, size_t{103}, size_t{1000}}) {
    const EvalResult chunked = EvaluateDataset(*model, params, data, chunk);
    EXPECT_EQ(chunked.samples, 103u);
    EXPECT_NEAR(chunked.loss, whole.loss, 1e-6) << "chunk " << chunk;
    EXPECT_NEAR(chunked.accuracy, whole.accuracy, 1e-12) << "chunk " << chunk;
  }
}

TEST(EvaluateDatasetTest, EmptyDatasetGivesZeros) {
  auto model = Make(Spec(ModelKind::kLinearRegression, 2, 0));
  std::vector<float> params(model->NumParameters());
  Dataset empty;
  empty.dim = 2;
  const EvalResult result = EvaluateDataset(*model, params, empty);
  EXPECT_EQ(result.samples, 0u);
  EXPECT_EQ(result.loss, 0.0);
  EXPECT_EQ(result.accuracy, 0.0);
}

// --- Clone and scratch growth ---

TEST(CloneTest, SameArchitectureSameResults) {
  auto model = Make(Spec(ModelKind::kMlp, 6, 4, {8, 5}, 0.01));
  auto clone = model->Clone();
  EXPECT_EQ(clone->Name(), model->Name());
  EXPECT_EQ(clone->NumParameters(), model->NumParameters());
  std::vector<float> params(model->NumParameters());
  model->Initialize(kSeed, params);
  const Dataset data = RandomClassification(40, 6, 4, kSeed);
  std::vector<float> g1(params.size()), g2(params.size());
  EXPECT_EQ(model->LossAndGradient(params, WholeBatch(data), g1),
            clone->LossAndGradient(params, WholeBatch(data), g2));
  EXPECT_EQ(g1, g2);
}

TEST(ScratchTest, SmallerBatchAfterLargerGivesSameResultAsFresh) {
  // Scratch grows to the largest batch and is then reused for smaller ones; results must not
  // depend on what a previous, larger batch left behind.
  const ModelSpec spec = Spec(ModelKind::kMlp, 30, 5, {40});
  auto used = Make(spec);
  auto fresh = Make(spec);
  std::vector<float> params(used->NumParameters());
  used->Initialize(kSeed, params);
  const Dataset data = RandomClassification(500, 30, 5, kSeed);
  std::vector<float> g1(params.size()), g2(params.size());
  used->LossAndGradient(params, WholeBatch(data), g1);
  const double loss_used = used->LossAndGradient(params, BatchOf(data, 10, 33), g1);
  const double loss_fresh = fresh->LossAndGradient(params, BatchOf(data, 10, 33), g2);
  EXPECT_EQ(loss_used, loss_fresh);
  EXPECT_EQ(g1, g2);
}

}  // namespace
}  // namespace sotto::learn
