#pragma once

// The order every sotto::kernels selection uses, and the result record they return.
//
// Magnitude order (exact, total, the same on CPU and CUDA):
//   - elements are ranked by |x|, larger first;
//   - NaN (any payload, either sign) ranks above every number, +-infinity included, so a NaN
//     is always selected first and leaves the error-feedback memory at once; all NaNs tie;
//   - -0.0 and +0.0 tie;
//   - ties are broken by the lower index.
// It is implemented on MagnitudeKey(x), an integer that is monotone in |x| under these rules.
// Threshold rules "|x| > tau" use the same key: a NaN passes every threshold, +-inf passes
// every finite one.
//
// Output convention: selected indices are written in ascending order as uint32_t, and the
// values (when asked for) are the selected x[i] in the same order. Vectors must therefore have
// fewer than 2^32 elements.

#include <bit>
#include <cstddef>
#include <cstdint>

#include "sotto/kernels/backend.h"

namespace sotto::kernels {

// bits(|x|), with every NaN mapped to 0x7f800001 (just above +infinity's 0x7f800000).
constexpr uint32_t kNanKey = 0x7f800001u;
constexpr uint32_t MagnitudeKey(float x) {
  const uint32_t abs_bits = std::bit_cast<uint32_t>(x) & 0x7fffffffu;
  return abs_bits < kNanKey ? abs_bits : kNanKey;
}

// The largest vector the kernels accept (indices are uint32_t).
inline constexpr size_t kMaxElements = size_t{0xffffffffu};

struct SelectResult {
  // Entries written to the index/value outputs.
  size_t count = 0;
  // Elements that met the selection rule before any capping (threshold and Gaussian-k; see
  // select.h). Equal to count for top-k, random-k and a given support.
  size_t num_above = 0;
  // Top-k: |x| of the k-th selected element (NaN when it is a NaN; 0 when k == 0).
  // Threshold and Gaussian-k: the magnitude threshold finally used. Random-k / support: 0.
  float threshold = 0.0f;
  // Gaussian-k: how many threshold corrections ran (0..3).
  int corrections = 0;
  // CPU path: full passes over the input (u and e count as one pass), a measure of cost. Top-k
  // is 1 when its sampled prediction hit, 5 when it missed and the radix select ran.
  int passes = 0;
  // Where the call ran (kCpu or kCuda).
  Backend backend = Backend::kCpu;
};

}  // namespace sotto::kernels
