#include "sotto/secagg/graph.h"

#include <algorithm>
#include <string>

#include "sotto/base/check.h"
#include "sotto/base/random.h"

namespace sotto::secagg {

StatusOr<NeighbourGraph> NeighbourGraph::Create(const RoundConfig& config) {
  NeighbourGraph graph;
  graph.ids_ = config.client_ids;
  std::sort(graph.ids_.begin(), graph.ids_.end());
  if (std::adjacent_find(graph.ids_.begin(), graph.ids_.end()) != graph.ids_.end()) {
    return InvalidArgumentError("client_ids: an id is repeated");
  }
  const size_t n = graph.ids_.size();
  if (n > kMaxRoundClients) {
    return InvalidArgumentError("client_ids: more than 2^20 clients");
  }
  if (config.degree != 0) {
    if (config.degree % 2 != 0 || config.degree < 2 || config.degree + 2 > n) {
      return InvalidArgumentError(
          "degree: " + std::to_string(config.degree) +
          " must be even and in [2, n - 2] (0 = complete graph), n = " + std::to_string(n));
    }
  }
  graph.degree_ = config.degree;
  graph.index_of_.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    graph.index_of_.emplace(graph.ids_[i], static_cast<uint32_t>(i));
  }
  if (graph.degree_ != 0) {
    // The ring: the ascending ids shuffled by Prng(graph_seed) (the header's specification).
    graph.at_ring_position_.resize(n);
    for (size_t i = 0; i < n; ++i) {
      graph.at_ring_position_[i] = static_cast<uint32_t>(i);
    }
    Prng prng(config.graph_seed);
    prng.Shuffle(std::span<uint32_t>(graph.at_ring_position_));
    graph.ring_position_.resize(n);
    for (size_t p = 0; p < n; ++p) {
      graph.ring_position_[graph.at_ring_position_[p]] = static_cast<uint32_t>(p);
    }
  }
  return graph;
}

uint32_t NeighbourGraph::num_shares() const {
  return degree_ == 0 ? static_cast<uint32_t>(ids_.size()) : degree_ + 1;
}

int64_t NeighbourGraph::IndexOf(uint64_t id) const {
  auto it = index_of_.find(id);
  return it == index_of_.end() ? -1 : static_cast<int64_t>(it->second);
}

std::vector<uint32_t> NeighbourGraph::ClosedNeighbourhoodIndices(uint32_t index) const {
  SOTTO_CHECK(index < ids_.size());
  std::vector<uint32_t> out;
  if (degree_ == 0) {
    out.resize(ids_.size());
    for (size_t i = 0; i < out.size(); ++i) {
      out[i] = static_cast<uint32_t>(i);
    }
    return out;
  }
  const size_t n = ids_.size();
  const size_t p = ring_position_[index];
  out.reserve(degree_ + 1);
  out.push_back(index);
  for (size_t step = 1; step <= degree_ / 2; ++step) {
    out.push_back(at_ring_position_[(p + step) % n]);
    out.push_back(at_ring_position_[(p + n - step) % n]);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<uint64_t> NeighbourGraph::ClosedNeighbourhood(uint64_t id) const {
  const int64_t index = IndexOf(id);
  SOTTO_CHECK(index >= 0) << "not a client of the round";
  std::vector<uint64_t> out;
  for (uint32_t i : ClosedNeighbourhoodIndices(static_cast<uint32_t>(index))) {
    out.push_back(ids_[i]);
  }
  return out;
}

bool NeighbourGraph::AreNeighbours(uint64_t a, uint64_t b) const {
  const int64_t ia = IndexOf(a);
  const int64_t ib = IndexOf(b);
  if (ia < 0 || ib < 0 || ia == ib) {
    return false;
  }
  if (degree_ == 0) {
    return true;
  }
  const size_t n = ids_.size();
  const size_t pa = ring_position_[ia];
  const size_t pb = ring_position_[ib];
  const size_t diff = pa > pb ? pa - pb : pb - pa;
  return std::min(diff, n - diff) <= degree_ / 2;
}

uint32_t NeighbourGraph::ShareIndex(uint64_t owner, uint64_t member) const {
  const int64_t io = IndexOf(owner);
  const int64_t im = IndexOf(member);
  if (io < 0 || im < 0) {
    return 0;
  }
  if (degree_ == 0) {
    return static_cast<uint32_t>(im) + 1;
  }
  if (io != im && !AreNeighbours(owner, member)) {
    return 0;
  }
  const auto members = ClosedNeighbourhoodIndices(static_cast<uint32_t>(io));
  auto it = std::lower_bound(members.begin(), members.end(), static_cast<uint32_t>(im));
  return static_cast<uint32_t>(it - members.begin()) + 1;
}

}  // namespace sotto::secagg
