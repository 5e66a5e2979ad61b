#pragma once

// Exact top-k by magnitude.
//
// TopK selects the k elements of x that rank highest in the magnitude order of selection.h
// (|x| descending, NaN first, ties to the lower index) and writes their indices in ascending
// order, with their values. The result is exact and does not depend on the back end, the
// number of threads or the SIMD level.
//
// Two-phase use (CUB style): ask TopKScratchBytes(n, k, options) once, keep a buffer of that
// size (e.g. a Scratch), and pass it on every call; a call then allocates nothing. The CPU path
// predicts the k-th magnitude from a small sample, reads x once to collect the elements above
// the prediction, and selects among those; when the prediction misses (adversarial or heavily
// tied data) it falls back to a radix select that reads x four times. No full sort ever runs.
// The pass uses AVX-512 or AVX2 where the CPU has them (checked at run time, backend.h
// SimdLevel); every path returns the same bits. Speed against a streaming read of x:
// docs/BENCHMARKS.md.
//
// Arguments: k <= x.size() < 2^32; out_idx.size() >= k; out_val empty (indices only) or
// out_val.size() >= k; scratch.size() >= TopKScratchBytes(n, k, options) with the same
// options (the size depends on the pool's thread count). Violations return InvalidArgument and
// write nothing.
//
// Thread-safety: reentrant; concurrent calls need distinct outputs and scratch (and pools).

#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/statusor.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/selection.h"

namespace sotto::kernels {

size_t TopKScratchBytes(size_t n, size_t k, const ExecOptions& options = {});

StatusOr<SelectResult> TopK(std::span<const float> x, size_t k, std::span<uint32_t> out_idx,
                            std::span<float> out_val, std::span<std::byte> scratch,
                            const ExecOptions& options = {});

}  // namespace sotto::kernels
