// The steady state of training allocates nothing: model steps of a batch size seen before,
// Sgd::Train and GradientDescent::Train after a first call, and EvaluateDataset after a first
// pass. Counted by replacing malloc and friends for this test binary only (glibc exports the
// real allocator as __libc_*), so allocations inside Eigen and libstdc++ count too. Skipped
// under sanitizers, which install their own allocator.

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <memory>
#include <ostream>
#include <string>
#include <vector>

#include "allocation_counter.h"
#include "sotto/base/random.h"
#include "sotto/core/learn/dataset.h"
#include "sotto/core/learn/model.h"
#include "sotto/core/learn/optimizer.h"

namespace sotto::learn {
namespace {

constexpr uint64_t kSeed = 20261127;

using ::sotto::testing::AllocationsDuring;

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

Dataset RandomData(size_t n, size_t dim, int classes, uint64_t seed) {
  Prng rng(seed);
  Dataset data;
  data.num_samples = n;
  data.dim = dim;
  data.num_classes = classes;
  for (size_t i = 0; i < n * dim; ++i) {
    data.features.push_back(static_cast<float>(rng.Uniform()));
  }
  for (size_t i = 0; i < n; ++i) {
    if (classes > 0) {
      data.labels.push_back(static_cast<int32_t>(rng.UniformInt(classes)));
    } else {
      data.targets.push_back(static_cast<float>(rng.Normal()));
    }
  }
  return data;
}

class NoAllocTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!sotto::testing::AllocationCountingAvailable()) {
      GTEST_SKIP() << "allocation counting needs glibc and no sanitizer";
    }
  }
};

TEST_F(NoAllocTest, CounterSeesAllocations) {
  const size_t count = AllocationsDuring([] {
    std::vector<float> v(1000);
    __asm__ __volatile__("" : : "g"(v.data()) : "memory");  // keep the allocation from being elided
  });
  EXPECT_GE(count, 1u);
}

struct ModelCase {
  std::string name;
  ModelKind kind;
  size_t dim;
  int classes;
  std::vector<size_t> hidden;
};

void PrintTo(const ModelCase& c, std::ostream* os) { *os << c.name; }

class ModelNoAllocTest : public NoAllocTest, public ::testing::WithParamInterface<ModelCase> {};

TEST_P(ModelNoAllocTest, StepsAndEvaluationsAfterTheFirstDoNotAllocate) {
  const ModelCase& c = GetParam();
  // l2 on, so the regulariser path runs too.
  auto model = Make(c.kind, c.dim, c.classes, c.hidden, 1e-4);
  const Dataset data = RandomData(256, c.dim, c.classes, kSeed);
  std::vector<float> params(model->NumParameters()), grad(params.size());
  model->Initialize(kSeed, params);
  model->LossAndGradient(params, BatchOf(data, 0, 32), grad);
  model->Evaluate(params, BatchOf(data, 0, 128));
  EvaluateDataset(*model, params, data, 128);

  const size_t count = AllocationsDuring([&] {
    for (size_t begin = 32; begin + 32 <= data.num_samples; begin += 32) {
      model->LossAndGradient(params, BatchOf(data, begin, 32), grad);
    }
    model->LossAndGradient(params, BatchOf(data, 5, 7), grad);  // a smaller batch
    model->Evaluate(params, BatchOf(data, 100, 128));
    EvaluateDataset(*model, params, data, 128);
  });
  EXPECT_EQ(count, 0u) << model->Name();
}

// The 784-128-10 MLP at batch 32 is the shape where Eigen's own product would allocate its
// packing panels on every call.
INSTANTIATE_TEST_SUITE_P(
    Models, ModelNoAllocTest,
    ::testing::Values(ModelCase{"Linear", ModelKind::kLinearRegression, 50, 0, {}},
                      ModelCase{"Logistic", ModelKind::kLogisticRegression, 50, 2, {}},
                      ModelCase{"Softmax", ModelKind::kSoftmaxRegression, 784, 10, {}},
                      ModelCase{"Mlp784x128x10", ModelKind::kMlp, 784, 10, {128}},
                      ModelCase{"Mlp2Hidden", ModelKind::kMlp, 300, 10, {256, 128}}),
    [](const ::testing::TestParamInfo<ModelCase>& info) { return info.param.name; });

TEST_F(NoAllocTest, SgdTrainAfterTheFirstCallDoesNotAllocate) {
  auto model = Make(ModelKind::kMlp, 784, 10, {128}, 1e-4);
  const Dataset data = RandomData(200, 784, 10, kSeed);  // 6 full batches and one of 8
  std::vector<float> params(model->NumParameters());
  model->Initialize(kSeed, params);
  SgdOptions options;
  options.momentum = 0.9;
  options.weight_decay = 1e-4;
  options.epochs = 1.5;
  Sgd sgd(model.get(), options);
  Prng rng(kSeed);
  ASSERT_TRUE(sgd.Train(params, data, rng).ok());

  bool ok = false;
  const size_t count = AllocationsDuring([&] { ok = sgd.Train(params, data, rng).ok(); });
  EXPECT_TRUE(ok);
  EXPECT_EQ(count, 0u);
}

TEST_F(NoAllocTest, GradientDescentTrainAfterTheFirstCallDoesNotAllocate) {
  auto model = Make(ModelKind::kLogisticRegression, 20, 2, {}, 1e-3);
  const Dataset data = RandomData(10000, 20, 2, kSeed);  // two gradient chunks
  std::vector<float> params(model->NumParameters());
  GradientDescent gd(model.get(), 0.1);
  ASSERT_TRUE(gd.Train(params, data, 2).ok());

  bool ok = false;
  const size_t count = AllocationsDuring([&] { ok = gd.Train(params, data, 3).ok(); });
  EXPECT_TRUE(ok);
  EXPECT_EQ(count, 0u);
}

}  // namespace
}  // namespace sotto::learn
