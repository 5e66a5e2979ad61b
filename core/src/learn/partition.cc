#include "sotto/core/learn/partition.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <string>
#include <utility>

#include "sotto/base/check.h"
#include "sotto/base/random.h"
#include "sotto/base/status_macros.h"

namespace sotto::learn {
namespace {

Status CheckClients(size_t num_samples, size_t num_clients) {
  if (num_clients == 0) return InvalidArgumentError("num_clients must be > 0");
  if (num_clients > num_samples) {
    return InvalidArgumentError("cannot split " + std::to_string(num_samples) + " samples among " +
                                std::to_string(num_clients) + " clients without empty ones");
  }
  return OkStatus();
}

Status CheckLabels(std::span<const int32_t> labels, int num_classes) {
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      return InvalidArgumentError("label " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is outside [0, " +
                                  std::to_string(num_classes) + ")");
    }
  }
  return OkStatus();
}

// Start of part `k` when `n` items are cut into `parts` near-equal parts (the first n % parts
// parts get one extra item). No overflow for any n.
size_t PartStart(size_t n, size_t parts, size_t k) {
  const size_t base = n / parts;
  const size_t extra = n % parts;
  return k * base + std::min(k, extra);
}

void SortEach(Partition* p) {
  for (auto& client : *p) std::sort(client.begin(), client.end());
}

// One Dirichlet draw of the split. Each class's indices are shuffled and cut at the
// cumulative proportions, rounded, so the cut points are monotone and cover the class.
Partition DrawDirichlet(const std::vector<std::vector<size_t>>& by_class, size_t num_clients,
                        double alpha, Prng& rng) {
  Partition out(num_clients);
  std::vector<double> shares(num_clients);
  for (const std::vector<size_t>& members : by_class) {
    if (members.empty()) continue;
    std::vector<size_t> shuffled = members;
    rng.Shuffle(std::span<size_t>(shuffled));
    double total = 0.0;
    for (double& share : shares) {
      share = rng.Gamma(alpha);
      total += share;
    }
    if (!(total > 0.0) || !std::isfinite(total)) {
      // With a tiny alpha every Gamma draw can underflow to 0; Dirichlet(alpha) tends to a
      // uniformly chosen vertex as alpha -> 0, so give the class to one random client.
      std::fill(shares.begin(), shares.end(), 0.0);
      shares[rng.UniformInt(num_clients)] = 1.0;
      total = 1.0;
    }
    const double n = static_cast<double>(shuffled.size());
    double cumulative = 0.0;
    size_t begin = 0;
    for (size_t c = 0; c < num_clients; ++c) {
      cumulative += shares[c];
      size_t end = c + 1 == num_clients
                       ? shuffled.size()
                       : static_cast<size_t>(std::llround(n * std::min(1.0, cumulative / total)));
      end = std::clamp(end, begin, shuffled.size());
      out[c].insert(out[c].end(), shuffled.begin() + static_cast<std::ptrdiff_t>(begin),
                    shuffled.begin() + static_cast<std::ptrdiff_t>(end));
      begin = end;
    }
  }
  return out;
}

}  // namespace

