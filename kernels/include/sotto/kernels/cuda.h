#pragma once

// The CUDA back end over device memory (CUB style): for callers whose vectors already live on
// the GPU. The host-memory functions (topk.h, select.h, error_feedback.h) reach these through
// Backend::kCuda / kAuto, copying in and out.
//
// Every pointer named d_* is device memory. Each function has a *TempBytes query; the caller
// allocates that much device memory and passes it as d_temp (two-phase, as in CUB). Work is
// queued on `stream`, and every function synchronises `stream` before it returns (the
// SelectResult, and for threshold rules the count that decides what runs next, come back to
// the host). Every CUDA call is checked; a CUDA error returns
// Internal with the CUDA message, a build without CUDA returns FailedPrecondition, and argument
// errors return InvalidArgument before anything is queued.
//
// Semantics, outputs and the capacity rule are exactly those of the host functions: the same
// magnitude order (selection.h), ascending uint32_t indices, d_val nullable.
// For ErrorFeedbackStep, EfSelection::support must point to device memory.
//
// Thread-safety: reentrant; concurrent calls need distinct temp storage and outputs.

#include <cstddef>
#include <cstdint>

#include "sotto/base/statusor.h"
#include "sotto/kernels/error_feedback.h"
#include "sotto/kernels/selection.h"

struct CUstream_st;  // cudaStream_t is CUstream_st*; no CUDA header is needed here.

namespace sotto::kernels::cuda {

using Stream = CUstream_st*;

StatusOr<size_t> TopKTempBytes(size_t n, size_t k);
StatusOr<SelectResult> TopK(const float* d_x, size_t n, size_t k, uint32_t* d_idx, float* d_val,
                            void* d_temp, size_t temp_bytes, Stream stream);

// Threshold and Gaussian-k share one temp size.
StatusOr<size_t> SelectTempBytes(size_t n, size_t capacity);
StatusOr<SelectResult> ThresholdSelect(const float* d_x, size_t n, float tau, uint32_t* d_idx,
                                       float* d_val, size_t capacity, void* d_temp,
                                       size_t temp_bytes, Stream stream);
StatusOr<SelectResult> GaussianK(const float* d_x, size_t n, size_t k, uint32_t* d_idx,
                                 float* d_val, size_t capacity, void* d_temp, size_t temp_bytes,
                                 Stream stream);

StatusOr<size_t> ErrorFeedbackTempBytes(size_t n, const EfSelection& selection, size_t capacity);
StatusOr<SelectResult> ErrorFeedbackStep(const float* d_u, float* d_e, size_t n,
                                         const EfSelection& selection, uint32_t* d_idx,
                                         float* d_val, size_t capacity, void* d_temp,
                                         size_t temp_bytes, Stream stream);

}  // namespace sotto::kernels::cuda
