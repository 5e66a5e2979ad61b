#include "sotto/kernels/scratch.h"

#include <algorithm>
#include <cstdlib>

namespace sotto::kernels {

void Scratch::FreeAligned::operator()(std::byte* p) const { std::free(p); }

std::span<std::byte> Scratch::Get(size_t bytes) {
  if (bytes > capacity_ || !data_) {
    const size_t rounded = (std::max<size_t>(bytes, 64) + 63) & ~size_t{63};
    data_.reset(static_cast<std::byte*>(std::aligned_alloc(64, rounded)));
    capacity_ = data_ ? rounded : 0;
    if (!data_) return {};
  }
  return {data_.get(), bytes};
}

}  // namespace sotto::kernels
