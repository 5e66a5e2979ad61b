#include "sotto/core/learn/federated_data.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"
#include "sotto/core/learn/synthetic.h"

namespace sotto::learn {
namespace {

Status CheckDatasetName(const std::string& name) {
  if (name == "fashion-mnist" || name == "synthetic") return OkStatus();
  return InvalidArgumentError("dataset: unknown dataset '" + name +
                              "' (expected fashion-mnist or synthetic)");
}

StatusOr<TrainTest> LoadTrainTest(const FederatedDataSpec& spec) {
  RETURN_IF_ERROR(CheckDatasetName(spec.dataset));
  if (spec.dataset == "fashion-mnist") return LoadFashionMnist(spec.directory);
  // A logistic-regression problem whose first rows are the training set, the rest the test set.
  ASSIGN_OR_RETURN(
      SyntheticProblem p,
      MakeLogisticRegression(kSyntheticTrainSamples + kSyntheticTestSamples, kSyntheticFeatures,
                             1e-3, DeriveSeed(spec.seed, kDataStreamSynthetic)));
  std::vector<size_t> train_rows(kSyntheticTrainSamples), test_rows(kSyntheticTestSamples);
  std::iota(train_rows.begin(), train_rows.end(), 0);
  std::iota(test_rows.begin(), test_rows.end(), kSyntheticTrainSamples);
  return TrainTest{p.data.Subset(train_rows), p.data.Subset(test_rows)};
}

StatusOr<Partition> Split(const FederatedDataSpec& spec, const Dataset& train) {
  const uint64_t seed = DeriveSeed(spec.seed, kDataStreamPartition);
  switch (spec.partition) {
    case PartitionKind::kIid:
      return PartitionIid(train.num_samples, spec.num_parts, seed);
    case PartitionKind::kDirichlet:
      return PartitionDirichlet(train.labels, train.num_classes, spec.num_parts,
                                spec.dirichlet_alpha, seed);
    case PartitionKind::kShards:
      return PartitionShards(train.labels, spec.num_parts, spec.shards_per_part, seed);
  }
  return InvalidArgumentError("partition: unknown kind");
}

}  // namespace

StatusOr<PartitionKind> ParsePartitionKind(std::string_view name) {
  if (name == "iid") return PartitionKind::kIid;
  if (name == "dirichlet") return PartitionKind::kDirichlet;
  if (name == "shards") return PartitionKind::kShards;
  return InvalidArgumentError("partition: unknown partition '" + std::string(name) +
                              "' (expected iid, dirichlet or shards)");
}

std::string_view PartitionKindName(PartitionKind kind) {
  switch (kind) {
    case PartitionKind::kIid:
      return "iid";
    case PartitionKind::kDirichlet:
      return "dirichlet";
    case PartitionKind::kShards:
      return "shards";
  }
  return "unknown";
}

Status ValidateFederatedDataSpec(const FederatedDataSpec& spec) {
  RETURN_IF_ERROR(CheckDatasetName(spec.dataset));
  if (spec.num_parts == 0) return InvalidArgumentError("num_parts: must be at least 1");
  switch (spec.partition) {
    case PartitionKind::kIid:
      break;
    case PartitionKind::kDirichlet:
      if (!(spec.dirichlet_alpha > 0 && std::isfinite(spec.dirichlet_alpha))) {
        return InvalidArgumentError("dirichlet_alpha: must be a finite number > 0");
      }
      break;
    case PartitionKind::kShards:
      if (spec.shards_per_part == 0) {
        return InvalidArgumentError("shards_per_part: must be at least 1");
      }
      break;
    default:
      return InvalidArgumentError("partition: unknown kind");
  }
  return OkStatus();
}

StatusOr<FederatedData> LoadFederatedData(const FederatedDataSpec& spec) {
  RETURN_IF_ERROR(ValidateFederatedDataSpec(spec));
  ASSIGN_OR_RETURN(TrainTest data, LoadTrainTest(spec));
  if (spec.max_train_samples > 0 && spec.max_train_samples < data.train.num_samples) {
    std::vector<size_t> rows(data.train.num_samples);
    std::iota(rows.begin(), rows.end(), 0);
    Prng rng(DeriveSeed(spec.seed, kDataStreamSubsample));
    rng.Shuffle(std::span<size_t>(rows));
    rows.resize(spec.max_train_samples);
    std::sort(rows.begin(), rows.end());
    data.train = data.train.Subset(rows);
  }
  ASSIGN_OR_RETURN(Partition partition, Split(spec, data.train));
  return FederatedData{std::move(data.train), std::move(data.test), std::move(partition)};
}

StatusOr<Dataset> LoadFederatedPart(const FederatedDataSpec& spec, size_t part) {
  if (part >= spec.num_parts) {
    return InvalidArgumentError("part: " + std::to_string(part) + " is not below num_parts (" +
                                std::to_string(spec.num_parts) + ")");
  }
  ASSIGN_OR_RETURN(FederatedData data, LoadFederatedData(spec));
  return data.train.Subset(data.partition[part]);
}

StatusOr<Dataset> LoadFederatedTestSet(const FederatedDataSpec& spec) {
  RETURN_IF_ERROR(CheckDatasetName(spec.dataset));
  ASSIGN_OR_RETURN(TrainTest data, LoadTrainTest(spec));
  return std::move(data.test);
}

}  // namespace sotto::learn
