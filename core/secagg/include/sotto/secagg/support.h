#pragma once

// Support policies: where the masked vector of a round lives (docs/ARCHITECTURE.md, "Support
// policies for secure aggregation on sparse vectors"). Masks cancel only where every party uses
// the same coordinates, so the support is fixed before masking and is the same for everyone.
// Each function here is a pure function of public inputs, so the coordinator and every client
// compute the same set; the set goes into RoundConfig::support.
//
//   dense           Support::Dense(d): classic SecAgg / SecAgg+ over the whole vector.
//   shared_random   K coordinates from a public per-round seed (kernels::RandomK: the same on
//                   every machine). Leaks nothing beyond the aggregate.
//   global_topk     the top-K coordinates by magnitude of the previous round's aggregate (public
//                   to the coordinator anyway; exact, ties to the lower index) plus E coordinates
//                   drawn uniformly (seeded) from the rest, as exploration. Leaks nothing beyond
//                   aggregates.
//   union_threshold clients' own top-k sets, keeping a coordinate only if at least
//                   `min_count` clients chose it. The counts come from a first, dense secure
//                   aggregation of 0/1 indicator inputs (IndicatorInput in input.h) with this
//                   same protocol; UnionThresholdSupport then keeps {i : count_i >= min_count}.
//                   What the coordinator learns: the whole count vector (how many clients chose
//                   each coordinate, never which ones), the resulting support, and then the sum
//                   of every contributing client's value on it (clients that did not choose a
//                   kept coordinate still send their value there). A count of 1 tells that one
//                   client alone chose the coordinate (not which). The counting round costs a
//                   dense round over d in the 0/1 ring values.
//
// Errors are InvalidArgument (a size above d, a d out of range, a non-finite aggregate).

#include <cstdint>
#include <span>
#include <string_view>

#include "sotto/base/statusor.h"
#include "sotto/secagg/config.h"

namespace sotto::secagg {

// SupportPolicy is declared in sotto/secagg/config.h (RoundConfig records it).
// "dense", "shared_random", "global_topk", "union_threshold".
std::string_view SupportPolicyName(SupportPolicy policy);

// `size` distinct coordinates of 0..dim-1 from the public `seed` (kernels::RandomK's
// specification).
StatusOr<Support> SharedRandomSupport(uint64_t dim, uint64_t size, uint64_t seed);

// The top_k coordinates of |previous_aggregate| (dim = its length) plus `explore` coordinates
// uniformly from the others (RandomK over the complement's ranks with `seed`). NaN/Inf in the
// aggregate, or top_k + explore > dim, is InvalidArgument.
StatusOr<Support> GlobalTopKSupport(std::span<const float> previous_aggregate, uint64_t top_k,
                                    uint64_t explore, uint64_t seed);

// {i : counts[i] >= min_count} of dim = counts.size(); min_count >= 1. The counts are the
// signed sums of a counting round (SignedSums); a negative count is InvalidArgument.
StatusOr<Support> UnionThresholdSupport(std::span<const int64_t> counts, uint64_t min_count);

}  // namespace sotto::secagg
