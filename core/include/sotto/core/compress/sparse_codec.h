#pragma once

// The sparse wire codec: one sparse update (a dimension d, k strictly ascending uint32 indices
// below d, one value per index) as bytes, and back. This is what a client uploads after
// sparsification; the bytes are untrusted on the receiving side and the decoder validates all
// of them.
//
// ------------------------------------------------------------------------------------------
// Wire layout, format version 1 (a wire contract: change it only with a new version).
//
// A byte-aligned header, then one bit stream. Header integers are single bytes or unsigned
// LEB128 varints (7 bits per byte, least significant group first, high bit set on every byte
// but the last; shortest form only, at most 10 bytes). The bit stream is written least
// significant bit first: stream bit i is bit (i % 8) of byte (header_size + i / 8), and a
// w-bit field stores its least significant bit first.
//
//   field          size       meaning
//   version        byte       1 (kSparseFormatVersion)
//   index coding   byte       0 = Rice-coded gaps, 1 = bitmap
//   value coding   byte       0 = fp32, 1 = fp16, 2 = bf16, 3 = ring32, 4 = ring64
//   d              varint     dimension, 1 <= d <= 2^32
//   k              varint     number of indices and of values, 0 <= k <= d
//   b              byte       Rice parameter, 0 <= b <= 31; present only for index coding 0
//   modulus        varint     present only for ring codings: 0 = the whole ring (2^32 for
//                             ring32, 2^64 for ring64), else 2 <= modulus < 2^32 (ring32) or
//                             2 <= modulus < 2^64 (ring64)
//   --- bit stream ---
//   indices        Rice: for each index i_j (j = 0..k-1) its gap g_j = i_j - i_{j-1} - 1 (with
//                  i_{-1} = -1, so g_0 = i_0) as q = g_j >> b zero bits, one 1 bit, then the
//                  low b bits of g_j. Bitmap: d bits, bit i set iff i is an index.
//   values         k fields of w bits, in index order. fp32: w = 32, the IEEE-754 binary32
//                  bits; fp16: w = 16, IEEE-754 binary16; bf16: w = 16, the upper half of the
//                  binary32 bits; ring32 / ring64: w = 32 / 64, or ceil(log2 modulus) when a
//                  modulus is given, the element as an unsigned integer (< modulus).
//   padding        zero bits up to the next byte boundary. The message ends there.
//
// Size: header + ceil((index_bits + k * w) / 8) bytes, where index_bits = d for a bitmap and
// k * (b + 1) + sum_j (g_j >> b) for Rice. MeasureSparse() computes every term exactly.
// ------------------------------------------------------------------------------------------
//
// Encoding. EncodeSparse (float values) and EncodeSparseRing (ring elements for secure
// aggregation) choose, unless told otherwise, the index coding with the smaller total size
// (Rice with the best of b* - 1, b*, b* + 1, b* = RiceParameterFor(d, k), against a bitmap;
// Rice on a tie). Float values are refused when non-finite or when they overflow fp16 (the
// client-side check of BAD_INPUTS row 8); fp16 and bf16 round to nearest, ties to even.
// Errors (InvalidArgument): d outside [1, 2^32], indices not strictly ascending or >= d,
// value count != index count, a bad option (unknown coding, float coding with a modulus, ring
// coding for float values or the reverse, modulus 1 or >= 2^w, b > 31), a ring element
// >= the ring or the modulus.
//
// Decoding. DecodeSparse / DecodeSparseRing accept exactly the bytes the encoder writes for
// some input and some options, and refuse everything else without reading out of bounds and
// without allocating for a count that the message length cannot back:
//   InvalidArgument    d > limits.max_dim, k > limits.max_k (BAD_INPUTS row 9: "k > cap");
//                      unknown version or coding; truncation anywhere; a non-canonical or
//                      overlong varint; d = 0 or d > 2^32; k > d; b > 31; a bad modulus;
//                      a Rice unary run longer than (d - 1) >> b; an index >= d; a bitmap
//                      whose popcount != k; a ring element >= modulus; a float value that is
//                      NaN or Inf (fp32, fp16 or bf16); a ring message given to the float
//                      decoder or the reverse; non-zero padding bits; bytes after the message.
// Duplicate or unsorted indices cannot be expressed (gaps are >= 0, the running index is
// computed in 64 bits and checked against d).
//
// Cost: encoding and decoding are O(k) plus O(d / 64) for a bitmap, with 64-bit word I/O and
// one allocation (the output), none per element. The *To / *Into variants reuse the caller's
// buffers.
//
// Every function here is pure and thread-safe.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"

