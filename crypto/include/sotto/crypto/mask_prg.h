#pragma once

// The mask generator of secure aggregation: a ChaCha20 keystream with random access, so the
// mask of a sparse support S costs O(|S|) and not O(d).
//
// Stream. ChaCha20 of RFC 8439 (20 rounds, 32-bit block counter, 96-bit nonce) keyed by the
// 32-byte seed, with the fixed nonce
//   nonce = LE64(stream) || 00 00 00 00
// (stream defaults to 0; a caller that masks several vectors with one seed gives each its own
// stream id). Keystream word w is bytes [4w, 4w + 4) of the stream read as a little-endian
// uint32, i.e. word w % 16 of block w / 16 (block counter = w / 16).
//
// Layout (a protocol contract: both ends of a pair must agree on it).
//   ring 2^32 (uint32_t): mask(j) = word j                      -> block j / 16
//   ring 2^64 (uint64_t): mask(j) = word 2j | word (2j+1) << 32  -> block j / 8
//                         (the 8 bytes at keystream offset 8j, little-endian)
// Coordinates j are below kMaxMaskCoordinates (2^32, the sparse codec's index range).
// The mask of coordinate j depends only on (seed, stream, ring, j): not on the range or the
// support it is generated with, so dense and sparse generation agree and masks cancel on any
// common support.
//
// Operations: values[i] = mask (kSet), values[i] += mask (kAdd) or values[i] -= mask
// (kSubtract), all modulo 2^32 or 2^64.
//   ApplyDense(begin, values, op):   coordinates begin .. begin + values.size() - 1.
//   ApplySparse(support, values, op): coordinate support[i] for values[i]; support strictly
//     ascending. Only the ChaCha20 blocks that the support touches are computed, each once,
//     eight at a time by an eight-lane ChaCha20 core (AVX-512 / AVX2 / baseline, chosen at run
//     time), so the cost is O(|support|) and not O(d).
// Errors (InvalidArgument, nothing written): support and values of different sizes, support not
// strictly ascending, a coordinate >= kMaxMaskCoordinates, an unknown op.
//
// Speed (docs/BENCHMARKS.md). Dense generation, chosen at run time: on CPUs with AVX-512F a
// sixteen-block ChaCha20 core in zmm registers that sets / adds / subtracts the mask straight
// into `values` (about 5.2 GB/s of mask per core on the reference VM, 0.5 cycles per byte);
// elsewhere libsodium's vectorised ChaCha20 in 4 KiB chunks through a scratch buffer (about
// 2.2 GB/s there). Both give the same masks. In ring 2^32 a 1% sparse support of d = 10^6
// costs about a tenth of the libsodium dense mask over d and a quarter of the AVX-512 one; at
// 10% the sparse path is slower than the AVX-512 dense mask over all of d.
//
// Secrets: the seed (held as a wiped copy) and the masks. The keystream scratch buffers (the
// libsodium chunk, the AVX-512 core's partial first and last groups, the sparse path's blocks)
// are wiped before each call returns; register contents are not. Thread-safety: a MaskPrg is
// immutable after construction; any number of threads may call its const methods concurrently.

#include <cstddef>
#include <cstdint>
#include <span>

#include "sotto/base/status.h"
#include "sotto/crypto/secret_bytes.h"

namespace sotto::crypto {

inline constexpr size_t kMaskSeedBytes = kSeedBytes;
inline constexpr uint64_t kMaxMaskCoordinates = uint64_t{1} << 32;

enum class MaskOp : uint8_t {
  kSet = 0,
  kAdd = 1,
  kSubtract = 2,
};

class MaskPrg {
 public:
  // Copies the seed. `stream` selects the nonce (see the file comment).
  explicit MaskPrg(const Seed& seed, uint64_t stream = 0);

  MaskPrg(MaskPrg&&) noexcept = default;
  MaskPrg& operator=(MaskPrg&&) noexcept = default;
  MaskPrg(const MaskPrg&) = delete;
  MaskPrg& operator=(const MaskPrg&) = delete;

  uint64_t stream() const { return stream_; }

  // Ring 2^32.
  Status ApplyDense(uint64_t begin, std::span<uint32_t> values, MaskOp op) const;
  Status ApplySparse(std::span<const uint32_t> support, std::span<uint32_t> values,
                     MaskOp op) const;
  // Ring 2^64.
  Status ApplyDense(uint64_t begin, std::span<uint64_t> values, MaskOp op) const;
  Status ApplySparse(std::span<const uint32_t> support, std::span<uint64_t> values,
                     MaskOp op) const;

 private:
  Seed key_;
  uint64_t stream_;
};

}  // namespace sotto::crypto
