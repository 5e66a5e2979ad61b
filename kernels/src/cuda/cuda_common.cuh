#pragma once

// Shared pieces of the CUDA back end: error checking, the magnitude key on the device, temp
// storage carving, and the device-memory entry points that the .cu files share.

#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>
#include <string>

#include "sotto/base/status.h"
#include "sotto/base/status_macros.h"
#include "sotto/base/statusor.h"
#include "sotto/kernels/selection.h"

namespace sotto::kernels::cuda_internal {

inline Status CudaError(cudaError_t err, const char* what) {
  return InternalError(std::string("CUDA error in ") + what + ": " + cudaGetErrorName(err) + " (" +
                       cudaGetErrorString(err) + ")");
}

#define SOTTO_CUDA_RETURN_IF_ERROR(expr)                                        \
  do {                                                                          \
    const cudaError_t sotto_cuda_err = (expr);                                  \
    if (sotto_cuda_err != cudaSuccess) {                                        \
      return ::sotto::kernels::cuda_internal::CudaError(sotto_cuda_err, #expr); \
    }                                                                           \
  } while (false)

// Checks the launch just queued.
#define SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR(what) SOTTO_CUDA_RETURN_IF_ERROR(cudaGetLastError())

__device__ __forceinline__ uint32_t DeviceKey(float x) {
  const uint32_t abs_bits = __float_as_uint(x) & 0x7fffffffu;
  return abs_bits < kNanKey ? abs_bits : kNanKey;
}

// Carves 256-byte aligned pieces from temp storage; with a null base it only measures.
class TempCarver {
 public:
  explicit TempCarver(void* base) : base_(static_cast<char*>(base)) {}
  template <typename T>
  T* Take(size_t count) {
    used_ = (used_ + 255) & ~size_t{255};
    T* p = base_ != nullptr ? reinterpret_cast<T*>(base_ + used_) : nullptr;
    used_ += count * sizeof(T) + (count == 0 ? 1 : 0);
    return p;
  }
  size_t used() const { return used_ + 256; }

 private:
  char* base_;
  size_t used_ = 0;
};

inline unsigned GridFor(size_t n, unsigned block, unsigned max_blocks = 4096) {
  const size_t blocks = (n + block - 1) / block;
  return static_cast<unsigned>(blocks == 0 ? 1 : (blocks < max_blocks ? blocks : max_blocks));
}

// Device-memory top-k core (topk.cu): writes exactly k ascending indices (and values when
// d_val is set). temp must be TopKTemp(n) bytes.
StatusOr<size_t> TopKTemp(size_t n);
Status TopKDevice(const float* d_x, size_t n, size_t k, uint32_t* d_idx, float* d_val, void* d_temp,
                  size_t temp_bytes, cudaStream_t stream, float* kth_magnitude);

}  // namespace sotto::kernels::cuda_internal
