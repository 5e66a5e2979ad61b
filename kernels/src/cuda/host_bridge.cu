// Host-memory calls on the CUDA back end: copy in, run the device API, copy out. Device
// memory and the stream are owned by small RAII holders so that every error path frees them.

#include <cuda_runtime.h>

#include "cuda/cuda_common.cuh"
#include "cuda_bridge.h"
#include "sotto/kernels/cuda.h"

namespace sotto::kernels::internal {
namespace {

class DeviceBuffer {
 public:
  DeviceBuffer() = default;
  ~DeviceBuffer() {
    if (ptr_ != nullptr) cudaFree(ptr_);
  }
  DeviceBuffer(const DeviceBuffer&) = delete;
  DeviceBuffer& operator=(const DeviceBuffer&) = delete;

  Status Allocate(size_t bytes) {
    SOTTO_CUDA_RETURN_IF_ERROR(cudaMalloc(&ptr_, bytes == 0 ? 1 : bytes));
    return OkStatus();
  }
  template <typename T>
  T* as() const {
    return static_cast<T*>(ptr_);
  }

 private:
  void* ptr_ = nullptr;
};

class StreamHolder {
 public:
  ~StreamHolder() {
    if (stream_ != nullptr) cudaStreamDestroy(stream_);
  }
  Status Create() {
    SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    return OkStatus();
  }
  cuda::Stream get() const { return reinterpret_cast<cuda::Stream>(stream_); }
  cudaStream_t raw() const { return stream_; }

 private:
  cudaStream_t stream_ = nullptr;
};

Status CopyIn(DeviceBuffer& buf, const void* host, size_t bytes, cudaStream_t s) {
  RETURN_IF_ERROR(buf.Allocate(bytes));
  if (bytes > 0) {
    SOTTO_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(buf.as<void>(), host, bytes, cudaMemcpyHostToDevice, s));
  }
  return OkStatus();
}

Status CopyOut(void* host, const DeviceBuffer& buf, size_t bytes, cudaStream_t s) {
  if (bytes > 0 && host != nullptr) {
    SOTTO_CUDA_RETURN_IF_ERROR(
        cudaMemcpyAsync(host, buf.as<void>(), bytes, cudaMemcpyDeviceToHost, s));
  }
  return OkStatus();
}

// Output buffers for up to `capacity` entries.
struct Outputs {
  DeviceBuffer idx;
  DeviceBuffer val;
  Status Allocate(size_t capacity, bool values) {
    RETURN_IF_ERROR(idx.Allocate(capacity * sizeof(uint32_t)));
    if (values) RETURN_IF_ERROR(val.Allocate(capacity * sizeof(float)));
    return OkStatus();
  }
  Status CopyBack(const SelectResult& r, uint32_t* out_idx, float* out_val, cudaStream_t s) {
    RETURN_IF_ERROR(CopyOut(out_idx, idx, r.count * sizeof(uint32_t), s));
    if (out_val != nullptr) RETURN_IF_ERROR(CopyOut(out_val, val, r.count * sizeof(float), s));
    SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(s));
    return OkStatus();
  }
};

}  // namespace

StatusOr<SelectResult> CudaTopKHost(std::span<const float> x, size_t k, uint32_t* out_idx,
                                    float* out_val) {
  StreamHolder stream;
  RETURN_IF_ERROR(stream.Create());
  DeviceBuffer dx;
  RETURN_IF_ERROR(CopyIn(dx, x.data(), x.size_bytes(), stream.raw()));
  Outputs out;
  RETURN_IF_ERROR(out.Allocate(k, out_val != nullptr));
  ASSIGN_OR_RETURN(const size_t temp_bytes, cuda::TopKTempBytes(x.size(), k));
  DeviceBuffer temp;
  RETURN_IF_ERROR(temp.Allocate(temp_bytes));
  ASSIGN_OR_RETURN(SelectResult r, cuda::TopK(dx.as<float>(), x.size(), k, out.idx.as<uint32_t>(),
                                              out_val != nullptr ? out.val.as<float>() : nullptr,
                                              temp.as<void>(), temp_bytes, stream.get()));
  RETURN_IF_ERROR(out.CopyBack(r, out_idx, out_val, stream.raw()));
  return r;
}

