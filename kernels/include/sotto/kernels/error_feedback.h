#pragma once

// Fused error-feedback step: a = u + e; S = select(a); send (S, a[S]); e = a - sent.
//
// ErrorFeedbackStep updates the error memory e in place and writes the selected indices
// (ascending) and values. Conservation holds exactly, per coordinate, in float arithmetic:
// a_i = u_i + e_i is computed once; a selected coordinate sends a_i and keeps e_i = 0, an
// unselected one sends nothing and keeps e_i = a_i, so sent_i + e_new_i == u_i + e_old_i
// bit for bit (a NaN coordinate is always selected: it is sent and leaves e).
//
// Selections (EfSelection):
//   TopK(k)          exact top-k of |a| (topk.h): one read of u and e and one write of e
//                    (coordinates certain to be selected are zeroed in that pass, the few
//                    chosen near the k-th magnitude afterwards); a missed prediction adds the
//                    radix select's four reads of e.
//   Threshold(tau)   {|a_i| > tau}, capped at out_idx.size() (select.h capacity rule): one
//                    pass when the count fits.
//   GaussianK(k)     Gaussian-k on a (select.h), capped likewise.
//   Support(idx)     a given support (e.g. from RandomK): strictly ascending, every index < n,
//                    else InvalidArgument; one pass.
// Scratch contract as in topk.h, with ErrorFeedbackScratchBytes.
//
// Failure atomicity: an argument error returns before anything is written; u, e and the
// outputs are untouched. Otherwise the step always completes.
// Thread-safety: reentrant; concurrent calls need distinct e, outputs and scratch.

#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/statusor.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/selection.h"

namespace sotto::kernels {

struct EfSelection {
  enum class Kind { kTopK, kThreshold, kGaussianK, kSupport };

  static EfSelection TopK(size_t k) { return {Kind::kTopK, k, 0.0f, {}}; }
  static EfSelection Threshold(float tau) { return {Kind::kThreshold, 0, tau, {}}; }
  static EfSelection GaussianK(size_t k) { return {Kind::kGaussianK, k, 0.0f, {}}; }
  static EfSelection Support(std::span<const uint32_t> support) {
    return {Kind::kSupport, support.size(), 0.0f, support};
  }

  Kind kind = Kind::kTopK;
  size_t k = 0;                       // kTopK, kGaussianK (target), kSupport (its size)
  float tau = 0.0f;                   // kThreshold
  std::span<const uint32_t> support;  // kSupport; not owned, must outlive the call
};

// out_idx.size() is the capacity (>= k for kTopK, >= support.size() for kSupport).
size_t ErrorFeedbackScratchBytes(size_t n, const EfSelection& selection, size_t capacity,
                                 const ExecOptions& options = {});

// u.size() == e.size() == n < 2^32; out_val empty or out_val.size() >= out_idx.size().
StatusOr<SelectResult> ErrorFeedbackStep(std::span<const float> u, std::span<float> e,
                                         const EfSelection& selection, std::span<uint32_t> out_idx,
                                         std::span<float> out_val, std::span<std::byte> scratch,
                                         const ExecOptions& options = {});

}  // namespace sotto::kernels
