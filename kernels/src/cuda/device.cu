// CUDA device detection. A missing driver or device is "0 devices", never an error.

#include <cuda_runtime.h>

#include "sotto/kernels/backend.h"

namespace sotto::kernels {

bool CudaCompiled() { return true; }

int CudaDeviceCount() {
  static const int count = [] {
    int c = 0;
    const cudaError_t err = cudaGetDeviceCount(&c);
    if (err != cudaSuccess) {
      (void)cudaGetLastError();  // clear the sticky-free error so later calls start clean
      return 0;
    }
    return c;
  }();
  return count;
}

}  // namespace sotto::kernels
