#pragma once

// Rounding of float values to a float wire coding, shared by Compressor and GD-SEC.
//
// Both keep an error memory e = a - wire(a) and promise that wire(a) + e == a exactly in float.
// That holds because wire(a) is a rounding of a to a coarser grid that contains a's own float
// grid step: a - wire(a) is a multiple of ulp(a) no larger than |a|, so it is a float. At the
// top of the fp16 range the rounding would overflow to infinity, which the codec refuses and
// which would poison e; instead the value saturates at +-65504 and the excess stays in e. That
// difference is exact while |a| < 2^29 (65504 is a multiple of 32 >= ulp(a)), so callers refuse
// larger magnitudes up front (kFp16MaxExactMagnitude). bf16 saturates likewise at its largest
// finite value, where Sterbenz's lemma makes the difference exact for every finite a.

#include <cmath>
#include <limits>

#include "sotto/core/compress/sparse_codec.h"

namespace sotto::compress::internal {

// fp16: |a| below this saturates exactly; at or above it the caller refuses the value.
inline constexpr float kFp16MaxExactMagnitude = 536870912.0f;  // 2^29
inline constexpr uint16_t kHalfMaxFinite = 0x7bffu;            // 65504
inline constexpr uint16_t kBfloat16MaxFinite = 0x7f7fu;        // 3.3895e38

// The largest |a| (exclusive) a float coding accepts before rounding: finite for fp32 and
// bf16, below 2^29 for fp16.
inline float MagnitudeBound(ValueCoding coding) {
  return coding == ValueCoding::kFp16 ? kFp16MaxExactMagnitude
                                      : std::numeric_limits<float>::infinity();
}

// wire(a) for a finite a (|a| < MagnitudeBound(coding)), as the float the receiver decodes.
inline float RoundToWire(float value, ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp16: {
      const uint16_t h = FloatToHalf(value);
      if ((h & 0x7c00u) == 0x7c00u) {
        return std::copysign(HalfToFloat(kHalfMaxFinite), value);
      }
      return HalfToFloat(h);
    }
    case ValueCoding::kBf16: {
      const uint16_t b = FloatToBfloat16(value);
      if ((b & 0x7f80u) == 0x7f80u) {
        return std::copysign(Bfloat16ToFloat(kBfloat16MaxFinite), value);
      }
      return Bfloat16ToFloat(b);
    }
    default:
      return value;
  }
}

}  // namespace sotto::compress::internal
