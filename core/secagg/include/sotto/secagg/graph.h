#pragma once

// The neighbourhood graph of a round: who masks with whom and who holds whose Shamir shares.
//
// - Complete graph (RoundConfig::degree == 0): SecAgg (Bonawitz et al. 2017). Every client is
//   every other client's neighbour.
// - SecAgg+ (degree k, even): a circulant (Harary) graph over a random labelling, as in Bell et
//   al. 2020 and Flower's SecAggPlusWorkflow. Specification (a protocol contract: all parties
//   must compute the same graph): sort the client ids ascending, shuffle that array with
//   sotto::Prng(graph_seed).Shuffle (Fisher-Yates, base/random.h), and call the result the
//   ring; client at ring position p has the neighbours at positions p +- 1, ..., p +- k/2
//   (mod n).
//
// The closed neighbourhood N[u] is u and its neighbours, ascending by id; num_shares() = |N[u]|
// (n for the complete graph, k + 1 for SecAgg+). Client u Shamir-shares its secrets t-of-|N[u]|
// and gives the share with x = 1 + (position of w in N[u]) to member w (ShareIndex); u keeps
// its own.
//
// Thread-safety: immutable after Create; const methods may run concurrently.

#include <cstddef>
#include <cstdint>
#include <span>
#include <unordered_map>
#include <vector>

#include "sotto/base/statusor.h"
#include "sotto/secagg/config.h"

namespace sotto::secagg {

class NeighbourGraph {
 public:
  // The graph of config.client_ids / degree / graph_seed. InvalidArgument for repeated ids, an
  // odd degree, or a degree outside [2, n - 2] (0 means complete).
  static StatusOr<NeighbourGraph> Create(const RoundConfig& config);

  size_t num_clients() const { return ids_.size(); }
  bool is_complete() const { return degree_ == 0; }
  // |N[u]|, the same for every client.
  uint32_t num_shares() const;
  // All client ids, ascending.
  std::span<const uint64_t> ids() const { return ids_; }

  // The dense index (position in ids()) of `id`, or -1 if it is not a client of the round.
  int64_t IndexOf(uint64_t id) const;
  bool Contains(uint64_t id) const { return IndexOf(id) >= 0; }

  // N[u] ascending (u included). `id` must be a client (checked).
  std::vector<uint64_t> ClosedNeighbourhood(uint64_t id) const;
  // N[u] as dense indices, ascending.
  std::vector<uint32_t> ClosedNeighbourhoodIndices(uint32_t index) const;
  // Whether a and b (clients, a != b) are neighbours.
  bool AreNeighbours(uint64_t a, uint64_t b) const;
  // The Shamir x (1-based) of `member` in owner's closed neighbourhood, 0 if not a member.
  uint32_t ShareIndex(uint64_t owner, uint64_t member) const;

 private:
  NeighbourGraph() = default;

  std::vector<uint64_t> ids_;                        // ascending
  std::unordered_map<uint64_t, uint32_t> index_of_;  // id -> position in ids_
  uint32_t degree_ = 0;                              // 0: complete
  std::vector<uint32_t> ring_position_;              // dense index -> ring position (SecAgg+)
  std::vector<uint32_t> at_ring_position_;           // ring position -> dense index
};

}  // namespace sotto::secagg
