#pragma once

// Splitting one dataset's samples among simulated clients.
//
// A Partition lists, for each client, the indices of its samples in ascending order; every
// sample belongs to exactly one client and no client is empty. Three schemes:
//   PartitionIid        a uniformly random split into near-equal parts (sizes differ by <= 1)
//   PartitionDirichlet  label skew: for each class, the shares of the clients are drawn from
//                       Dirichlet(alpha, ..., alpha) (Hsu et al. 2019); small alpha gives
//                       each client few classes, large alpha approaches IID
//   PartitionShards     pathological skew (McMahan et al. 2017): sort by label, cut into
//                       num_clients * shards_per_client near-equal shards, deal
//                       shards_per_client of them at random to each client. A shard holds one
//                       label when class sizes are multiples of the shard size (as in
//                       Fashion-MNIST with 200 shards), so each client sees at most
//                       shards_per_client labels; otherwise a shard at a class boundary holds
//                       the end of one class and the start of the next.
// All are deterministic in `seed` (sotto::Prng: the same on every platform). Use
// Dataset::Subset(partition[c]) to materialise client c's data.
//
// Errors: InvalidArgument for 0 clients, more clients (or shards) than samples, alpha <= 0 or
// not finite, labels outside [0, num_classes); FailedPrecondition when the Dirichlet draw
// cannot give every client at least min_samples_per_client samples within
// kMaxDirichletAttempts draws, or cannot possibly (num_clients * min > num_samples).
// Thread-safe (no shared state).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/statusor.h"

namespace sotto::learn {

using Partition = std::vector<std::vector<size_t>>;

// How many times PartitionDirichlet redraws before giving up.
inline constexpr int kMaxDirichletAttempts = 1000;

StatusOr<Partition> PartitionIid(size_t num_samples, size_t num_clients, uint64_t seed);

// Label-skewed split of the samples whose labels are `labels` (each in [0, num_classes)).
// Redraws until every client has at least max(min_samples_per_client, 1) samples.
StatusOr<Partition> PartitionDirichlet(std::span<const int32_t> labels, int num_classes,
                                       size_t num_clients, double alpha, uint64_t seed,
                                       size_t min_samples_per_client = 10);

// Shard split; labels must be >= 0 and num_clients * shards_per_client <= labels.size().
StatusOr<Partition> PartitionShards(std::span<const int32_t> labels, size_t num_clients,
                                    size_t shards_per_client, uint64_t seed);

// counts[c][k] = how many of client c's samples have label k. For reports. Every index in
// `p` must be < labels.size() and every label in [0, num_classes) (checked: a violation is a
// programming error and aborts).
std::vector<std::vector<size_t>> LabelCounts(const Partition& p, std::span<const int32_t> labels,
                                             int num_classes);

}  // namespace sotto::learn
