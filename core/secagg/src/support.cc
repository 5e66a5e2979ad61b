#include "sotto/secagg/support.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <vector>

#include "sotto/base/status_macros.h"
#include "sotto/kernels/select.h"
#include "sotto/kernels/topk.h"

namespace sotto::secagg {

std::string_view SupportPolicyName(SupportPolicy policy) {
  switch (policy) {
    case SupportPolicy::kDense:
      return "dense";
    case SupportPolicy::kSharedRandom:
      return "shared_random";
    case SupportPolicy::kGlobalTopK:
      return "global_topk";
    case SupportPolicy::kUnionThreshold:
      return "union_threshold";
  }
  return "unknown";
}

StatusOr<Support> SharedRandomSupport(uint64_t dim, uint64_t size, uint64_t seed) {
  if (dim == 0 || dim > kMaxSupportDim || size > dim) {
    return InvalidArgumentError("shared_random: size " + std::to_string(size) + " of dim " +
                                std::to_string(dim));
  }
  std::vector<uint32_t> indices(size);
  std::vector<std::byte> scratch(kernels::RandomKScratchBytes(dim));
  RETURN_IF_ERROR(kernels::RandomK(dim, size, seed, indices, scratch));
  return Support::Sparse(dim, std::move(indices));
}

StatusOr<Support> GlobalTopKSupport(std::span<const float> previous_aggregate, uint64_t top_k,
                                    uint64_t explore, uint64_t seed) {
  const uint64_t dim = previous_aggregate.size();
  if (dim == 0 || dim >= kMaxSupportDim || top_k > dim || explore > dim - top_k) {
    return InvalidArgumentError("global_topk: top_k " + std::to_string(top_k) + " + explore " +
                                std::to_string(explore) + " of dim " + std::to_string(dim));
  }
  for (float v : previous_aggregate) {
    if (!std::isfinite(v)) {
      return InvalidArgumentError("global_topk: the previous aggregate is not finite");
    }
  }
  std::vector<uint32_t> top(top_k);
  {
    std::vector<std::byte> scratch(kernels::TopKScratchBytes(dim, top_k));
    ASSIGN_OR_RETURN(auto selected, kernels::TopK(previous_aggregate, top_k, top, {}, scratch));
    (void)selected;
  }
  // Exploration: ranks in the complement (ascending), mapped to coordinates by one walk.
  std::vector<uint32_t> ranks(explore);
  {
    std::vector<std::byte> scratch(kernels::RandomKScratchBytes(dim - top_k));
    RETURN_IF_ERROR(kernels::RandomK(dim - top_k, explore, seed, ranks, scratch));
  }
  std::vector<uint32_t> indices;
  indices.reserve(top_k + explore);
  size_t t = 0;  // next top-k coordinate
  size_t r = 0;  // next exploration rank
  uint64_t rank = 0;
  for (uint64_t i = 0; i < dim && (t < top.size() || r < ranks.size()); ++i) {
    if (t < top.size() && top[t] == i) {
      indices.push_back(static_cast<uint32_t>(i));
      ++t;
      continue;
    }
    if (r < ranks.size() && ranks[r] == rank) {
      indices.push_back(static_cast<uint32_t>(i));
      ++r;
    }
    ++rank;
  }
  return Support::Sparse(dim, std::move(indices));
}

StatusOr<Support> UnionThresholdSupport(std::span<const int64_t> counts, uint64_t min_count) {
  if (min_count == 0) {
    return InvalidArgumentError("union_threshold: min_count must be >= 1");
  }
  std::vector<uint32_t> indices;
  for (size_t i = 0; i < counts.size(); ++i) {
    if (counts[i] < 0) {
      return InvalidArgumentError("union_threshold: negative count at " + std::to_string(i));
    }
    if (static_cast<uint64_t>(counts[i]) >= min_count) {
      indices.push_back(static_cast<uint32_t>(i));
    }
  }
  return Support::Sparse(counts.size(), std::move(indices));
}

}  // namespace sotto::secagg