StatusOr<SelectResult> CudaThresholdHost(std::span<const float> x, float tau, size_t capacity,
                                         uint32_t* out_idx, float* out_val) {
  StreamHolder stream;
  RETURN_IF_ERROR(stream.Create());
  DeviceBuffer dx;
  RETURN_IF_ERROR(CopyIn(dx, x.data(), x.size_bytes(), stream.raw()));
  Outputs out;
  RETURN_IF_ERROR(out.Allocate(capacity, out_val != nullptr));
  ASSIGN_OR_RETURN(const size_t temp_bytes, cuda::SelectTempBytes(x.size(), capacity));
  DeviceBuffer temp;
  RETURN_IF_ERROR(temp.Allocate(temp_bytes));
  ASSIGN_OR_RETURN(SelectResult r,
                   cuda::ThresholdSelect(dx.as<float>(), x.size(), tau, out.idx.as<uint32_t>(),
                                         out_val != nullptr ? out.val.as<float>() : nullptr,
                                         capacity, temp.as<void>(), temp_bytes, stream.get()));
  RETURN_IF_ERROR(out.CopyBack(r, out_idx, out_val, stream.raw()));
  return r;
}

StatusOr<SelectResult> CudaGaussianKHost(std::span<const float> x, size_t k, size_t capacity,
                                         uint32_t* out_idx, float* out_val) {
  StreamHolder stream;
  RETURN_IF_ERROR(stream.Create());
  DeviceBuffer dx;
  RETURN_IF_ERROR(CopyIn(dx, x.data(), x.size_bytes(), stream.raw()));
  Outputs out;
  RETURN_IF_ERROR(out.Allocate(capacity, out_val != nullptr));
  ASSIGN_OR_RETURN(const size_t temp_bytes, cuda::SelectTempBytes(x.size(), capacity));
  DeviceBuffer temp;
  RETURN_IF_ERROR(temp.Allocate(temp_bytes));
  ASSIGN_OR_RETURN(SelectResult r,
                   cuda::GaussianK(dx.as<float>(), x.size(), k, out.idx.as<uint32_t>(),
                                   out_val != nullptr ? out.val.as<float>() : nullptr, capacity,
                                   temp.as<void>(), temp_bytes, stream.get()));
  RETURN_IF_ERROR(out.CopyBack(r, out_idx, out_val, stream.raw()));
  return r;
}

StatusOr<SelectResult> CudaErrorFeedbackHost(std::span<const float> u, std::span<float> e,
                                             const EfSelection& selection, size_t capacity,
                                             uint32_t* out_idx, float* out_val) {
  StreamHolder stream;
  RETURN_IF_ERROR(stream.Create());
  const cudaStream_t s = stream.raw();
  DeviceBuffer du;
  DeviceBuffer de;
  DeviceBuffer dsupport;
  RETURN_IF_ERROR(CopyIn(du, u.data(), u.size_bytes(), s));
  RETURN_IF_ERROR(CopyIn(de, e.data(), e.size_bytes(), s));
  EfSelection device_selection = selection;
  if (selection.kind == EfSelection::Kind::kSupport) {
    RETURN_IF_ERROR(CopyIn(dsupport, selection.support.data(), selection.support.size_bytes(), s));
    device_selection.support =
        std::span<const uint32_t>(dsupport.as<uint32_t>(), selection.support.size());
  }
  Outputs out;
  RETURN_IF_ERROR(out.Allocate(capacity, out_val != nullptr));
  ASSIGN_OR_RETURN(const size_t temp_bytes,
                   cuda::ErrorFeedbackTempBytes(u.size(), device_selection, capacity));
  DeviceBuffer temp;
  RETURN_IF_ERROR(temp.Allocate(temp_bytes));
  ASSIGN_OR_RETURN(SelectResult r,
                   cuda::ErrorFeedbackStep(du.as<float>(), de.as<float>(), u.size(),
                                           device_selection, out.idx.as<uint32_t>(),
                                           out_val != nullptr ? out.val.as<float>() : nullptr,
                                           capacity, temp.as<void>(), temp_bytes, stream.get()));
  RETURN_IF_ERROR(CopyOut(e.data(), de, e.size_bytes(), s));
  RETURN_IF_ERROR(out.CopyBack(r, out_idx, out_val, s));
  return r;
}

}  // namespace sotto::kernels::internal
