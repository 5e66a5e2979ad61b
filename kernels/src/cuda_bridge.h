#pragma once

// Host-memory entry points of the CUDA back end, used by the public functions when
// ResolveBackend picks kCuda. They copy the inputs to the device, run the device API of
// sotto/kernels/cuda.h, and copy the results (and e) back. Arguments are validated by the
// caller. Without CUDA in the build they return FailedPrecondition (cuda_stub.cc).

#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/statusor.h"
#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/selection.h"

namespace sotto::kernels::internal {

StatusOr<SelectResult> CudaTopKHost(std::span<const float> x, size_t k, uint32_t* out_idx,
                                    float* out_val);
StatusOr<SelectResult> CudaThresholdHost(std::span<const float> x, float tau, size_t capacity,
                                         uint32_t* out_idx, float* out_val);
StatusOr<SelectResult> CudaGaussianKHost(std::span<const float> x, size_t k, size_t capacity,
                                         uint32_t* out_idx, float* out_val);
// selection.support is host memory here.
StatusOr<SelectResult> CudaErrorFeedbackHost(std::span<const float> u, std::span<float> e,
                                             const EfSelection& selection, size_t capacity,
                                             uint32_t* out_idx, float* out_val);

}  // namespace sotto::kernels::internal
