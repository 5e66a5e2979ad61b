#include "masking.h"

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <string_view>
#include <system_error>
#include <thread>
#include <vector>

#include "sotto/base/status_macros.h"

namespace sotto::secagg::internal {
namespace {

constexpr std::string_view kCommitmentLabel = "sotto/secagg/seed-commitment/v1";

// Elements per thread below which more threads do not pay for their start-up: for the masks
// (about 0.2 ns of ChaCha20 per byte) and for adding a masked input (memory-bound, ten times
// cheaper per element).
constexpr size_t kMinElementsPerThread = size_t{1} << 15;
constexpr size_t kMinAddElementsPerThread = size_t{1} << 18;
// Ranges are cut on multiples of 256 elements: a sixteen-block group of the AVX-512 ChaCha20
// core (256 elements of 2^32, 128 of 2^64), so that no ChaCha20 block is generated twice and no
// call starts or ends inside a group (a partial group goes through a stack buffer).
constexpr size_t kAlignElements = 256;
// Elements per tile: every seed is applied to one 16 KiB tile of the vector before the next
// tile, so the tile stays in L1 across the seeds instead of the whole vector streaming through
// the caches once per seed. On the reference VM the ChaCha20 core is compute-bound and one thread
// runs as fast without tiles (measured); the tiles keep the memory traffic at one pass per round
// where several threads share the memory bandwidth.
constexpr size_t kTileBytes = size_t{16} << 10;

// Applies every seed to elements [begin, end) of `values` (coordinates from `support`).
template <typename Word>
Status ApplyRange(std::span<const MaskedSum::SeedOp> seeds, const Support& support,
                  MaskIndexing indexing, std::span<Word> values, size_t begin, size_t end) {
  const bool by_position = support.is_dense() || indexing == MaskIndexing::kSupportPosition;
  std::vector<crypto::MaskPrg> prgs;
  prgs.reserve(seeds.size());
  for (const auto& s : seeds) {
    prgs.emplace_back(*s.seed, kVectorStream);
  }
  constexpr size_t kTile = kTileBytes / sizeof(Word);
  static_assert(kTile % kAlignElements == 0);
  for (size_t tile = begin; tile < end; tile += kTile) {
    const size_t tile_end = std::min(end, tile + kTile);
    const auto part = values.subspan(tile, tile_end - tile);
    for (size_t k = 0; k < seeds.size(); ++k) {
      if (by_position) {
        RETURN_IF_ERROR(prgs[k].ApplyDense(tile, part, seeds[k].op));
      } else {
        RETURN_IF_ERROR(prgs[k].ApplySparse(support.indices().subspan(tile, tile_end - tile), part,
                                            seeds[k].op));
      }
    }
  }
  return OkStatus();
}

// Threads worth starting for `n` elements at `min_per_thread` elements each, at most `wanted`.
size_t ThreadsFor(size_t n, int wanted, size_t min_per_thread) {
  return std::max<size_t>(
      1, std::min<size_t>(static_cast<size_t>(std::max(wanted, 1)), n / min_per_thread));
}

// Runs fn(t, begin, end) for `threads` contiguous ranges t of [0, n), cut on multiples of
// kAlignElements: range 0 on the calling thread, the others on their own std::thread, all joined
// before return. Each range is written by one thread only, so there is nothing to reduce and the
// result does not depend on the thread count. A range whose thread cannot be started runs on the
// caller (no exception leaves the library).
template <typename Fn>
void ForEachRange(size_t n, size_t threads, const Fn& fn) {
  if (threads <= 1) {
    fn(size_t{0}, size_t{0}, n);
    return;
  }
  const size_t chunk = (n / threads + kAlignElements - 1) / kAlignElements * kAlignElements;
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) {
    const size_t begin = std::min(n, t * chunk);
    const size_t end = t + 1 == threads ? n : std::min(n, begin + chunk);
    auto work = [&fn, t, begin, end] { fn(t, begin, end); };
    try {
      workers.emplace_back(work);
    } catch (const std::system_error&) {
      work();
    }
  }
  fn(size_t{0}, size_t{0}, std::min(n, chunk));
  for (auto& w : workers) {
    w.join();
  }
}

template <typename Word>
Status ApplyParallel(std::span<const MaskedSum::SeedOp> seeds, const Support& support,
                     MaskIndexing indexing, std::span<Word> values, int num_threads) {
  const size_t threads = ThreadsFor(values.size(), num_threads, kMinElementsPerThread);
  std::vector<Status> results(threads);
  ForEachRange(values.size(), threads, [&](size_t t, size_t begin, size_t end) {
    results[t] = ApplyRange(seeds, support, indexing, values, begin, end);
  });
  for (auto& r : results) {
    RETURN_IF_ERROR(r);
  }
  return OkStatus();
}

}  // namespace

MaskedSum::MaskedSum(crypto::Ring ring, size_t size) : ring_(ring) {
  if (ring == crypto::Ring::kRing32) {
    w32_.assign(size, 0);
  } else {
    w64_.assign(size, 0);
  }
}

void MaskedSum::Assign(std::span<const uint64_t> values, uint64_t weight) {
  if (ring_ == crypto::Ring::kRing32) {
    for (size_t i = 0; i < values.size(); ++i) {
      w32_[i] = static_cast<uint32_t>(values[i]);
    }
    weight_ = weight & 0xffffffffu;
  } else {
    std::copy(values.begin(), values.end(), w64_.begin());
    weight_ = weight;
  }
}

