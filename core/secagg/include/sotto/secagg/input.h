#pragma once

// What a client feeds into a round and what the server gets out of it, in ring elements, plus
// the conversions from and to real values.
//
// A client's input is |S| ring elements (element i for coordinate S[i]) and a weight. Each
// element is a two's-complement encoding (crypto/fixed_point.h) of an integer q with |q| <= M,
// M = ceil(clip * scale) of the round's FixedPointConfig; the weight is an integer in
// [1, max_weight]. The server learns only the ring sums over the clients that contributed, and
// refuses (DataLoss) a sum that n honest inputs could not produce (BAD_INPUTS row 21).
//
// Weighted mean: EncodeClientInput encodes x * (w / max_weight) with the weight w, so the server
// sums sum_u w_u x_u / max_weight and sum_u w_u without seeing any single weight, and
// DecodeWeightedMean divides. (Flower's SecAgg+ scales by num_examples / max_weight the same way.)
//
// Thread-safety: plain values and pure functions (EncodeClientInput uses the caller's Prng).

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/secagg/config.h"

namespace sotto::secagg {

struct ClientInput {
  std::vector<uint64_t> values;  // |S| ring elements (< 2^w), signed magnitude <= M
  uint64_t weight = 1;           // in [1, max_weight]
};

// OK or InvalidArgument: wrong length (row 6), an element >= 2^w (row 7) or of magnitude > M,
// weight 0 or above max_weight (row 20). Checked by SecAggClient::Create: a client refuses to
// take part with an input it could not honestly send.
Status ValidateClientInput(const RoundConfig& config, const ClientInput& input);

// Encodes real values on the support (values[i] for coordinate S[i]) scaled by
// weight / max_weight, with stochastic rounding from `prng`. InvalidArgument for a non-finite
// value (row 8), a weight that is not finite, <= 0, above max_weight, or rounds to 0 units
// (row 20), or a wrong length. The weight is rounded to the nearest integer unit.
StatusOr<ClientInput> EncodeClientInput(const RoundConfig& config, std::span<const float> values,
                                        double weight, Prng& prng);

// A 0/1 input on a dense support of `dim`: 1 at each of `chosen` (ascending, < dim). The
// counting round of the union_threshold policy (sotto/secagg/support.h) sums these; its config
// needs M >= 1 (e.g. clip = 1, scale = 1). Weight 1.
StatusOr<ClientInput> IndicatorInput(const RoundConfig& config, std::span<const uint32_t> chosen);

// The outcome of a completed round.
struct AggregateResult {
  std::vector<uint64_t> sum;           // |S| ring elements: the sum over `contributors`
  uint64_t weight_sum = 0;             // the sum of their weights
  std::vector<uint64_t> contributors;  // U3: the clients whose masked input is in the sum
};

// The ring sums read as signed integers (two's complement in the round's ring).
std::vector<int64_t> SignedSums(const RoundConfig& config, const AggregateResult& result);

// sum_u w_u x_u / sum_u w_u on the support, from inputs made by EncodeClientInput. DataLoss for
// a sum out of range (row 21); InvalidArgument for a result that does not fit the config.
StatusOr<std::vector<double>> DecodeWeightedMean(const RoundConfig& config,
                                                 const AggregateResult& result);

}  // namespace sotto::secagg
