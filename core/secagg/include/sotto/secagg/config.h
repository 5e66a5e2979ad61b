#pragma once

// The public parameters of one secure-aggregation round, shared by the coordinator and every
// selected client (they arrive with RoundStart; the protobuf schema comes with the network
// issue). Everything here is public: no secret ever lives in a RoundConfig.
//
// - Support: the coordinates the masked vector lives on, either all of 0..dim-1 (`dense`) or
//   an ascending index set (the sparse policies of sotto/secagg/support.h). A client's input and
//   its masks are |S| ring elements, element i standing for coordinate S[i]; masks come from
//   MaskPrg at the element's position i (default) or at the global coordinate S[i]
//   (MaskIndexing), and cancel because all parties of a round share S.
// - RoundConfig: who takes part, the Shamir threshold, the neighbourhood graph (complete for
//   SecAgg, a random k-regular circulant graph for SecAgg+: sotto/secagg/graph.h), the ring and
//   fixed-point encoding, the largest weight a client may contribute, and the support.
//
// ValidateRoundConfig states every rule (BAD_INPUTS row 25: InvalidArgument naming the
// field). Both SecAggClient::Create and SecAggServer::Create call it.
//
// Thread-safety: immutable values; a Support shares its index array between copies (copies
// are cheap: a round's config is given to every in-process client of a simulation).

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/crypto/fixed_point.h"

namespace sotto::secagg {

// Largest dimension of a support: coordinates are uint32_t (the mask generator's range).
inline constexpr uint64_t kMaxSupportDim = uint64_t{1} << 32;
// Most clients in one round (the Shamir share limit).
inline constexpr uint64_t kMaxRoundClients = uint64_t{1} << 20;

class Support {
 public:
  // An empty sparse support of dimension 0 (refused by ValidateRoundConfig).
  Support();

  // Every coordinate 0..dim-1; dim in [1, kMaxSupportDim].
  static StatusOr<Support> Dense(uint64_t dim);
  // The coordinates `indices` (strictly ascending, each < dim; may be empty) of a vector of
  // dimension dim in [1, kMaxSupportDim]. InvalidArgument otherwise.
  static StatusOr<Support> Sparse(uint64_t dim, std::vector<uint32_t> indices);

  bool is_dense() const { return dense_; }
  uint64_t dim() const { return dim_; }
  // |S|: the number of ring elements of an input.
  size_t size() const;
  // The coordinates; empty for a dense support (use Coordinate(i) = i).
  std::span<const uint32_t> indices() const;
  // The coordinate of element i < size().
  uint64_t Coordinate(size_t i) const { return dense_ ? i : (*indices_)[i]; }

  friend bool operator==(const Support& a, const Support& b);

 private:
  Support(bool dense, uint64_t dim, std::shared_ptr<const std::vector<uint32_t>> indices);

