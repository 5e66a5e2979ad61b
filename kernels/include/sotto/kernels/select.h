#pragma once

// Threshold, Gaussian-k (approximate top-k) and random-k selection.
//
// All three write selected indices in ascending order (uint32_t) and, when out_val is not
// empty, the selected values; they use the magnitude order of selection.h (NaN passes every
// threshold). The two-phase scratch contract is the same as TopK's (topk.h).
//
// Capacity rule (threshold and Gaussian-k): the number of elements that pass a threshold is not
// known in advance, so out_idx.size() is the caller's cap. When more than out_idx.size()
// elements pass, the call keeps the out_idx.size() largest of them by the magnitude order
// (that is, exact top-cap; every one of them passes the threshold), and reports the uncapped
// number in SelectResult::num_above. Pass a capacity of n for a pure threshold rule.
//
// Thread-safety: reentrant; concurrent calls need distinct outputs and scratch (and pools).

#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/statusor.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/selection.h"

namespace sotto::kernels {

// ---- Threshold: {i : |x_i| > tau} ------------------------------------------------------------
// tau must not be NaN (InvalidArgument); a negative tau selects everything; tau = +inf selects
// only NaNs. One read of x in the common case.
size_t ThresholdScratchBytes(size_t n, size_t capacity, const ExecOptions& options = {});
StatusOr<SelectResult> ThresholdSelect(std::span<const float> x, float tau,
                                       std::span<uint32_t> out_idx, std::span<float> out_val,
                                       std::span<std::byte> scratch,
                                       const ExecOptions& options = {});

// ---- Gaussian-k: about k elements, no sort ----------------------------------------------------
// Shi et al. (arXiv 1911.08772): with rho = k/n, mu and sigma the mean and standard deviation
// of the finite elements of x (signed, as in the authors' code), start from
//   tau0 = |mu| + z(1 - rho/2) * sigma          (z = standard normal quantile)
// (the authors use mu; |mu| is the same for centred data and keeps tau0 >= 0), count the
// elements with |x| > tau, and correct tau at most three times while the count is outside
// [ceil(2k/3), floor(4k/3)]. A correction multiplies tau by a factor in [0.5, 1.5], as in the
// reference (halve when too few pass, x1.5 when too many), but the factor itself comes from a
// log-linear model of the tail fitted to the counts seen so far; with the fixed factors 0.5
// and 1.5 no reachable threshold lands in the band for Laplace data at 1% density. Each count
// is one read of x that also collects the passing elements, so a call reads x 2 to 5 times.
// The final selection is {|x| > tau} under the capacity rule above; use a capacity of at least
// ceil(4k/3). k == 0 selects nothing; k == n selects everything. The count is near k for
// bell-shaped data; other data can give anything from 0 to the capacity.
// SelectResult::threshold is the final tau (the k-th magnitude when capped), ::corrections the
// number of corrections.
size_t GaussianKScratchBytes(size_t n, size_t capacity, const ExecOptions& options = {});
StatusOr<SelectResult> GaussianK(std::span<const float> x, size_t k, std::span<uint32_t> out_idx,
                                 std::span<float> out_val, std::span<std::byte> scratch,
                                 const ExecOptions& options = {});

// ---- Random-k: a support shared by every client from a public seed ----------------------------
// Writes k distinct indices in [0, n), ascending, into out_idx[0..k). The set is a function of
// (n, k, seed) only: the same on every machine, build, thread count and back end. Algorithm
// (a stable specification, clients of different versions must agree): with m = min(k, n - k)
// and rng = sotto::Prng(seed), draw rng.UniformInt(n) repeatedly, keeping each new value,
// until m distinct values are kept; the support is that set when k <= n - k and its complement
// otherwise. k > n or out_idx.size() < k is InvalidArgument. Single-threaded, O(n/64 + k)
// after the draws.
size_t RandomKScratchBytes(size_t n);
Status RandomK(size_t n, size_t k, uint64_t seed, std::span<uint32_t> out_idx,
               std::span<std::byte> scratch);

}  // namespace sotto::kernels
