#pragma once

// Scratch: a reusable, caller-owned scratch buffer for the kernels' two-phase API.
//
// Every kernel that needs temporary memory reports how much through a *ScratchBytes(...)
// query and takes a std::span<std::byte> of at least that size (CUB's temp-storage pattern):
// the kernels never allocate on the hot path. Scratch is the convenient owner of such a span:
//
//   kernels::Scratch scratch;
//   RETURN_IF_ERROR(kernels::TopK(x, k, idx, val,
//                                 scratch.Get(kernels::TopKScratchBytes(n, k, opts)), opts));
//
// Get(bytes) grows the buffer when needed (never shrinks) and returns a 64-byte aligned span
// of exactly `bytes`; the contents are unspecified. Not thread-safe: one Scratch per caller.

#include <cstddef>
#include <memory>
#include <span>

namespace sotto::kernels {

class Scratch {
 public:
  Scratch() = default;
  Scratch(Scratch&&) noexcept = default;
  Scratch& operator=(Scratch&&) noexcept = default;

  std::span<std::byte> Get(size_t bytes);
  size_t capacity() const { return capacity_; }

 private:
  struct FreeAligned {
    void operator()(std::byte* p) const;
  };
  std::unique_ptr<std::byte, FreeAligned> data_;
  size_t capacity_ = 0;
};

}  // namespace sotto::kernels
