#pragma once

// A dataset split across a federation: which samples each participant holds.
//
// The simulator (sotto/sim) holds every part in one process; a networked client
// (`sotto client`) holds one part and the coordinator may hold the test split to evaluate the
// global model. All three build their data through this header, so that "part p of n of
// dataset X split with seed S" means the same samples everywhere: the same seed on every
// machine gives the same split bit for bit (sotto::Prng, learn/partition.h).
//
//   FederatedDataSpec spec;                // dataset, split scheme, seed
//   spec.dataset = "synthetic";
//   spec.num_parts = 10;
//   ASSIGN_OR_RETURN(Dataset mine, LoadFederatedPart(spec, /*part=*/3));
//   ASSIGN_OR_RETURN(Dataset test, LoadFederatedTestSet(spec));
//
// Datasets:
//   "synthetic"      a seeded logistic-regression problem (learn/synthetic.h): 20 features,
//                    2 classes, 4000 training and 1000 test samples. Small and fast: tests,
//                    smoke runs, demos.
//   "fashion-mnist"  the IDX files in `directory` (learn/idx.h): 784 features, 10 classes,
//                    60000 training and 10000 test samples.
// Every random choice draws from its own stream of `seed` (sotto::DeriveSeed): the synthetic
// problem (stream kDataStreamSynthetic), the subsample of max_train_samples
// (kDataStreamSubsample) and the split (kDataStreamPartition). The stream numbers are those the
// simulator has always used, so `sotto sim --seed S` and a federation whose data seed is S
// split the data identically.
//
// Errors: InvalidArgument naming the field (an unknown dataset, 0 parts, part >= num_parts,
// alpha <= 0, more parts than samples, ...); the loaders' errors for missing or corrupt files
// (NotFound names the Debian package that has Fashion-MNIST); FailedPrecondition when a
// Dirichlet split cannot give every part enough samples (learn/partition.h).
//
// Thread-safety: pure functions of their arguments.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "sotto/base/statusor.h"
#include "sotto/core/learn/dataset.h"
#include "sotto/core/learn/idx.h"
#include "sotto/core/learn/partition.h"

namespace sotto::learn {

// The seed streams of a FederatedDataSpec's seed.
inline constexpr uint64_t kDataStreamSubsample = 1;
inline constexpr uint64_t kDataStreamPartition = 2;
inline constexpr uint64_t kDataStreamSynthetic = 6;

// The synthetic dataset's shape.
inline constexpr size_t kSyntheticFeatures = 20;
inline constexpr size_t kSyntheticTrainSamples = 4000;
inline constexpr size_t kSyntheticTestSamples = 1000;

enum class PartitionKind { kIid, kDirichlet, kShards };

// "iid", "dirichlet", "shards" <-> PartitionKind.
StatusOr<PartitionKind> ParsePartitionKind(std::string_view name);
std::string_view PartitionKindName(PartitionKind kind);

struct FederatedDataSpec {
  std::string dataset = "synthetic";         // "synthetic" or "fashion-mnist"
  std::string directory = kFashionMnistDir;  // fashion-mnist: the IDX files
  // 0: the whole training set; otherwise this many samples of it, drawn at random (seeded)
  // before the split and kept in their original order.
  size_t max_train_samples = 0;
  size_t num_parts = 1;
  PartitionKind partition = PartitionKind::kIid;
  double dirichlet_alpha = 0.5;  // kDirichlet: smaller, more label skew
  size_t shards_per_part = 2;    // kShards
  uint64_t seed = 1;
};

// InvalidArgument naming the field (as spelled in FederatedDataSpec) for impossible values.
Status ValidateFederatedDataSpec(const FederatedDataSpec& spec);

// The training set (after max_train_samples), the test set, and the split of the training set:
// partition[p] lists the rows of `train` that part p holds.
struct FederatedData {
  Dataset train;
  Dataset test;
  Partition partition;
};

StatusOr<FederatedData> LoadFederatedData(const FederatedDataSpec& spec);

// The samples of part `part` (0-based, < spec.num_parts), in the order of the training set.
StatusOr<Dataset> LoadFederatedPart(const FederatedDataSpec& spec, size_t part);

// The dataset's test split; depends only on spec.dataset, spec.directory and spec.seed
// (synthetic). Does not partition anything.
StatusOr<Dataset> LoadFederatedTestSet(const FederatedDataSpec& spec);

}  // namespace sotto::learn
