#include "sotto/crypto/fixed_point.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>

#include "sotto/base/status_macros.h"

namespace sotto::crypto {
namespace {

bool IsKnownRing(Ring ring) { return ring == Ring::kRing32 || ring == Ring::kRing64; }

int RingBits(Ring ring) { return static_cast<int>(ring); }

// The largest M such that max_clients * M < 2^(w-1), capped at kMaxFixedPointMagnitude.
uint64_t MagnitudeLimit(uint64_t max_clients, Ring ring) {
  const uint64_t half_minus_one = (uint64_t{1} << (RingBits(ring) - 1)) - 1;
  return std::min(half_minus_one / max_clients, kMaxFixedPointMagnitude);
}

// ceil(clip * scale) as computed by the encoder, so that the bound is the encoder's own.
double Magnitude(double clip, double scale) { return std::ceil(clip * scale); }

Status CheckRange(uint64_t max_clients, double clip, Ring ring) {
  if (!(std::isfinite(clip) && clip > 0)) {
    return InvalidArgumentError("fixed point: clip must be finite and > 0");
  }
  if (max_clients == 0) {
    return InvalidArgumentError("fixed point: max_clients must be >= 1");
  }
  if (!IsKnownRing(ring)) {
    return InvalidArgumentError("fixed point: unknown ring " +
                                std::to_string(static_cast<int>(ring)));
  }
  if (MagnitudeLimit(max_clients, ring) == 0) {
    return InvalidArgumentError("fixed point: " + std::to_string(max_clients) +
                                " clients can wrap the ring 2^" + std::to_string(RingBits(ring)) +
                                " at any scale");
  }
  return OkStatus();
}

std::string Describe(double v) {
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

}  // namespace

StatusOr<double> FinestScale(uint64_t max_clients, double clip, Ring ring) {
  RETURN_IF_ERROR(CheckRange(max_clients, clip, ring));
  const double limit = static_cast<double>(MagnitudeLimit(max_clients, ring));
  double scale = limit / clip;
  if (!std::isfinite(scale)) {
    scale = std::numeric_limits<double>::max();
  }
  // limit / clip is rounded; step down until the encoder's own bound fits.
  while (scale > 0 && Magnitude(clip, scale) > limit) {
    scale = std::nextafter(scale, 0.0);
  }
  if (!(scale > 0)) {
    return InvalidArgumentError("fixed point: no positive scale fits clip " + Describe(clip));
  }
  return scale;
}

StatusOr<int> FinestFractionBits(uint64_t max_clients, double clip, Ring ring) {
  ASSIGN_OR_RETURN(double scale, FinestScale(max_clients, clip, ring));
  // The largest power of two <= scale is accepted too (Magnitude is monotone in the scale).
  int exponent = 0;
  std::frexp(scale, &exponent);  // scale = m * 2^exponent, m in [0.5, 1)
  return exponent - 1;
}

StatusOr<FixedPointCodec> FixedPointCodec::Create(const FixedPointConfig& config) {
  RETURN_IF_ERROR(CheckRange(config.max_clients, config.clip, config.ring));
  if (!(std::isfinite(config.scale) && config.scale > 0)) {
    return InvalidArgumentError("fixed point: scale must be finite and > 0");
  }
  const double magnitude = Magnitude(config.clip, config.scale);
  const uint64_t limit = MagnitudeLimit(config.max_clients, config.ring);
  if (!(magnitude <= static_cast<double>(limit))) {
    ASSIGN_OR_RETURN(double finest, FinestScale(config.max_clients, config.clip, config.ring));
    return InvalidArgumentError(
        "fixed point: clip " + Describe(config.clip) + " at scale " + Describe(config.scale) +
        " gives |q| <= " + Describe(magnitude) + ", and " + std::to_string(config.max_clients) +
        " clients could wrap the ring 2^" + std::to_string(RingBits(config.ring)) +
        " (or exceed 2^52); the finest scale that cannot is " + Describe(finest));
  }
  return FixedPointCodec(config, static_cast<uint64_t>(magnitude));
}

template <typename In, typename Word>
Status FixedPointCodec::EncodeImpl(std::span<const In> values, Prng& prng,
                                   std::span<Word> out) const {
  if (static_cast<int>(sizeof(Word) * 8) != RingBits(config_.ring)) {
    return InvalidArgumentError("fixed point: " + std::to_string(sizeof(Word) * 8) +
                                "-bit output for a config of ring 2^" +
                                std::to_string(RingBits(config_.ring)));
  }
  if (values.size() != out.size()) {
    return InvalidArgumentError("fixed point: " + std::to_string(values.size()) +
                                " values but room for " + std::to_string(out.size()));
  }
  // Refuse the whole vector before writing or drawing anything (BAD_INPUTS row 8).
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return InvalidArgumentError("fixed point: value " + std::to_string(i) +
                                  " is not finite; refusing to quantise");
    }
  }
  const double clip = config_.clip;
  const double scale = config_.scale;
  for (size_t i = 0; i < values.size(); ++i) {
    const double x = std::clamp(static_cast<double>(values[i]), -clip, clip);
    const double y = x * scale;  // |y| <= 2^52: floor and y - floor(y) are exact
    const double lower = std::floor(y);
    const double fraction = y - lower;
    const double q = lower + (prng.Uniform() < fraction ? 1.0 : 0.0);
    // Two's complement: the signed integer modulo 2^w.
    out[i] = static_cast<Word>(static_cast<int64_t>(q));
  }
  return OkStatus();
}