  bool dense_ = false;
  uint64_t dim_ = 0;
  // Immutable and shared between copies of the config; null for a dense support.
  std::shared_ptr<const std::vector<uint32_t>> indices_;
};

// The policy that chose a round's support (sotto/secagg/support.h). Recorded in the config for
// logs and metrics, and checked against the support: kDense goes with a dense support, every
// other policy with a sparse one.
enum class SupportPolicy : uint8_t {
  kDense = 0,
  kSharedRandom = 1,
  kGlobalTopK = 2,
  kUnionThreshold = 3,
};

// How a ring element of the support finds its mask in a seed's keystream (a protocol contract:
// every party of a round uses the config's choice). Identical for a dense support.
//   kSupportPosition (the default): element i takes keystream word i (MaskPrg::ApplyDense over
//     |S|). One dense expansion of |S| words per seed: at 1 % density about 3x cheaper for the
//     client and 5-6x for the server than kCoordinate (docs/BENCHMARKS.md).
//   kCoordinate: element i takes the mask of its global coordinate S[i] (MaskPrg::ApplySparse):
//     one ChaCha20 block per isolated coordinate, about 18 ns per element and seed at 1 %
//     density.
// Why position indexing is as safe in sotto's model. A mask is a one-time pad: what matters is
// that no keystream word of a (seed, stream) masks two different values. Every seed masks
// exactly one vector once: the self-mask seed is drawn fresh for each SecAggClient (one round),
// and a pair seed is bound by its KDF to the run, the round and the pair (key_agreement.h) and
// comes from keys generated for that round; the weight uses its own stream. Within the vector,
// word i masks element i only, under either indexing. The masks cancel because every party uses
// the same support S, which the config carries and every policy of sotto/secagg/support.h makes
// common. What differs is only a coordinator that breaks the protocol by giving different
// clients different supports of the same size (nothing in the messages binds S): by coordinate,
// masks at coordinates the clients do not share stay on and that part of the sum is noise; by
// position they cancel anyway, and the coordinator gets, per position, the survivors' sum of
// values at coordinates it chose per client (still a sum over all survivors, never one client's
// value). That is an actively malicious coordinator, outside the honest-but-curious model of
// docs/SECURITY.md (which lists active coordinators as an open limitation); deployments that
// want the fail-closed behaviour against it can choose kCoordinate.
enum class MaskIndexing : uint8_t {
  kCoordinate = 0,
  kSupportPosition = 1,
};

struct RoundConfig {
  uint64_t run_id = 0;
  uint64_t round_id = 0;
  // The selected clients (distinct ids, any order). n = client_ids.size().
  std::vector<uint64_t> client_ids;
  // t: shares needed to rebuild a client's secret, counted in its closed neighbourhood
  // (itself included). NeighbourGraph::num_shares() / 2 < t <= num_shares() (a majority, so
  // that a server cannot collect two disjoint t-sets: Bonawitz et al. section 4).
  uint32_t threshold = 0;
  // 0: the complete graph (SecAgg). Otherwise the even degree k of a SecAgg+ graph,
  // 2 <= k < n - 1 (use 0 for k >= n - 1). RecommendedSecAggPlusDegree gives O(log n).
  uint32_t degree = 0;
  // Public seed of the SecAgg+ graph's random labelling (ignored for the complete graph).
  uint64_t graph_seed = 0;
  // The ring and the encoding of real inputs; fixed_point.max_clients must be >= n, so that n
  // inputs of magnitude <= M = ceil(clip * scale) cannot wrap (FixedPointCodec::Create).
  crypto::FixedPointConfig fixed_point;
  // Largest weight (ring units, e.g. examples) one client contributes; >= 1 and
  // n * max_weight < 2^(w-1).
  uint64_t max_weight = 1;
  // Where the masked vector lives, and which policy chose it.
  Support support;
  SupportPolicy support_policy = SupportPolicy::kDense;
  // Where its masks come from in each keystream (see MaskIndexing).
  MaskIndexing mask_indexing = MaskIndexing::kSupportPosition;
};

// OK or InvalidArgument naming the offending field.
Status ValidateRoundConfig(const RoundConfig& config);

// A SecAgg+ degree of O(log n), as Flower and our crypto benchmark size neighbourhoods: the
// closed neighbourhood has num_shares = ceil(3 log2 n) made odd members, so the degree is the
// even k = num_shares - 1; returns 0 (the complete graph) when k >= n - 1. (A smaller fixed
// degree can be enough: degree 6 with threshold 4 is at least as safe as Flower's SecAgg+ with 3
// shares and threshold 2 in neighbours, colluders needed and dropouts tolerated, and at n = 100,
// d = 10^6 a client round costs about a third of one at degree 20; but with 10 % random dropouts
// about 8 % of its rounds lose a secret and abort, against none at degree 20.
// docs/BENCHMARKS.md.)
uint32_t RecommendedSecAggPlusDegree(uint64_t num_clients);
// The smallest threshold ValidateRoundConfig accepts for `num_shares`: num_shares / 2 + 1.
uint32_t MajorityThreshold(uint32_t num_shares);

// 2^(ring bits) - 1: every valid ring element is <= this (row 7).
uint64_t RingMaxElement(crypto::Ring ring);

}  // namespace sotto::secagg
