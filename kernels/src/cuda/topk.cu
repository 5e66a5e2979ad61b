// Exact top-k on the GPU: a 3-level MSD radix select over the 31-bit magnitude key
// (11/11/9 bits; per-block shared-memory histograms, the bucket chosen on the device so the
// host never waits between levels), then two ordered compactions with cub::DeviceSelect::If:
// the indices whose key equals the k-th key (to break ties by the lowest index), and the
// selection itself. Output is ascending by construction. This is the modest, obviously
// correct version; the one-read "predict, stream, verify" design of reference/topk.md 7.1
// is future work.

#include <thrust/iterator/counting_iterator.h>

#include <cub/block/block_scan.cuh>
#include <cub/device/device_select.cuh>

#include "cuda/cuda_common.cuh"
#include "sotto/kernels/cuda.h"

namespace sotto::kernels::cuda_internal {
namespace {

constexpr int kBins = 2048;
constexpr unsigned kBlock = 256;

struct TopKState {
  uint32_t prefix;     // key bits chosen so far
  uint32_t k_rem;      // elements still to take inside the prefix (1-based rank)
  uint32_t cut_index;  // among keys equal to the k-th, the last index taken
  uint32_t pad;
};

template <int kLevel>
struct Level {
  static constexpr int kShift = kLevel == 0 ? 20 : (kLevel == 1 ? 9 : 0);
  static constexpr int kHiShift = kLevel == 0 ? 31 : (kLevel == 1 ? 20 : 9);
  static constexpr uint32_t kMask = kLevel == 2 ? 0x1ffu : 0x7ffu;
  static constexpr int kWidth = kLevel == 2 ? 9 : 11;
};

__global__ void InitState(TopKState* st, uint32_t k, uint32_t* hist) {
  for (int b = threadIdx.x; b < 3 * kBins; b += blockDim.x) hist[b] = 0;
  if (threadIdx.x == 0) {
    st->prefix = 0;
    st->k_rem = k;
    st->cut_index = 0;
  }
}

template <int kLevel>
__global__ void HistogramKernel(const float* __restrict__ x, size_t n,
                                const TopKState* __restrict__ st, uint32_t* __restrict__ hist) {
  using L = Level<kLevel>;
  __shared__ uint32_t sh[kBins];
  for (int b = threadIdx.x; b < kBins; b += blockDim.x) sh[b] = 0;
  __syncthreads();
  const uint32_t prefix = st->prefix;
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t i = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const uint32_t key = DeviceKey(x[i]);
    if ((key >> L::kHiShift) == prefix) atomicAdd(&sh[(key >> L::kShift) & L::kMask], 1u);
  }
  __syncthreads();
  for (int b = threadIdx.x; b < kBins; b += blockDim.x) {
    if (sh[b] != 0) atomicAdd(&hist[b], sh[b]);
  }
}

// One block of 1024 threads: suffix sums over the bins (largest first) pick the bucket that
// holds the k_rem-th largest element.
template <int kLevel>
__global__ void ChooseBucketKernel(const uint32_t* __restrict__ hist, TopKState* st) {
  using L = Level<kLevel>;
  constexpr int kUsed = static_cast<int>(L::kMask) + 1;
  using BlockScan = cub::BlockScan<uint32_t, 1024>;
  __shared__ typename BlockScan::TempStorage scan_storage;
  uint32_t items[2];
  for (int q = 0; q < 2; ++q) {
    const int j = threadIdx.x * 2 + q;  // scan position: bin kUsed - 1 - j
    items[q] = j < kUsed ? hist[kUsed - 1 - j] : 0u;
  }
  uint32_t inclusive[2];
  BlockScan(scan_storage).InclusiveSum(items, inclusive);
  const uint32_t k_rem = st->k_rem;
  const uint32_t prefix = st->prefix;
  __syncthreads();
  for (int q = 0; q < 2; ++q) {
    const int j = threadIdx.x * 2 + q;
    const uint32_t exclusive = inclusive[q] - items[q];
    if (j < kUsed && exclusive < k_rem && inclusive[q] >= k_rem) {
      st->prefix = (prefix << L::kWidth) | static_cast<uint32_t>(kUsed - 1 - j);
      st->k_rem = k_rem - exclusive;
    }
  }
}

struct EqualKey {
  const float* x;
  const TopKState* st;
  __device__ bool operator()(uint32_t i) const { return DeviceKey(x[i]) == st->prefix; }
};

struct InTopK {
  const float* x;
  const TopKState* st;
  __device__ bool operator()(uint32_t i) const {
    const uint32_t key = DeviceKey(x[i]);
    return key > st->prefix || (key == st->prefix && i <= st->cut_index);
  }
};

__global__ void SetCut(TopKState* st, const uint32_t* eq) { st->cut_index = eq[st->k_rem - 1]; }

__global__ void GatherKernel(const float* __restrict__ x, const uint32_t* __restrict__ idx,
                             size_t count, float* __restrict__ val) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t j = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < count;
       j += stride) {
    val[j] = x[idx[j]];
  }
}

