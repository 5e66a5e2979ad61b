#include "sotto/crypto/mask_prg.h"

#include <sodium.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cstring>
#include <string>

#include "chacha20_dense.h"
#include "chacha20_gather.h"
#include "mask_prg_internal.h"
#include "sodium_util.h"
#include "sotto/base/status_macros.h"

namespace sotto::crypto {

static_assert(kMaskSeedBytes == crypto_stream_chacha20_ietf_KEYBYTES);
static_assert(crypto_stream_chacha20_ietf_NONCEBYTES == 12);
// Masks are the keystream's little-endian words; on a little-endian host that is a plain load.
static_assert(std::endian::native == std::endian::little,
              "mask_prg.cc reads keystream words with memcpy; add byte swaps for big-endian");

namespace {

using internal::ChaCha20Gather;
using internal::ChaChaKey;
using internal::DenseIsa;
using internal::kGatherLanes;
using internal::kGatherOutputWords;
using internal::MakeChaChaKey;

constexpr size_t kBlockBytes = 64;
// Blocks generated per libsodium call: 4 KiB of keystream, which stays in L1 while it is
// combined into the output, and is long enough for libsodium's AVX2 path.
constexpr size_t kChunkBlocks = 64;
constexpr size_t kChunkBytes = kChunkBlocks * kBlockBytes;

using Nonce = std::array<uint8_t, crypto_stream_chacha20_ietf_NONCEBYTES>;

Nonce MakeNonce(uint64_t stream) {
  Nonce nonce{};
  internal::StoreLe64(stream, nonce.data());
  return nonce;
}

// Writes keystream blocks [first_block, first_block + num_blocks) to `out`.
void Keystream(const uint8_t* key, const Nonce& nonce, uint64_t first_block, size_t num_blocks,
               uint8_t* out) {
  const size_t bytes = num_blocks * kBlockBytes;
  std::memset(out, 0, bytes);
  crypto_stream_chacha20_ietf_xor_ic(out, out, bytes, nonce.data(),
                                     static_cast<uint32_t>(first_block), key);
}

template <typename Word>
Word LoadWord(const uint8_t* p) {
  Word w;
  std::memcpy(&w, p, sizeof(Word));
  return w;
}

// values[i] op= masks[i] for i < n, masks read from keystream bytes.
template <typename Word>
void Combine(Word* values, const uint8_t* keystream, size_t n, MaskOp op) {
  switch (op) {
    case MaskOp::kSet:
      std::memcpy(values, keystream, n * sizeof(Word));
      break;
    case MaskOp::kAdd:
      for (size_t i = 0; i < n; ++i) {
        values[i] += LoadWord<Word>(keystream + i * sizeof(Word));
      }
      break;
    case MaskOp::kSubtract:
      for (size_t i = 0; i < n; ++i) {
        values[i] -= LoadWord<Word>(keystream + i * sizeof(Word));
      }
      break;
  }
}

bool IsKnownOp(MaskOp op) {
  return op == MaskOp::kSet || op == MaskOp::kAdd || op == MaskOp::kSubtract;
}

template <typename Word>
Status CheckDenseArguments(uint64_t begin, std::span<Word> values, MaskOp op) {
  if (!IsKnownOp(op)) {
    return InvalidArgumentError("unknown mask op " + std::to_string(static_cast<int>(op)));
  }
  if (values.size() > kMaxMaskCoordinates || begin > kMaxMaskCoordinates - values.size()) {
    return InvalidArgumentError("mask range [" + std::to_string(begin) + ", " +
                                std::to_string(begin) + " + " + std::to_string(values.size()) +
                                ") exceeds 2^32 coordinates");
  }
  return OkStatus();
}

// The libsodium variant: keystream chunks of kChunkBytes into a wiped stack buffer, each
// combined into the values while it is in L1.
template <typename Word>
void ApplyDenseSodium(const uint8_t* key, uint64_t stream, uint64_t begin, std::span<Word> values,
                      MaskOp op) {
  constexpr uint64_t kPerBlock = kBlockBytes / sizeof(Word);
  const Nonce nonce = MakeNonce(stream);
  alignas(64) uint8_t scratch[kChunkBytes];
  internal::ScopedWipe wipe_scratch(scratch, sizeof(scratch));

  const uint64_t end = begin + values.size();
  uint64_t pos = begin;
  while (pos < end) {
    const uint64_t block = pos / kPerBlock;
    const uint64_t offset = pos % kPerBlock;
    const uint64_t blocks_left = (end - block * kPerBlock + kPerBlock - 1) / kPerBlock;
    const size_t num_blocks = static_cast<size_t>(std::min<uint64_t>(kChunkBlocks, blocks_left));
    Keystream(key, nonce, block, num_blocks, scratch);
    const uint64_t count = std::min<uint64_t>(end - pos, num_blocks * kPerBlock - offset);
    Combine<Word>(values.data() + (pos - begin), scratch + offset * sizeof(Word),
                  static_cast<size_t>(count), op);
    pos += count;
  }
}

template <typename Word>
Status ApplyDenseImpl(DenseIsa isa, const uint8_t* key, uint64_t stream, uint64_t begin,
                      std::span<Word> values, MaskOp op) {
  RETURN_IF_ERROR(CheckDenseArguments(begin, values, op));
  if (!internal::DenseIsaSupported(isa)) {
    return FailedPreconditionError("this CPU cannot run the requested dense mask variant");
  }
  if (values.empty()) {
    return OkStatus();
  }
  switch (isa) {
    case DenseIsa::kAvx512: {
      ChaChaKey chacha_key = MakeChaChaKey(key, stream);
      internal::ScopedWipe wipe_key(&chacha_key, sizeof(chacha_key));
      internal::DenseMaskAvx512(chacha_key, begin, values.data(), values.size(), op);
      break;
    }
    case DenseIsa::kSodium:
      ApplyDenseSodium(key, stream, begin, values, op);
      break;
  }
  return OkStatus();
}

// Eight distinct touched blocks at a time: untouched blocks are never computed, each touched
// block once. The loops branch only at the end of a group of eight blocks (the lane of each
// coordinate is counted, not tested), since a random support makes "next block?" unpredictable.
template <typename Word, MaskOp kOp>
void SparseLoop(const ChaChaKey& chacha_key, std::span<const uint32_t> support,
                std::span<Word> values, uint32_t* words) {
  constexpr uint32_t kPerBlock = kBlockBytes / sizeof(Word);
  constexpr uint32_t kNoBlock = 0xffffffff;  // blocks are < 2^29
  const size_t k = support.size();
  alignas(32) uint32_t counters[kGatherLanes];
  uint8_t lane_of[kGatherLanes * kPerBlock];
  size_t i = 0;
  while (i < k) {
    size_t lanes = 0;
    uint32_t previous = kNoBlock;
    size_t m = i;
    for (; m < k; ++m) {
      const uint32_t block = support[m] / kPerBlock;
      const size_t is_new = block != previous ? 1 : 0;
      if (lanes + is_new > kGatherLanes) {
        break;
      }
      lanes += is_new;
      counters[lanes - 1] = block;
      lane_of[m - i] = static_cast<uint8_t>(lanes - 1);
      previous = block;
    }
    for (size_t l = lanes; l < kGatherLanes; ++l) {
      counters[l] = counters[0];  // idle lanes recompute a block; their output is unused
    }
    ChaCha20Gather(chacha_key, counters, words);
    for (size_t idx = i; idx < m; ++idx) {
      const size_t l = lane_of[idx - i];
      const uint32_t offset = support[idx] % kPerBlock;
      Word mask;
      if constexpr (sizeof(Word) == 4) {
        mask = words[offset * kGatherLanes + l];
      } else {
        mask = static_cast<Word>(words[2 * offset * kGatherLanes + l]) |
               (static_cast<Word>(words[(2 * offset + 1) * kGatherLanes + l]) << 32);
      }
      if constexpr (kOp == MaskOp::kSet) {
        values[idx] = mask;
      } else if constexpr (kOp == MaskOp::kAdd) {
        values[idx] += mask;
      } else {
        values[idx] -= mask;
      }
    }
    i = m;
  }
}

template <typename Word>
Status ApplySparseImpl(const uint8_t* key, uint64_t stream, std::span<const uint32_t> support,
                       std::span<Word> values, MaskOp op) {
  if (!IsKnownOp(op)) {
    return InvalidArgumentError("unknown mask op " + std::to_string(static_cast<int>(op)));
  }
  if (support.size() != values.size()) {
    return InvalidArgumentError("mask support has " + std::to_string(support.size()) +
                                " coordinates but there are " + std::to_string(values.size()) +
                                " values");
  }
  for (size_t i = 1; i < support.size(); ++i) {
    if (support[i] <= support[i - 1]) {
      return InvalidArgumentError("mask support is not strictly ascending at position " +
                                  std::to_string(i));
    }
  }
  ChaChaKey chacha_key = MakeChaChaKey(key, stream);
  internal::ScopedWipe wipe_key(&chacha_key, sizeof(chacha_key));
  alignas(32) uint32_t words[kGatherOutputWords];
  internal::ScopedWipe wipe_words(words, sizeof(words));

  switch (op) {
    case MaskOp::kSet:
      SparseLoop<Word, MaskOp::kSet>(chacha_key, support, values, words);
      break;
    case MaskOp::kAdd:
      SparseLoop<Word, MaskOp::kAdd>(chacha_key, support, values, words);
      break;
    case MaskOp::kSubtract:
      SparseLoop<Word, MaskOp::kSubtract>(chacha_key, support, values, words);
      break;
  }
  return OkStatus();
}

}  // namespace

MaskPrg::MaskPrg(const Seed& seed, uint64_t stream) : key_(seed.Clone()), stream_(stream) {
  // Picks libsodium's fastest ChaCha20 for this CPU before the first use.
  internal::EnsureSodium();
}

Status MaskPrg::ApplyDense(uint64_t begin, std::span<uint32_t> values, MaskOp op) const {
  if (key_.bytes().size() != kMaskSeedBytes) {
    return InvalidArgumentError("MaskPrg was moved from");
  }
  return ApplyDenseImpl<uint32_t>(internal::BestDenseIsa(), key_.bytes().data(), stream_, begin,
                                  values, op);
}

Status MaskPrg::ApplyDense(uint64_t begin, std::span<uint64_t> values, MaskOp op) const {
  if (key_.bytes().size() != kMaskSeedBytes) {
    return InvalidArgumentError("MaskPrg was moved from");
  }
  return ApplyDenseImpl<uint64_t>(internal::BestDenseIsa(), key_.bytes().data(), stream_, begin,
                                  values, op);
}

Status MaskPrg::ApplySparse(std::span<const uint32_t> support, std::span<uint32_t> values,
                            MaskOp op) const {
  if (key_.bytes().size() != kMaskSeedBytes) {
    return InvalidArgumentError("MaskPrg was moved from");
  }
  return ApplySparseImpl<uint32_t>(key_.bytes().data(), stream_, support, values, op);
}

Status MaskPrg::ApplySparse(std::span<const uint32_t> support, std::span<uint64_t> values,
                            MaskOp op) const {
  if (key_.bytes().size() != kMaskSeedBytes) {
    return InvalidArgumentError("MaskPrg was moved from");
  }
  return ApplySparseImpl<uint64_t>(key_.bytes().data(), stream_, support, values, op);
}

namespace internal {

Status ApplyDenseWith(DenseIsa isa, const Seed& seed, uint64_t stream, uint64_t begin,
                      std::span<uint32_t> values, MaskOp op) {
  EnsureSodium();
  if (seed.bytes().size() != kMaskSeedBytes) {
    return InvalidArgumentError("mask seed is empty (moved from)");
  }
  return ApplyDenseImpl<uint32_t>(isa, seed.bytes().data(), stream, begin, values, op);
}

Status ApplyDenseWith(DenseIsa isa, const Seed& seed, uint64_t stream, uint64_t begin,
                      std::span<uint64_t> values, MaskOp op) {
  EnsureSodium();
  if (seed.bytes().size() != kMaskSeedBytes) {
    return InvalidArgumentError("mask seed is empty (moved from)");
  }
  return ApplyDenseImpl<uint64_t>(isa, seed.bytes().data(), stream, begin, values, op);
}

}  // namespace internal
}  // namespace sotto::crypto