void MaskedSum::Add(std::span<const uint64_t> values, uint64_t weight) {
  if (ring_ == crypto::Ring::kRing32) {
    uint32_t* out = w32_.data();
    const uint64_t* in = values.data();
    for (size_t i = 0; i < values.size(); ++i) {
      out[i] += static_cast<uint32_t>(in[i]);
    }
    weight_ = (weight_ + weight) & 0xffffffffu;
  } else {
    uint64_t* out = w64_.data();
    const uint64_t* in = values.data();
    for (size_t i = 0; i < values.size(); ++i) {
      out[i] += in[i];
    }
    weight_ += weight;
  }
}

bool MaskedSum::AddIfInRing(std::span<const uint64_t> values, uint64_t weight, int num_threads) {
  if (ring_ == crypto::Ring::kRing64) {
    Add(values, weight);
    return true;
  }
  if (weight > 0xffffffffu) {
    return false;
  }
  const size_t n = values.size();
  const size_t threads = ThreadsFor(n, num_threads, kMinAddElementsPerThread);
  std::vector<uint64_t> high(threads, 0);
  uint32_t* out = w32_.data();
  const uint64_t* in = values.data();
  // One pass: add the low 32 bits and OR the high ones (vectorised; no branch per element).
  ForEachRange(n, threads, [&](size_t t, size_t begin, size_t end) {
    uint64_t bits = 0;
    for (size_t i = begin; i < end; ++i) {
      bits |= in[i] >> 32;
      out[i] += static_cast<uint32_t>(in[i]);
    }
    high[t] = bits;
  });
  uint64_t any = 0;
  for (uint64_t h : high) {
    any |= h;
  }
  if (any != 0) {
    // Refused: take it out again (exact, mod 2^32), so nothing of it stays in the sum.
    for (size_t i = 0; i < n; ++i) {
      out[i] -= static_cast<uint32_t>(in[i]);
    }
    return false;
  }
  weight_ = (weight_ + weight) & 0xffffffffu;
  return true;
}

Status MaskedSum::ApplySeeds(std::span<const SeedOp> seeds, const Support& support,
                             MaskIndexing indexing, int num_threads) {
  if (ring_ == crypto::Ring::kRing32) {
    RETURN_IF_ERROR(
        ApplyParallel(seeds, support, indexing, std::span<uint32_t>(w32_), num_threads));
    uint32_t w = static_cast<uint32_t>(weight_);
    for (const auto& s : seeds) {
      RETURN_IF_ERROR(
          crypto::MaskPrg(*s.seed, kWeightStream).ApplyDense(0, std::span<uint32_t>(&w, 1), s.op));
    }
    weight_ = w;
  } else {
    RETURN_IF_ERROR(
        ApplyParallel(seeds, support, indexing, std::span<uint64_t>(w64_), num_threads));
    for (const auto& s : seeds) {
      RETURN_IF_ERROR(crypto::MaskPrg(*s.seed, kWeightStream)
                          .ApplyDense(0, std::span<uint64_t>(&weight_, 1), s.op));
    }
  }
  return OkStatus();
}

void MaskedSum::ValuesTo(size_t begin, size_t end, uint64_t* out) const {
  if (ring_ == crypto::Ring::kRing32) {
    std::copy(w32_.begin() + static_cast<ptrdiff_t>(begin),
              w32_.begin() + static_cast<ptrdiff_t>(end), out);
  } else {
    std::copy(w64_.begin() + static_cast<ptrdiff_t>(begin),
              w64_.begin() + static_cast<ptrdiff_t>(end), out);
  }
}

void ParallelFor(size_t count, int num_threads, const std::function<void(size_t)>& fn) {
  const size_t threads = std::min<size_t>(count, static_cast<size_t>(std::max(num_threads, 1)));
  if (threads <= 1) {
    for (size_t i = 0; i < count; ++i) {
      fn(i);
    }
    return;
  }
  std::atomic<size_t> next{0};
  auto work = [&] {
    for (size_t i = next.fetch_add(1); i < count; i = next.fetch_add(1)) {
      fn(i);
    }
  };
  std::vector<std::thread> workers;
  workers.reserve(threads - 1);
  for (size_t t = 1; t < threads; ++t) {
    try {
      workers.emplace_back(work);
    } catch (const std::system_error&) {
      break;  // the threads already started and this one share the work
    }
  }
  work();
  for (auto& w : workers) {
    w.join();
  }
}

std::vector<uint64_t> MaskedSum::Values() const {
  if (ring_ == crypto::Ring::kRing32) {
    return std::vector<uint64_t>(w32_.begin(), w32_.end());
  }
  return w64_;
}

crypto::Blake2b256Digest SeedCommitment(const RoundConfig& config, uint64_t client_id,
                                        std::span<const uint8_t> seed) {
  crypto::Blake2b256Hasher hasher;
  hasher.Update(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(kCommitmentLabel.data()),
                                         kCommitmentLabel.size()));
  hasher.UpdateU64(config.run_id);
  hasher.UpdateU64(config.round_id);
  hasher.UpdateU64(client_id);
  hasher.Update(seed);
  return hasher.Final();
}

crypto::PairContext MakePairContext(const RoundConfig& config, uint64_t self, uint64_t peer,
                                    crypto::PairPurpose purpose) {
  return {config.run_id, config.round_id, self, peer, purpose};
}

crypto::AeadContext MakeAeadContext(const RoundConfig& config, uint64_t sender,
                                    uint64_t recipient) {
  return {config.run_id, config.round_id, sender, recipient};
}

void StoreLe64(uint64_t value, uint8_t* out) {
  for (int i = 0; i < 8; ++i) {
    out[i] = static_cast<uint8_t>(value >> (8 * i));
  }
}

uint64_t LoadLe64(const uint8_t* in) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) {
    v |= uint64_t{in[i]} << (8 * i);
  }
  return v;
}

}  // namespace sotto::secagg::internal
