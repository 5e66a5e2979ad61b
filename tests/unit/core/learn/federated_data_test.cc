#include "sotto/core/learn/federated_data.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>
#include <numeric>
#include <set>
#include <string>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/core/learn/synthetic.h"

namespace sotto::learn {
namespace {

using ::testing::HasSubstr;

FederatedDataSpec Synthetic(size_t parts, PartitionKind kind, uint64_t seed) {
  FederatedDataSpec spec;
  spec.dataset = "synthetic";
  spec.num_parts = parts;
  spec.partition = kind;
  spec.seed = seed;
  return spec;
}

bool SameRows(const Dataset& a, const Dataset& b) {
  return a.num_samples == b.num_samples && a.dim == b.dim && a.features == b.features &&
         a.labels == b.labels;
}

// The split is the one the simulator has always made: the synthetic problem from stream 6 of
// the seed, the partition from stream 2 (sotto sim's results must not move).
TEST(FederatedDataTest, MatchesTheSeedStreamsOfTheSimulator) {
  const uint64_t seed = 17;
  StatusOr<FederatedData> data = LoadFederatedData(Synthetic(5, PartitionKind::kIid, seed));
  ASSERT_TRUE(data.ok()) << data.status();

  StatusOr<SyntheticProblem> p =
      MakeLogisticRegression(5000, 20, 1e-3, DeriveSeed(seed, kDataStreamSynthetic));
  ASSERT_TRUE(p.ok()) << p.status();
  std::vector<size_t> train_rows(4000), test_rows(1000);
  std::iota(train_rows.begin(), train_rows.end(), 0);
  std::iota(test_rows.begin(), test_rows.end(), 4000);
  EXPECT_TRUE(SameRows(data->train, p->data.Subset(train_rows)));
  EXPECT_TRUE(SameRows(data->test, p->data.Subset(test_rows)));

  StatusOr<Partition> expected = PartitionIid(4000, 5, DeriveSeed(seed, kDataStreamPartition));
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ(data->partition, *expected);
}

TEST(FederatedDataTest, PartsCoverTheTrainingSetAndMatchLoadFederatedPart) {
  for (PartitionKind kind :
       {PartitionKind::kIid, PartitionKind::kDirichlet, PartitionKind::kShards}) {
    const FederatedDataSpec spec = Synthetic(4, kind, 3);
    StatusOr<FederatedData> data = LoadFederatedData(spec);
    ASSERT_TRUE(data.ok()) << PartitionKindName(kind) << ": " << data.status();
    ASSERT_EQ(data->partition.size(), 4u);
    std::set<size_t> seen;
    size_t total = 0;
    for (size_t part = 0; part < 4; ++part) {
      total += data->partition[part].size();
      seen.insert(data->partition[part].begin(), data->partition[part].end());
      StatusOr<Dataset> mine = LoadFederatedPart(spec, part);
      ASSERT_TRUE(mine.ok()) << mine.status();
      EXPECT_TRUE(SameRows(*mine, data->train.Subset(data->partition[part])))
          << PartitionKindName(kind) << " part " << part;
    }
    EXPECT_EQ(total, data->train.num_samples) << PartitionKindName(kind);
    EXPECT_EQ(seen.size(), data->train.num_samples) << PartitionKindName(kind);
  }
}

TEST(FederatedDataTest, SameSeedSameSplitOtherSeedOtherSplit) {
  StatusOr<Dataset> a = LoadFederatedPart(Synthetic(3, PartitionKind::kIid, 5), 1);
  StatusOr<Dataset> b = LoadFederatedPart(Synthetic(3, PartitionKind::kIid, 5), 1);
  StatusOr<Dataset> c = LoadFederatedPart(Synthetic(3, PartitionKind::kIid, 6), 1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_TRUE(SameRows(*a, *b));
  EXPECT_FALSE(SameRows(*a, *c));
}

TEST(FederatedDataTest, TestSetDependsOnlyOnTheDatasetAndSeed) {
  FederatedDataSpec spec = Synthetic(7, PartitionKind::kDirichlet, 9);
  StatusOr<Dataset> test = LoadFederatedTestSet(spec);
  ASSERT_TRUE(test.ok()) << test.status();
  EXPECT_EQ(test->num_samples, kSyntheticTestSamples);
  EXPECT_EQ(test->dim, kSyntheticFeatures);
  StatusOr<FederatedData> data = LoadFederatedData(Synthetic(2, PartitionKind::kIid, 9));
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_TRUE(SameRows(*test, data->test));
}

TEST(FederatedDataTest, MaxTrainSamplesSubsamplesBeforeTheSplit) {
  FederatedDataSpec spec = Synthetic(3, PartitionKind::kIid, 2);
  spec.max_train_samples = 900;
  StatusOr<FederatedData> data = LoadFederatedData(spec);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_samples, 900u);
  EXPECT_EQ(data->partition[0].size() + data->partition[1].size() + data->partition[2].size(),
            900u);
  spec.max_train_samples = 100'000;  // more than there are: everything
  data = LoadFederatedData(spec);
  ASSERT_TRUE(data.ok()) << data.status();
  EXPECT_EQ(data->train.num_samples, kSyntheticTrainSamples);
}

TEST(FederatedDataTest, RefusesImpossibleSpecsNamingTheField) {
  struct Case {
    FederatedDataSpec spec;
    size_t part;
    std::string field;
  };
  std::vector<Case> cases;
  FederatedDataSpec base = Synthetic(4, PartitionKind::kIid, 1);
  cases.push_back({base, 4, "part"});
  FederatedDataSpec s = base;
  s.dataset = "mnist";
  cases.push_back({s, 0, "dataset"});
  s = base;
  s.num_parts = 0;
  cases.push_back({s, 0, "num_parts"});
  s = base;
  s.partition = PartitionKind::kDirichlet;
  s.dirichlet_alpha = 0;
  cases.push_back({s, 0, "dirichlet_alpha"});
  s.dirichlet_alpha = std::numeric_limits<double>::infinity();
  cases.push_back({s, 0, "dirichlet_alpha"});
  s = base;
  s.partition = PartitionKind::kShards;
  s.shards_per_part = 0;
  cases.push_back({s, 0, "shards_per_part"});
  s = base;
  s.num_parts = 5000;  // more parts than samples
  cases.push_back({s, 0, "cannot split"});
  for (const Case& c : cases) {
    StatusOr<Dataset> part = LoadFederatedPart(c.spec, c.part);
    ASSERT_FALSE(part.ok()) << c.field;
    EXPECT_EQ(part.status().code(), StatusCode::kInvalidArgument) << part.status();
    EXPECT_THAT(std::string(part.status().message()), HasSubstr(c.field));
  }
}

TEST(FederatedDataTest, MissingFashionMnistIsNotFound) {
  FederatedDataSpec spec;
  spec.dataset = "fashion-mnist";
  spec.directory = "/nonexistent/sotto-test";
  StatusOr<Dataset> test = LoadFederatedTestSet(spec);
  ASSERT_FALSE(test.ok());
  EXPECT_EQ(test.status().code(), StatusCode::kNotFound) << test.status();
}

TEST(FederatedDataTest, PartitionKindNamesRoundTrip) {
  for (PartitionKind kind :
       {PartitionKind::kIid, PartitionKind::kDirichlet, PartitionKind::kShards}) {
    StatusOr<PartitionKind> parsed = ParsePartitionKind(PartitionKindName(kind));
    ASSERT_TRUE(parsed.ok());
    EXPECT_EQ(*parsed, kind);
  }
  EXPECT_FALSE(ParsePartitionKind("random").ok());
}

}  // namespace
}  // namespace sotto::learn
