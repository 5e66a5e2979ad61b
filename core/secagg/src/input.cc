#include "sotto/secagg/input.h"

#include <cmath>
#include <string>

#include "sotto/base/status_macros.h"
#include "sotto/crypto/fixed_point.h"

namespace sotto::secagg {
namespace {

bool Is32(const RoundConfig& config) { return config.fixed_point.ring == crypto::Ring::kRing32; }

// The element read as a two's-complement integer of the ring.
int64_t Signed(const RoundConfig& config, uint64_t element) {
  return Is32(config) ? static_cast<int64_t>(static_cast<int32_t>(static_cast<uint32_t>(element)))
                      : static_cast<int64_t>(element);
}

uint64_t Magnitude(int64_t q) {
  return q < 0 ? uint64_t{0} - static_cast<uint64_t>(q) : static_cast<uint64_t>(q);
}

}  // namespace

Status ValidateClientInput(const RoundConfig& config, const ClientInput& input) {
  if (input.values.size() != config.support.size()) {
    return InvalidArgumentError("input: " + std::to_string(input.values.size()) +
                                " values, support has " + std::to_string(config.support.size()));
  }
  ASSIGN_OR_RETURN(auto codec, crypto::FixedPointCodec::Create(config.fixed_point));
  const uint64_t max_element = RingMaxElement(config.fixed_point.ring);
  const uint64_t max_magnitude = codec.max_magnitude();
  for (size_t i = 0; i < input.values.size(); ++i) {
    if (input.values[i] > max_element) {
      return InvalidArgumentError("input: value " + std::to_string(i) + " >= ring modulus");
    }
    if (Magnitude(Signed(config, input.values[i])) > max_magnitude) {
      return InvalidArgumentError("input: value " + std::to_string(i) +
                                  " has magnitude above M = " + std::to_string(max_magnitude));
    }
  }
  if (input.weight == 0 || input.weight > config.max_weight) {
    return InvalidArgumentError("input: weight " + std::to_string(input.weight) +
                                " not in [1, max_weight = " + std::to_string(config.max_weight) +
                                "]");
  }
  return OkStatus();
}

StatusOr<ClientInput> EncodeClientInput(const RoundConfig& config, std::span<const float> values,
                                        double weight, Prng& prng) {
  if (!std::isfinite(weight) || weight <= 0.0 || weight > static_cast<double>(config.max_weight)) {
    return InvalidArgumentError("weight " + std::to_string(weight) +
                                " must be finite and in (0, max_weight]");
  }
  const double units = std::nearbyint(weight);
  if (units < 1.0) {
    return InvalidArgumentError("weight " + std::to_string(weight) + " rounds to 0 units");
  }
  if (values.size() != config.support.size()) {
    return InvalidArgumentError("input: " + std::to_string(values.size()) +
                                " values, support has " + std::to_string(config.support.size()));
  }
  ASSIGN_OR_RETURN(auto codec, crypto::FixedPointCodec::Create(config.fixed_point));
  const double factor = units / static_cast<double>(config.max_weight);
  std::vector<double> scaled(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    scaled[i] = static_cast<double>(values[i]) * factor;
  }
  ClientInput input;
  input.weight = static_cast<uint64_t>(units);
  input.values.resize(values.size());
  if (Is32(config)) {
    std::vector<uint32_t> words(values.size());
    RETURN_IF_ERROR(codec.Encode(std::span<const double>(scaled), prng, std::span(words)));
    for (size_t i = 0; i < words.size(); ++i) {
      input.values[i] = words[i];
    }
  } else {
    RETURN_IF_ERROR(codec.Encode(std::span<const double>(scaled), prng, std::span(input.values)));
  }
  return input;
}

StatusOr<ClientInput> IndicatorInput(const RoundConfig& config, std::span<const uint32_t> chosen) {
  if (!config.support.is_dense()) {
    return InvalidArgumentError("indicator input: the counting round needs a dense support");
  }
  ASSIGN_OR_RETURN(auto codec, crypto::FixedPointCodec::Create(config.fixed_point));
  if (codec.max_magnitude() < 1) {
    return InvalidArgumentError("indicator input: M < 1");
  }
  ClientInput input;
  input.weight = 1;
  input.values.assign(config.support.size(), 0);
  for (size_t i = 0; i < chosen.size(); ++i) {
    if (chosen[i] >= config.support.dim() || (i > 0 && chosen[i - 1] >= chosen[i])) {
      return InvalidArgumentError("indicator input: indices must be ascending and < dim");
    }
    input.values[chosen[i]] = 1;
  }
  return input;
}

std::vector<int64_t> SignedSums(const RoundConfig& config, const AggregateResult& result) {
  std::vector<int64_t> out(result.sum.size());
  for (size_t i = 0; i < out.size(); ++i) {
    out[i] = Signed(config, result.sum[i]);
  }
  return out;
}

StatusOr<std::vector<double>> DecodeWeightedMean(const RoundConfig& config,
                                                 const AggregateResult& result) {
  if (result.sum.size() != config.support.size() || result.contributors.empty() ||
      result.weight_sum == 0) {
    return InvalidArgumentError("result does not match the round's config");
  }
  ASSIGN_OR_RETURN(auto codec, crypto::FixedPointCodec::Create(config.fixed_point));
  std::vector<double> out(result.sum.size());
  const uint64_t n = result.contributors.size();
  if (Is32(config)) {
    std::vector<uint32_t> words(result.sum.begin(), result.sum.end());
    RETURN_IF_ERROR(codec.DecodeSum(std::span<const uint32_t>(words), n, std::span(out)));
  } else {
    RETURN_IF_ERROR(codec.DecodeSum(std::span<const uint64_t>(result.sum), n, std::span(out)));
  }
  const double factor =
      static_cast<double>(config.max_weight) / static_cast<double>(result.weight_sum);
  for (double& v : out) {
    v *= factor;
  }
  return out;
}

}  // namespace sotto::secagg
