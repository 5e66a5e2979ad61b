#include "sotto/secagg/config.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "sotto/secagg/graph.h"

namespace sotto::secagg {

Support::Support() = default;

Support::Support(bool dense, uint64_t dim, std::shared_ptr<const std::vector<uint32_t>> indices)
    : dense_(dense), dim_(dim), indices_(std::move(indices)) {}

StatusOr<Support> Support::Dense(uint64_t dim) {
  if (dim == 0 || dim > kMaxSupportDim) {
    return InvalidArgumentError("support: dim " + std::to_string(dim) + " not in [1, 2^32]");
  }
  return Support(true, dim, nullptr);
}

StatusOr<Support> Support::Sparse(uint64_t dim, std::vector<uint32_t> indices) {
  if (dim == 0 || dim > kMaxSupportDim) {
    return InvalidArgumentError("support: dim " + std::to_string(dim) + " not in [1, 2^32]");
  }
  for (size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= dim) {
      return InvalidArgumentError("support: index " + std::to_string(indices[i]) + " >= dim " +
                                  std::to_string(dim));
    }
    if (i > 0 && indices[i - 1] >= indices[i]) {
      return InvalidArgumentError("support: indices not strictly ascending at position " +
                                  std::to_string(i));
    }
  }
  return Support(false, dim, std::make_shared<const std::vector<uint32_t>>(std::move(indices)));
}

size_t Support::size() const {
  if (dense_) {
    return static_cast<size_t>(dim_);
  }
  return indices_ ? indices_->size() : 0;
}

std::span<const uint32_t> Support::indices() const {
  if (dense_ || !indices_) {
    return {};
  }
  return *indices_;
}

bool operator==(const Support& a, const Support& b) {
  if (a.dense_ != b.dense_ || a.dim_ != b.dim_) {
    return false;
  }
  const auto ia = a.indices();
  const auto ib = b.indices();
  return std::equal(ia.begin(), ia.end(), ib.begin(), ib.end());
}

uint64_t RingMaxElement(crypto::Ring ring) {
  return ring == crypto::Ring::kRing32 ? uint64_t{0xffffffff} : ~uint64_t{0};
}

uint32_t MajorityThreshold(uint32_t num_shares) { return num_shares / 2 + 1; }

uint32_t RecommendedSecAggPlusDegree(uint64_t num_clients) {
  if (num_clients < 2) {
    return 0;
  }
  uint64_t shares = static_cast<uint64_t>(std::ceil(3.0 * std::log2(double(num_clients))));
  if (shares % 2 == 0) {
    ++shares;
  }
  const uint64_t degree = shares - 1;
  if (degree + 1 >= num_clients) {
    return 0;
  }
  return static_cast<uint32_t>(degree);
}

Status ValidateRoundConfig(const RoundConfig& config) {
  const uint64_t n = config.client_ids.size();
  if (n < 2 || n > kMaxRoundClients) {
    return InvalidArgumentError("client_ids: " + std::to_string(n) + " clients, want 2 .. 2^20");
  }
  // Ids distinct, degree even and in range (the graph refuses the rest).
  auto graph = NeighbourGraph::Create(config);
  if (!graph.ok()) {
    return graph.status();
  }
  const uint32_t shares = graph->num_shares();
  if (config.threshold < MajorityThreshold(shares) || config.threshold > shares) {
    return InvalidArgumentError("threshold: " + std::to_string(config.threshold) + " not in [" +
                                std::to_string(MajorityThreshold(shares)) + ", " +
                                std::to_string(shares) + "] for " + std::to_string(shares) +
                                " shares per client");
  }
  if (config.fixed_point.max_clients < n) {
    return InvalidArgumentError(
        "fixed_point.max_clients: " + std::to_string(config.fixed_point.max_clients) +
        " < n = " + std::to_string(n));
  }
  auto codec = crypto::FixedPointCodec::Create(config.fixed_point);
  if (!codec.ok()) {
    return codec.status().WithContext("fixed_point");
  }
  const uint64_t half_ring = RingMaxElement(config.fixed_point.ring) / 2;  // 2^(w-1) - 1
  if (config.max_weight == 0 || config.max_weight > half_ring / n) {
    return InvalidArgumentError("max_weight: " + std::to_string(config.max_weight) +
                                " not in [1, (2^(w-1) - 1) / n]");
  }
  if (config.mask_indexing != MaskIndexing::kCoordinate &&
      config.mask_indexing != MaskIndexing::kSupportPosition) {
    return InvalidArgumentError("mask_indexing: unknown value");
  }
  if (config.support.dim() == 0) {
    return InvalidArgumentError("support: not set (dim 0)");
  }
  const bool want_dense = config.support_policy == SupportPolicy::kDense;
  if (static_cast<uint8_t>(config.support_policy) > 3) {
    return InvalidArgumentError("support_policy: unknown value");
  }
  if (config.support.is_dense() != want_dense) {
    return InvalidArgumentError(
        std::string("support_policy: ") +
        (want_dense ? "dense needs a dense support" : "a sparse policy needs a sparse support"));
  }
  return OkStatus();
}

}  // namespace sotto::secagg