template <typename Word, typename Out>
Status FixedPointCodec::DecodeImpl(std::span<const Word> sum, uint64_t num_clients,
                                   std::span<Out> out) const {
  if (static_cast<int>(sizeof(Word) * 8) != RingBits(config_.ring)) {
    return InvalidArgumentError("fixed point: " + std::to_string(sizeof(Word) * 8) +
                                "-bit sum for a config of ring 2^" +
                                std::to_string(RingBits(config_.ring)));
  }
  if (sum.size() != out.size()) {
    return InvalidArgumentError("fixed point: " + std::to_string(sum.size()) +
                                " sums but room for " + std::to_string(out.size()));
  }
  if (num_clients == 0 || num_clients > config_.max_clients) {
    return InvalidArgumentError("fixed point: sum of " + std::to_string(num_clients) +
                                " clients, config allows 1 to " +
                                std::to_string(config_.max_clients));
  }
  // num_clients * M < 2^(w-1) by construction.
  const uint64_t bound = num_clients * max_magnitude_;
  using Signed = std::make_signed_t<Word>;
  // Check everything before writing anything.
  for (size_t i = 0; i < sum.size(); ++i) {
    const Signed s = static_cast<Signed>(sum[i]);
    const uint64_t magnitude = s < 0 ? uint64_t{0} - static_cast<uint64_t>(static_cast<int64_t>(s))
                                     : static_cast<uint64_t>(s);
    if (magnitude > bound) {
      return DataLossError("fixed point: aggregate element " + std::to_string(i) +
                           " is outside the range " + std::to_string(num_clients) +
                           " honest clients can produce (ring wrap or bad mask)");
    }
  }
  const double inverse_scale = 1.0 / config_.scale;
  for (size_t i = 0; i < sum.size(); ++i) {
    const double s = static_cast<double>(static_cast<Signed>(sum[i]));
    out[i] = static_cast<Out>(s * inverse_scale);
  }
  return OkStatus();
}

Status FixedPointCodec::Encode(std::span<const float> values, Prng& prng,
                               std::span<uint32_t> out) const {
  return EncodeImpl<float, uint32_t>(values, prng, out);
}
Status FixedPointCodec::Encode(std::span<const float> values, Prng& prng,
                               std::span<uint64_t> out) const {
  return EncodeImpl<float, uint64_t>(values, prng, out);
}
Status FixedPointCodec::Encode(std::span<const double> values, Prng& prng,
                               std::span<uint32_t> out) const {
  return EncodeImpl<double, uint32_t>(values, prng, out);
}
Status FixedPointCodec::Encode(std::span<const double> values, Prng& prng,
                               std::span<uint64_t> out) const {
  return EncodeImpl<double, uint64_t>(values, prng, out);
}

Status FixedPointCodec::DecodeSum(std::span<const uint32_t> sum, uint64_t num_clients,
                                  std::span<float> out) const {
  return DecodeImpl<uint32_t, float>(sum, num_clients, out);
}
Status FixedPointCodec::DecodeSum(std::span<const uint64_t> sum, uint64_t num_clients,
                                  std::span<float> out) const {
  return DecodeImpl<uint64_t, float>(sum, num_clients, out);
}
Status FixedPointCodec::DecodeSum(std::span<const uint32_t> sum, uint64_t num_clients,
                                  std::span<double> out) const {
  return DecodeImpl<uint32_t, double>(sum, num_clients, out);
}
Status FixedPointCodec::DecodeSum(std::span<const uint64_t> sum, uint64_t num_clients,
                                  std::span<double> out) const {
  return DecodeImpl<uint64_t, double>(sum, num_clients, out);
}

}  // namespace sotto::crypto