__global__ void IotaKernel(uint32_t* idx, size_t n) {
  const size_t stride = static_cast<size_t>(gridDim.x) * blockDim.x;
  for (size_t j = static_cast<size_t>(blockIdx.x) * blockDim.x + threadIdx.x; j < n; j += stride) {
    idx[j] = static_cast<uint32_t>(j);
  }
}

struct Layout {
  TopKState* state;
  uint32_t* hist;
  uint32_t* eq;
  int64_t* num;
  void* cub;
  size_t cub_bytes;
};

Status CarveTopK(void* base, size_t n, Layout* l, size_t* total) {
  thrust::counting_iterator<uint32_t> first(0);
  size_t eq_bytes = 0;
  size_t sel_bytes = 0;
  SOTTO_CUDA_RETURN_IF_ERROR(
      cub::DeviceSelect::If(nullptr, eq_bytes, first, static_cast<uint32_t*>(nullptr),
                            static_cast<int64_t*>(nullptr), static_cast<int64_t>(n), EqualKey{}));
  SOTTO_CUDA_RETURN_IF_ERROR(
      cub::DeviceSelect::If(nullptr, sel_bytes, first, static_cast<uint32_t*>(nullptr),
                            static_cast<int64_t*>(nullptr), static_cast<int64_t>(n), InTopK{}));
  TempCarver c(base);
  l->state = c.Take<TopKState>(1);
  l->hist = c.Take<uint32_t>(3 * kBins);
  l->eq = c.Take<uint32_t>(n);
  l->num = c.Take<int64_t>(2);
  l->cub_bytes = eq_bytes > sel_bytes ? eq_bytes : sel_bytes;
  l->cub = c.Take<char>(l->cub_bytes);
  *total = c.used();
  return OkStatus();
}

}  // namespace

StatusOr<size_t> TopKTemp(size_t n) {
  Layout l;
  size_t total = 0;
  const Status s = CarveTopK(nullptr, n, &l, &total);
  if (!s.ok()) return s;
  return total;
}

