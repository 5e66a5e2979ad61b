#include "sotto/kernels/error_feedback.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "cpu/engine.h"
#include "cuda_bridge.h"
#include "sotto/base/status_macros.h"

namespace sotto::kernels {
namespace {

// The given-support step: one pass in blocks, each block first made dense (e = u + e) and then,
// while it is still in cache, its support entries sent and zeroed.
void SupportStep(const float* u, float* e, size_t n, std::span<const uint32_t> support,
                 uint32_t* out_idx, float* out_val, const ExecOptions& options) {
  constexpr size_t kBlock = 4096;
  const int lanes = internal::LanesFor(n, options);
  internal::RunLanes(options, lanes, [&](int lane) {
    const size_t begin = internal::ChunkBegin(n, lanes, lane);
    const size_t end = internal::ChunkBegin(n, lanes, lane + 1);
    size_t j = static_cast<size_t>(
        std::lower_bound(support.begin(), support.end(), static_cast<uint32_t>(begin)) -
        support.begin());
    if (begin == end) return;
    for (size_t b = begin; b < end; b += kBlock) {
      const size_t block_end = std::min(end, b + kBlock);
      ExecOptions one_thread = options;
      one_thread.pool = nullptr;
      internal::AddInPlace(u + b, e + b, block_end - b, one_thread);
      for (; j < support.size() && support[j] < block_end; ++j) {
        const uint32_t i = support[j];
        out_idx[j] = i;
        if (out_val != nullptr) out_val[j] = e[i];
        e[i] = 0.0f;
      }
    }
  });
}

Status ValidateSupport(std::span<const uint32_t> support, size_t n) {
  for (size_t j = 0; j < support.size(); ++j) {
    if (support[j] >= n) {
      return InvalidArgumentError("ErrorFeedbackStep: support index " + std::to_string(support[j]) +
                                  " >= n=" + std::to_string(n));
    }
    if (j > 0 && support[j] <= support[j - 1]) {
      return InvalidArgumentError("ErrorFeedbackStep: support is not strictly ascending at " +
                                  std::to_string(j));
    }
  }
  return OkStatus();
}

Status Validate(std::span<const float> u, std::span<float> e, const EfSelection& selection,
                std::span<uint32_t> out_idx, std::span<float> out_val) {
  const size_t n = u.size();
  if (e.size() != n) {
    return InvalidArgumentError("ErrorFeedbackStep: u has " + std::to_string(n) +
                                " elements, e has " + std::to_string(e.size()));
  }
  if (n > kMaxElements) {
    return InvalidArgumentError("ErrorFeedbackStep: vector has 2^32 or more elements");
  }
  if (!out_val.empty() && out_val.size() < out_idx.size()) {
    return InvalidArgumentError("ErrorFeedbackStep: out_val is neither empty nor >= out_idx");
  }
  switch (selection.kind) {
    case EfSelection::Kind::kTopK:
    case EfSelection::Kind::kGaussianK:
      if (selection.k > n) {
        return InvalidArgumentError("ErrorFeedbackStep: k=" + std::to_string(selection.k) +
                                    " > n=" + std::to_string(n));
      }
      if (selection.kind == EfSelection::Kind::kTopK && out_idx.size() < selection.k) {
        return InvalidArgumentError("ErrorFeedbackStep: out_idx holds fewer than k entries");
      }
      return OkStatus();
    case EfSelection::Kind::kThreshold:
      if (std::isnan(selection.tau)) return InvalidArgumentError("ErrorFeedbackStep: tau is NaN");
      return OkStatus();
    case EfSelection::Kind::kSupport:
      if (out_idx.size() < selection.support.size()) {
        return InvalidArgumentError("ErrorFeedbackStep: out_idx smaller than the support");
      }
      return ValidateSupport(selection.support, n);
  }
  return InvalidArgumentError("ErrorFeedbackStep: unknown selection kind");
}

}  // namespace

size_t ErrorFeedbackScratchBytes(size_t n, const EfSelection& selection, size_t capacity,
                                 const ExecOptions& options) {
  switch (selection.kind) {
    case EfSelection::Kind::kTopK:
      return internal::TopKCpuScratchBytes(n, std::min(selection.k, n), options);
    case EfSelection::Kind::kThreshold:
      return internal::ThresholdCpuScratchBytes(n, capacity, options);
    case EfSelection::Kind::kGaussianK:
      return internal::GaussianKCpuScratchBytes(n, capacity, options);
    case EfSelection::Kind::kSupport:
      return 64;
  }
  return 64;
}

StatusOr<SelectResult> ErrorFeedbackStep(std::span<const float> u, std::span<float> e,
                                         const EfSelection& selection, std::span<uint32_t> out_idx,
                                         std::span<float> out_val, std::span<std::byte> scratch,
                                         const ExecOptions& options) {
  RETURN_IF_ERROR(Validate(u, e, selection, out_idx, out_val));
  const size_t n = u.size();
  const size_t capacity = out_idx.size();
  float* val = out_val.empty() ? nullptr : out_val.data();
  ASSIGN_OR_RETURN(const Backend backend, ResolveBackend(options.backend, n));
  if (backend == Backend::kCuda) {
    return internal::CudaErrorFeedbackHost(u, e, selection, capacity, out_idx.data(), val);
  }
  const size_t need = ErrorFeedbackScratchBytes(n, selection, capacity, options);
  if (scratch.size() < need) {
    return InvalidArgumentError("ErrorFeedbackStep: scratch has " + std::to_string(scratch.size()) +
                                " bytes, needs " + std::to_string(need));
  }
  internal::Arena arena(scratch);
  const internal::SelectInput input{nullptr, u.data(), e.data()};
  switch (selection.kind) {
    case EfSelection::Kind::kTopK:
      return internal::TopKCpu(input, n, selection.k, out_idx.data(), val, arena, options);
    case EfSelection::Kind::kThreshold: {
      SelectResult r = internal::ThresholdCpu(input, n, internal::ThresholdRule(selection.tau),
                                              capacity, out_idx.data(), val, arena, options);
      if (r.num_above <= capacity) r.threshold = selection.tau;
      return r;
    }
    case EfSelection::Kind::kGaussianK:
      return internal::GaussianKCpu(input, n, selection.k, capacity, out_idx.data(), val, arena,
                                    options);
    case EfSelection::Kind::kSupport: {
      SupportStep(u.data(), e.data(), n, selection.support, out_idx.data(), val, options);
      SelectResult r;
      r.count = selection.support.size();
      r.num_above = r.count;
      r.passes = 1;
      return r;
    }
  }
  return InternalError("ErrorFeedbackStep: unreachable");
}

}  // namespace sotto::kernels
