// The CUDA entry points in a build without CUDA: no device, and every CUDA call answers
// FailedPrecondition so that callers take the CPU path.

#include "cuda_bridge.h"
#include "sotto/kernels/backend.h"
#include "sotto/kernels/cuda.h"

namespace sotto::kernels {
namespace {
Status NoCuda() { return FailedPreconditionError("sotto was built without CUDA"); }
}  // namespace

bool CudaCompiled() { return false; }
int CudaDeviceCount() { return 0; }

namespace cuda {

StatusOr<size_t> TopKTempBytes(size_t, size_t) { return NoCuda(); }
StatusOr<SelectResult> TopK(const float*, size_t, size_t, uint32_t*, float*, void*, size_t,
                            Stream) {
  return NoCuda();
}
StatusOr<size_t> SelectTempBytes(size_t, size_t) { return NoCuda(); }
StatusOr<SelectResult> ThresholdSelect(const float*, size_t, float, uint32_t*, float*, size_t,
                                       void*, size_t, Stream) {
  return NoCuda();
}
StatusOr<SelectResult> GaussianK(const float*, size_t, size_t, uint32_t*, float*, size_t, void*,
                                 size_t, Stream) {
  return NoCuda();
}
StatusOr<size_t> ErrorFeedbackTempBytes(size_t, const EfSelection&, size_t) { return NoCuda(); }
StatusOr<SelectResult> ErrorFeedbackStep(const float*, float*, size_t, const EfSelection&,
                                         uint32_t*, float*, size_t, void*, size_t, Stream) {
  return NoCuda();
}

}  // namespace cuda

namespace internal {

StatusOr<SelectResult> CudaTopKHost(std::span<const float>, size_t, uint32_t*, float*) {
  return NoCuda();
}
StatusOr<SelectResult> CudaThresholdHost(std::span<const float>, float, size_t, uint32_t*, float*) {
  return NoCuda();
}
StatusOr<SelectResult> CudaGaussianKHost(std::span<const float>, size_t, size_t, uint32_t*,
                                         float*) {
  return NoCuda();
}
StatusOr<SelectResult> CudaErrorFeedbackHost(std::span<const float>, std::span<float>,
                                             const EfSelection&, size_t, uint32_t*, float*) {
  return NoCuda();
}

}  // namespace internal
}  // namespace sotto::kernels