namespace sotto::compress {

inline constexpr uint8_t kSparseFormatVersion = 1;
// Indices are uint32, so d can be at most 2^32.
inline constexpr uint64_t kMaxSparseDim = uint64_t{1} << 32;
inline constexpr uint32_t kMaxRiceParameter = 31;

enum class IndexCoding : uint8_t { kRice = 0, kBitmap = 1 };
enum class ValueCoding : uint8_t { kFp32 = 0, kFp16 = 1, kBf16 = 2, kRing32 = 3, kRing64 = 4 };

// True for kRing32 and kRing64.
bool IsRingCoding(ValueCoding coding);

// Bits per value w for a coding and a modulus (0 = the whole ring; ignored for floats).
// Precondition: the pair is valid (see the layout above).
uint32_t ValueBits(ValueCoding coding, uint64_t modulus);

// Everything in a header but d and k: how the indices and values are coded.
struct SparseFormat {
  IndexCoding index_coding = IndexCoding::kRice;
  uint32_t rice_parameter = 0;  // Rice only; 0 for a bitmap
  ValueCoding value_coding = ValueCoding::kFp32;
  uint64_t modulus = 0;  // ring codings only; 0 = the whole ring

  friend bool operator==(const SparseFormat&, const SparseFormat&) = default;
};

struct EncodeOptions {
  ValueCoding value_coding = ValueCoding::kFp32;
  // Ring codings only: 0 packs whole-ring elements in 32 / 64 bits; 2 <= modulus < 2^32 (or
  // 2^64) packs each element, which must be < modulus, in ceil(log2 modulus) bits.
  uint64_t modulus = 0;
  // Unset: the smaller of Rice and bitmap. Set: that coding.
  std::optional<IndexCoding> index_coding;
  // Unset: the best of b* - 1, b*, b* + 1. Set (0..31): that parameter whenever Rice is used.
  std::optional<uint32_t> rice_parameter;

  // Options that reproduce `format` exactly (no choice left to the encoder).
  static EncodeOptions Exactly(const SparseFormat& format);
};

// The exact size of an encoding, term by term. total_bits = header_bits + index_bits +
// value_bits, and the encoding is bytes() = ceil(total_bits / 8) bytes long.
struct SparseBits {
  SparseFormat format;  // the format the encoder chooses for this input and these options
  uint64_t header_bits = 0;
  uint64_t index_bits = 0;
  uint64_t value_bits = 0;
  uint64_t total_bits = 0;