Status TopKDevice(const float* d_x, size_t n, size_t k, uint32_t* d_idx, float* d_val, void* d_temp,
                  size_t temp_bytes, cudaStream_t stream, float* kth_magnitude) {
  *kth_magnitude = 0.0f;
  if (k == 0) return OkStatus();
  if (k == n) {
    IotaKernel<<<GridFor(n, kBlock), kBlock, 0, stream>>>(d_idx, n);
    SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("IotaKernel");
    if (d_val != nullptr) {
      SOTTO_CUDA_RETURN_IF_ERROR(
          cudaMemcpyAsync(d_val, d_x, n * sizeof(float), cudaMemcpyDeviceToDevice, stream));
    }
    // The k-th magnitude is not computed when everything is selected (left at 0).
    return OkStatus();
  }
  Layout l;
  size_t total = 0;
  const Status carved = CarveTopK(d_temp, n, &l, &total);
  if (!carved.ok()) return carved;
  if (temp_bytes < total) return InvalidArgumentError("cuda::TopK: temp storage too small");
  const unsigned grid = GridFor(n, kBlock, 2048);
  InitState<<<1, 1024, 0, stream>>>(l.state, static_cast<uint32_t>(k), l.hist);
  SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("InitState");
  HistogramKernel<0><<<grid, kBlock, 0, stream>>>(d_x, n, l.state, l.hist);
  ChooseBucketKernel<0><<<1, 1024, 0, stream>>>(l.hist, l.state);
  HistogramKernel<1><<<grid, kBlock, 0, stream>>>(d_x, n, l.state, l.hist + kBins);
  ChooseBucketKernel<1><<<1, 1024, 0, stream>>>(l.hist + kBins, l.state);
  HistogramKernel<2><<<grid, kBlock, 0, stream>>>(d_x, n, l.state, l.hist + 2 * kBins);
  ChooseBucketKernel<2><<<1, 1024, 0, stream>>>(l.hist + 2 * kBins, l.state);
  SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("radix levels");
  thrust::counting_iterator<uint32_t> first(0);
  size_t cub_bytes = l.cub_bytes;
  SOTTO_CUDA_RETURN_IF_ERROR(cub::DeviceSelect::If(l.cub, cub_bytes, first, l.eq, l.num,
                                                   static_cast<int64_t>(n), EqualKey{d_x, l.state},
                                                   stream));
  SetCut<<<1, 1, 0, stream>>>(l.state, l.eq);
  SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("SetCut");
  cub_bytes = l.cub_bytes;
  SOTTO_CUDA_RETURN_IF_ERROR(cub::DeviceSelect::If(l.cub, cub_bytes, first, d_idx, l.num + 1,
                                                   static_cast<int64_t>(n), InTopK{d_x, l.state},
                                                   stream));
  if (d_val != nullptr) {
    GatherKernel<<<GridFor(k, kBlock), kBlock, 0, stream>>>(d_x, d_idx, k, d_val);
    SOTTO_CUDA_RETURN_IF_LAUNCH_ERROR("GatherKernel");
  }
  TopKState host_state;
  SOTTO_CUDA_RETURN_IF_ERROR(
      cudaMemcpyAsync(&host_state, l.state, sizeof(host_state), cudaMemcpyDeviceToHost, stream));
  SOTTO_CUDA_RETURN_IF_ERROR(cudaStreamSynchronize(stream));
  uint32_t key = host_state.prefix;
  float magnitude;
  static_assert(sizeof(key) == sizeof(magnitude));
  memcpy(&magnitude, &key, sizeof(key));
  *kth_magnitude = magnitude;
  return OkStatus();
}

}  // namespace sotto::kernels::cuda_internal

namespace sotto::kernels::cuda {

StatusOr<size_t> TopKTempBytes(size_t n, size_t /*k*/) { return cuda_internal::TopKTemp(n); }

StatusOr<SelectResult> TopK(const float* d_x, size_t n, size_t k, uint32_t* d_idx, float* d_val,
                            void* d_temp, size_t temp_bytes, Stream stream) {
  if (n > kMaxElements) return InvalidArgumentError("cuda::TopK: 2^32 or more elements");
  if (k > n) return InvalidArgumentError("cuda::TopK: k > n");
  SelectResult r;
  r.backend = Backend::kCuda;
  r.count = k;
  r.num_above = k;
  const Status s = cuda_internal::TopKDevice(d_x, n, k, d_idx, d_val, d_temp, temp_bytes,
                                             reinterpret_cast<cudaStream_t>(stream), &r.threshold);
  if (!s.ok()) return s;
  return r;
}

}  // namespace sotto::kernels::cuda