StatusOr<Partition> PartitionIid(size_t num_samples, size_t num_clients, uint64_t seed) {
  RETURN_IF_ERROR(CheckClients(num_samples, num_clients));
  std::vector<size_t> order(num_samples);
  std::iota(order.begin(), order.end(), size_t{0});
  Prng rng(seed);
  rng.Shuffle(std::span<size_t>(order));
  Partition out(num_clients);
  for (size_t c = 0; c < num_clients; ++c) {
    const size_t begin = PartStart(num_samples, num_clients, c);
    const size_t end = PartStart(num_samples, num_clients, c + 1);
    out[c].assign(order.begin() + static_cast<std::ptrdiff_t>(begin),
                  order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  SortEach(&out);
  return out;
}

StatusOr<Partition> PartitionDirichlet(std::span<const int32_t> labels, int num_classes,
                                       size_t num_clients, double alpha, uint64_t seed,
                                       size_t min_samples_per_client) {
  if (num_classes <= 0) {
    return InvalidArgumentError("num_classes must be > 0, got " + std::to_string(num_classes));
  }
  if (!std::isfinite(alpha) || alpha <= 0.0) {
    return InvalidArgumentError("Dirichlet alpha must be finite and > 0, got " +
                                std::to_string(alpha));
  }
  RETURN_IF_ERROR(CheckClients(labels.size(), num_clients));
  RETURN_IF_ERROR(CheckLabels(labels, num_classes));
  const size_t min_size = std::max<size_t>(min_samples_per_client, 1);
  if (min_size > labels.size() / num_clients) {
    return FailedPreconditionError("cannot give " + std::to_string(num_clients) +
                                   " clients at least " + std::to_string(min_size) +
                                   " samples each from " + std::to_string(labels.size()) +
                                   " samples");
  }

  std::vector<std::vector<size_t>> by_class(static_cast<size_t>(num_classes));
  for (size_t i = 0; i < labels.size(); ++i) by_class[static_cast<size_t>(labels[i])].push_back(i);

  Prng rng(seed);
  size_t smallest_client = 0;
  size_t smallest_size = 0;
  for (int attempt = 0; attempt < kMaxDirichletAttempts; ++attempt) {
    Partition out = DrawDirichlet(by_class, num_clients, alpha, rng);
    smallest_client = 0;
    for (size_t c = 1; c < num_clients; ++c) {
      if (out[c].size() < out[smallest_client].size()) smallest_client = c;
    }
    smallest_size = out[smallest_client].size();
    if (smallest_size >= min_size) {
      SortEach(&out);
      return out;
    }
  }
  return FailedPreconditionError(
      "Dirichlet partition (alpha " + std::to_string(alpha) + ", seed " + std::to_string(seed) +
      ") still left client " + std::to_string(smallest_client) + " with " +
      std::to_string(smallest_size) +
      (smallest_size == 0 ? " samples (an empty partition)" : " samples") + ", fewer than " +
      std::to_string(min_size) + ", after " + std::to_string(kMaxDirichletAttempts) +
      " draws; raise alpha, lower min_samples_per_client or use fewer clients");
}

StatusOr<Partition> PartitionShards(std::span<const int32_t> labels, size_t num_clients,
                                    size_t shards_per_client, uint64_t seed) {
  if (num_clients == 0) return InvalidArgumentError("num_clients must be > 0");
  if (shards_per_client == 0) return InvalidArgumentError("shards_per_client must be > 0");
  if (shards_per_client > labels.size() / num_clients) {
    return InvalidArgumentError("cannot cut " + std::to_string(labels.size()) + " samples into " +
                                std::to_string(num_clients) + " x " +
                                std::to_string(shards_per_client) + " non-empty shards");
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0) {
      return InvalidArgumentError("label " + std::to_string(labels[i]) + " of sample " +
                                  std::to_string(i) + " is negative");
    }
  }
  std::vector<size_t> order(labels.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Stable, so equal labels keep index order and the result depends on the seed alone.
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return labels[a] < labels[b]; });

  const size_t num_shards = num_clients * shards_per_client;
  std::vector<size_t> shard_ids(num_shards);
  std::iota(shard_ids.begin(), shard_ids.end(), size_t{0});
  Prng rng(seed);
  rng.Shuffle(std::span<size_t>(shard_ids));

  Partition out(num_clients);
  for (size_t k = 0; k < num_shards; ++k) {
    const size_t shard = shard_ids[k];
    const size_t begin = PartStart(order.size(), num_shards, shard);
    const size_t end = PartStart(order.size(), num_shards, shard + 1);
    std::vector<size_t>& client = out[k / shards_per_client];
    client.insert(client.end(), order.begin() + static_cast<std::ptrdiff_t>(begin),
                  order.begin() + static_cast<std::ptrdiff_t>(end));
  }
  SortEach(&out);
  return out;
}

std::vector<std::vector<size_t>> LabelCounts(const Partition& p, std::span<const int32_t> labels,
                                             int num_classes) {
  SOTTO_CHECK(num_classes > 0) << "num_classes " << num_classes;
  std::vector<std::vector<size_t>> counts(p.size(),
                                          std::vector<size_t>(static_cast<size_t>(num_classes)));
  for (size_t c = 0; c < p.size(); ++c) {
    for (size_t i : p[c]) {
      SOTTO_CHECK(i < labels.size())
          << "client " << c << " holds sample " << i << " of " << labels.size();
      const int32_t label = labels[i];
      SOTTO_CHECK(label >= 0 && label < num_classes)
          << "label " << label << " of sample " << i << " outside [0, " << num_classes << ")";
      ++counts[c][static_cast<size_t>(label)];
    }
  }
  return counts;
}

}  // namespace sotto::learn
