// One local epoch of the MLP on Fashion-MNIST, in samples/second, against a baseline measured in
// the same run: the bare Eigen matrix products that one epoch of this MLP cannot avoid (forward
// and weight-gradient GEMMs of both layers, no activation, loss, shuffling or update). The
// ratio epoch/baseline is the cost of everything around the GEMMs.
//
//   build/release/bench/learn_bench --benchmark_counters_tabular=true

#include <benchmark/benchmark.h>

#include <Eigen/Core>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/core/learn/idx.h"
#include "sotto/core/learn/model.h"
#include "sotto/core/learn/optimizer.h"

namespace sotto::learn {
namespace {

constexpr size_t kHidden = 128;
constexpr size_t kBatch = 32;
constexpr size_t kClientSamples = 6000;  // one client's share of 60k over 10 clients

const Dataset& ClientData() {
  static Dataset* data = [] {
    auto tt = LoadFashionMnist();
    if (!tt.ok()) {
      std::fprintf(stderr, "learn_bench: %s\n", tt.status().ToString().c_str());
      std::exit(1);
    }
    std::vector<size_t> rows(kClientSamples);
    for (size_t i = 0; i < rows.size(); ++i) rows[i] = i;
    return new Dataset(tt->train.Subset(rows));
  }();
  return *data;
}

void BM_MlpLocalEpoch(benchmark::State& state) {
  const Dataset& data = ClientData();
  auto model = MakeModel({ModelKind::kMlp, data.dim, 10, {kHidden}, 0.0});
  if (!model.ok()) {
    state.SkipWithError(model.status().ToString().c_str());
    return;
  }
  std::vector<float> params((*model)->NumParameters());
  (*model)->Initialize(1, params);
  Sgd sgd(model->get(), SgdOptions{0.05, 0.9, 0.0, kBatch, 1.0, true});
  Prng rng(1);
  for (auto _ : state) {
    auto stats = sgd.Train(params, data, rng);
    benchmark::DoNotOptimize(stats);
  }
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * data.num_samples));
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * data.num_samples), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_MlpLocalEpoch)->Unit(benchmark::kMillisecond)->UseRealTime();

// The unavoidable GEMMs of one epoch of 784-128-10 at batch 32: Z1 = X W1^T, dW1 = dZ1^T X,
// Z2 = H W2^T, dW2 = dZ2^T H, dH = dZ2 W2.
void BM_GemmBaseline(benchmark::State& state) {
  using Mat = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  const Dataset& data = ClientData();
  const Eigen::Index d = static_cast<Eigen::Index>(data.dim), h = kHidden, c = 10, b = kBatch;
  Mat w1 = Mat::Random(h, d), w2 = Mat::Random(c, h), dw1(h, d), dw2(c, h);
  Mat z1(b, h), z2(b, c), dz1 = Mat::Random(b, h), dz2 = Mat::Random(b, c), dh(b, h);
  const size_t batches = data.num_samples / kBatch;
  for (auto _ : state) {
    for (size_t i = 0; i < batches; ++i) {
      Eigen::Map<const Mat> x(data.row(i * kBatch), b, d);
      z1.noalias() = x * w1.transpose();
      z2.noalias() = z1 * w2.transpose();
      dw2.noalias() = dz2.transpose() * z1;
      dh.noalias() = dz2 * w2;
      dw1.noalias() = dz1.transpose() * x;
    }
    benchmark::DoNotOptimize(dw1.data());
    benchmark::ClobberMemory();
  }
  state.counters["samples_per_s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * batches * kBatch), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_GemmBaseline)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace sotto::learn

BENCHMARK_MAIN();