  uint64_t bytes() const { return (total_bits + 7) / 8; }
};

// The size of EncodeSparse / EncodeSparseRing(dim, indices, values, options) without encoding:
// one O(k) pass over the indices. Values do not change the size, so they are not needed (and
// not checked). Errors as for encoding.
StatusOr<SparseBits> MeasureSparse(uint64_t dim, std::span<const uint32_t> indices,
                                   const EncodeOptions& options = {});

// Float update: options.value_coding must be kFp32, kFp16 or kBf16.
StatusOr<std::vector<uint8_t>> EncodeSparse(uint64_t dim, std::span<const uint32_t> indices,
                                            std::span<const float> values,
                                            const EncodeOptions& options = {});
// As EncodeSparse, into *out (replacing its contents, reusing its capacity). On error *out is
// unspecified.
Status EncodeSparseTo(uint64_t dim, std::span<const uint32_t> indices,
                      std::span<const float> values, const EncodeOptions& options,
                      std::vector<uint8_t>* out);

// Ring elements for secure aggregation: options.value_coding must be kRing32 or kRing64.
// Every element must be < 2^32 for kRing32 and < options.modulus when one is given.
StatusOr<std::vector<uint8_t>> EncodeSparseRing(uint64_t dim, std::span<const uint32_t> indices,
                                                std::span<const uint64_t> values,
                                                const EncodeOptions& options);
Status EncodeSparseRingTo(uint64_t dim, std::span<const uint32_t> indices,
                          std::span<const uint64_t> values, const EncodeOptions& options,
                          std::vector<uint8_t>* out);

// Caller-chosen caps, checked before anything is allocated. Both are required: a receiver
// knows the model dimension and the largest k it accepts.
struct DecodeLimits {
  uint64_t max_dim;
  uint64_t max_k;
};

struct SparseHeader {
  uint64_t dim = 0;
  uint64_t k = 0;
  SparseFormat format;
  size_t header_bytes = 0;  // where the bit stream starts
};

// Parses and validates the header alone, including that the message is long enough for k
// entries (and, for a bitmap, exactly as long as it must be). Errors as for decoding.
StatusOr<SparseHeader> ParseSparseHeader(std::span<const uint8_t> bytes,
                                         const DecodeLimits& limits);

struct SparseUpdate {
  uint64_t dim = 0;
  SparseFormat format;
  std::vector<uint32_t> indices;  // strictly ascending, < dim
  std::vector<float> values;      // finite, values.size() == indices.size()
};

struct SparseRingUpdate {
  uint64_t dim = 0;
  SparseFormat format;            // the caller checks value_coding and modulus against its protocol
  std::vector<uint32_t> indices;  // strictly ascending, < dim
  std::vector<uint64_t> values;   // each < the ring (or the modulus)
};

// Decodes a float-coded message (fp32, fp16 or bf16); a ring-coded one is InvalidArgument.
StatusOr<SparseUpdate> DecodeSparse(std::span<const uint8_t> bytes, const DecodeLimits& limits);
// As DecodeSparse, into *out (reusing its vectors' capacity). On error *out is unspecified.
Status DecodeSparseInto(std::span<const uint8_t> bytes, const DecodeLimits& limits,
                        SparseUpdate* out);

// Decodes a ring-coded message; a float-coded one is InvalidArgument.
StatusOr<SparseRingUpdate> DecodeSparseRing(std::span<const uint8_t> bytes,
                                            const DecodeLimits& limits);
Status DecodeSparseRingInto(std::span<const uint8_t> bytes, const DecodeLimits& limits,
                            SparseRingUpdate* out);

// b* = max(0, 1 + floor(log2(ln(phi - 1) / ln(1 - k/d)))), clamped to [0, 31]: the optimal Rice
// parameter for geometric gaps with success probability k/d (Kiely, 2004). 0 when k = 0 or
// k = d. Precondition: k <= d.
uint32_t RiceParameterFor(uint64_t dim, uint64_t k);

// log2 C(d, k): the fewest bits that can name a k-subset of d positions. Uses lgamma for k
// and a Stirling difference for d! / (d - k)!, so it stays accurate (absolute error well below
// 1e-6 bits) for d up to 2^64. Precondition: k <= d (checked).
double EntropyFloorBits(uint64_t d, uint64_t k);

// IEEE-754 binary16 and bfloat16 conversions. Float to half rounds to nearest, ties to even,
// produces subnormals below 2^-14, and overflows to +-Inf from 65520 up; NaN stays NaN (quiet).
// Half to float is exact.
uint16_t FloatToHalf(float value);
float HalfToFloat(uint16_t half);
uint16_t FloatToBfloat16(float value);
float Bfloat16ToFloat(uint16_t bf16);

}  // namespace sotto::compress
