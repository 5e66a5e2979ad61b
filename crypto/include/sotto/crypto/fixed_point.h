#pragma once

// Fixed-point encoding of real-valued updates into the ring Z_{2^32} or Z_{2^64}, where secure
// aggregation adds them, and decoding of the sum.
//
// Encoding of one value x (client side):
//   1. refuse NaN and +-Inf (BAD_INPUTS row 8: InvalidArgument, nothing written);
//   2. clip to [-c, c];
//   3. scale: y = x * s;
//   4. stochastic rounding: q = floor(y) + 1 with probability y - floor(y), else floor(y)
//      (E[q] = y: unbiased), with uniforms from the caller's Prng;
//   5. two's complement: the element is q mod 2^w (w = 32 or 64), so sums wrap exactly as
//      integers do.
// |q| <= M = ceil(c * s). The quantum (the value of one ring unit) is 1 / s; a scale of 2^f is
// "f fraction bits". Flower's quantization_range r over [-c, c] corresponds to s = r / (2c).
//
// No wrap: the sum of n encoded values lies in [-n M, n M]. A config is accepted only if
// n * M < 2^(w-1) (so that range decodes without ambiguity) and M <= kMaxFixedPointMagnitude
// (so that every step above is exact in double precision). FinestScale / FinestFractionBits
// return the largest scale that satisfies both for given (n, c, ring); thousands of clients fit
// comfortably in 2^64 (n = 10^4, c = 1: 49 fraction bits) and, more coarsely, in 2^32
// (n = 10^4, c = 1: 17 fraction bits, a quantum of 7.6e-6).
//
// Decoding of a sum (server side): the ring element is read as a signed integer S in
// [-2^(w-1), 2^(w-1)); if |S| > num_clients * M the sum cannot come from num_clients honest
// clients (a wrap, a wrong mask, a malicious client) and DecodeSum returns DataLoss (BAD_INPUTS
// row 21) and writes nothing. Otherwise out[i] = S / s. The decoded sum differs from the sum of
// the clipped inputs by less than num_clients quanta (each rounding moves a value by less than
// one quantum; 1/s each).
//
// Errors: Create / Finest*: InvalidArgument for clip or scale not finite and > 0, max_clients
// 0, an unknown ring, or a config that could wrap. Encode / DecodeSum: InvalidArgument for
// spans of different sizes, a span whose element width is not the config's ring, num_clients 0
// or > max_clients, a non-finite input.
//
// Thread-safety: a codec is an immutable value; Encode uses the caller's Prng (one per thread).

#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/random.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::crypto {

enum class Ring : uint8_t {
  kRing32 = 32,  // Z_{2^32}, elements uint32_t
  kRing64 = 64,  // Z_{2^64}, elements uint64_t
};

// Largest |q| a config may produce (2^52: every integer up to it, and the fractional part of
// every double below it, is exact).
inline constexpr uint64_t kMaxFixedPointMagnitude = uint64_t{1} << 52;

struct FixedPointConfig {
  double clip = 1.0;          // c > 0: inputs are clipped to [-c, c]
  double scale = 1.0;         // s > 0: one ring unit is worth 1/s
  uint64_t max_clients = 1;   // n >= 1: most encoded values that will be summed
  Ring ring = Ring::kRing32;  // the ring the sum lives in
};

// The largest scale s for which n clients clipped to c cannot wrap `ring` (the finest
// quantum). InvalidArgument if even s with M = 1 would wrap (n >= 2^(w-1)) or for bad inputs.
StatusOr<double> FinestScale(uint64_t max_clients, double clip, Ring ring);
// The same restricted to powers of two: the largest f with scale 2^f accepted.
StatusOr<int> FinestFractionBits(uint64_t max_clients, double clip, Ring ring);

class FixedPointCodec {
 public:
  // Refuses (InvalidArgument) a config that could wrap, naming the finest scale that would not.
  static StatusOr<FixedPointCodec> Create(const FixedPointConfig& config);

  const FixedPointConfig& config() const { return config_; }
  // 1 / scale: the value of one ring unit.
  double quantum() const { return 1.0 / config_.scale; }
  // M = ceil(clip * scale): the largest |q| one client produces.
  uint64_t max_magnitude() const { return max_magnitude_; }

  // Client side: out[i] = encoding of values[i].
  Status Encode(std::span<const float> values, Prng& prng, std::span<uint32_t> out) const;
  Status Encode(std::span<const float> values, Prng& prng, std::span<uint64_t> out) const;
  Status Encode(std::span<const double> values, Prng& prng, std::span<uint32_t> out) const;
  Status Encode(std::span<const double> values, Prng& prng, std::span<uint64_t> out) const;

  // Server side: out[i] = the real sum that sum[i] (the ring sum of num_clients encodings)
  // stands for.
  Status DecodeSum(std::span<const uint32_t> sum, uint64_t num_clients, std::span<float> out) const;
  Status DecodeSum(std::span<const uint64_t> sum, uint64_t num_clients, std::span<float> out) const;
  Status DecodeSum(std::span<const uint32_t> sum, uint64_t num_clients,
                   std::span<double> out) const;
  Status DecodeSum(std::span<const uint64_t> sum, uint64_t num_clients,
                   std::span<double> out) const;

 private:
  FixedPointCodec(const FixedPointConfig& config, uint64_t max_magnitude)
      : config_(config), max_magnitude_(max_magnitude) {}

  template <typename In, typename Word>
  Status EncodeImpl(std::span<const In> values, Prng& prng, std::span<Word> out) const;
  template <typename Word, typename Out>
  Status DecodeImpl(std::span<const Word> sum, uint64_t num_clients, std::span<Out> out) const;

  FixedPointConfig config_;
  uint64_t max_magnitude_;
};

}  // namespace sotto::crypto
