#include "sotto/core/compress/sparse_codec.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

#include "compress/bit_io.h"
#include "sotto/base/check.h"
#include "sotto/base/status_macros.h"

namespace sotto::compress {
namespace {

using internal::BitReader;
using internal::BitWriter;
using internal::LowBits;

constexpr size_t kFixedHeaderBytes = 3;  // version, index coding, value coding
constexpr unsigned kMaxVarintBytes = 10;
constexpr uint8_t kMaxValueCoding = static_cast<uint8_t>(ValueCoding::kRing64);
constexpr uint8_t kMaxIndexCoding = static_cast<uint8_t>(IndexCoding::kBitmap);

std::string Str(uint64_t v) { return std::to_string(v); }

Status Invalid(const std::string& what) { return InvalidArgumentError("sparse codec: " + what); }

const char* ValueCodingName(ValueCoding coding) {
  switch (coding) {
    case ValueCoding::kFp32:
      return "fp32";
    case ValueCoding::kFp16:
      return "fp16";
    case ValueCoding::kBf16:
      return "bf16";
    case ValueCoding::kRing32:
      return "ring32";
    case ValueCoding::kRing64:
      return "ring64";
  }
  return "unknown";
}

unsigned VarintBytes(uint64_t v) {
  unsigned n = 1;
  while (v >= 0x80) {
    v >>= 7;
    ++n;
  }
  return n;
}

uint8_t* PutVarint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

// Reads the varint at bytes[*pos], accepting only the shortest form: every encoding has exactly
// one byte string, which is what lets the fuzz target demand a byte-exact round trip.
Status GetVarint(std::span<const uint8_t> bytes, size_t* pos, const char* field, uint64_t* value) {
  uint64_t result = 0;
  for (unsigned i = 0; i < kMaxVarintBytes; ++i) {
    if (*pos >= bytes.size()) {
      return Invalid(std::string("truncated in the varint ") + field);
    }
    const uint8_t byte = bytes[(*pos)++];
    if (i == kMaxVarintBytes - 1 && byte > 1) {
      return Invalid(std::string("varint ") + field + " overflows 64 bits");
    }
    result |= uint64_t{byte & 0x7fu} << (7 * i);
    if ((byte & 0x80) == 0) {
      if (byte == 0 && i > 0) {
        return Invalid(std::string("varint ") + field + " is not in its shortest form");
      }
      *value = result;
      return OkStatus();
    }
  }
  return Invalid(std::string("varint ") + field + " is longer than 10 bytes");  // unreachable
}

Status CheckModulus(ValueCoding coding, uint64_t modulus) {
  if (!IsRingCoding(coding)) {
    if (modulus != 0) {
      return Invalid("a modulus applies to ring codings only");
    }
    return OkStatus();
  }
  if (modulus == 1) {
    return Invalid("modulus 1 (must be 0 for the whole ring, or >= 2)");
  }
  if (coding == ValueCoding::kRing32 && modulus > UINT32_MAX) {
    return Invalid("ring32 modulus " + Str(modulus) + " >= 2^32");
  }
  return OkStatus();
}

Status CheckOptions(const EncodeOptions& options) {
  if (static_cast<uint8_t>(options.value_coding) > kMaxValueCoding) {
    return Invalid("unknown value coding " + Str(static_cast<uint8_t>(options.value_coding)));
  }
  if (options.index_coding && static_cast<uint8_t>(*options.index_coding) > kMaxIndexCoding) {
    return Invalid("unknown index coding " + Str(static_cast<uint8_t>(*options.index_coding)));
  }
  if (options.rice_parameter && *options.rice_parameter > kMaxRiceParameter) {
    return Invalid("Rice parameter " + Str(*options.rice_parameter) + " > 31");
  }
  return CheckModulus(options.value_coding, options.modulus);
}

// Validates the input and chooses the format, in one O(k) pass over the indices. The Rice cost
// of parameter b is k * (b + 1) + sum_j (g_j >> b) bits, so the pass accumulates that sum for up
// to three candidate parameters at once.
StatusOr<SparseBits> Plan(uint64_t dim, std::span<const uint32_t> indices,
                          const EncodeOptions& options) {
  RETURN_IF_ERROR(CheckOptions(options));
  if (dim == 0 || dim > kMaxSparseDim) {
    return Invalid("dimension " + Str(dim) + " outside [1, 2^32]");
  }
  const uint64_t k = indices.size();
  if (k > dim) {
    return Invalid("k = " + Str(k) + " > d = " + Str(dim));
  }

  const bool consider_rice = !options.index_coding || *options.index_coding == IndexCoding::kRice;
  // Rice candidates lo .. lo + n - 1: the forced parameter, or b* - 1, b*, b* + 1 within
  // [0, 31].
  uint32_t lo = 0;
  unsigned num_candidates = 0;
  if (options.rice_parameter) {
    lo = *options.rice_parameter;
    num_candidates = 1;
  } else if (consider_rice) {
    const uint32_t best = RiceParameterFor(dim, k);
    lo = std::max(best, 1u) - 1;
    num_candidates = std::min(best + 1, kMaxRiceParameter) - lo + 1;
  }
  // One branch-free pass (the compiler may vectorise it): gap sums shifted by lo, lo + 1 and
  // lo + 2, and a flag for any index not above its predecessor. Gaps of an unsorted input wrap
  // around; the sums are then thrown away with the error.
  uint64_t sums[3] = {0, 0, 0};
  uint64_t unsorted = 0;
  if (k > 0) {
    const uint64_t first = indices[0] >> lo;
    sums[0] = first;
    sums[1] = first >> 1;
    sums[2] = first >> 2;
  }
  for (size_t j = 1; j < k; ++j) {
    const uint64_t index = indices[j];
    const uint64_t floor = uint64_t{indices[j - 1]} + 1;
    unsorted |= static_cast<uint64_t>(index < floor);
    const uint64_t gap = (index - floor) >> lo;
    sums[0] += gap;
    sums[1] += gap >> 1;
    sums[2] += gap >> 2;
  }
  if (unsorted != 0) {
    for (size_t j = 1; j < k; ++j) {
      if (indices[j] <= indices[j - 1]) {
        return Invalid("indices not strictly ascending at position " + Str(j) + " (" +
                       Str(indices[j]) + " after " + Str(indices[j - 1]) + ")");
      }
    }
  }
  if (k > 0 && indices[k - 1] >= dim) {
    // Ascending, so the first offender is the first index >= d.
    const size_t j =
        static_cast<size_t>(std::lower_bound(indices.begin(), indices.end(), dim,
                                             [](uint32_t index, uint64_t d) { return index < d; }) -
                            indices.begin());
    return Invalid("index " + Str(indices[j]) + " at position " + Str(j) + " >= d = " + Str(dim));
  }

  SparseBits bits;
  bits.format.value_coding = options.value_coding;
  bits.format.modulus = options.modulus;
  const bool ring = IsRingCoding(options.value_coding);
  const uint64_t common_header_bytes = kFixedHeaderBytes + VarintBytes(dim) + VarintBytes(k) +
                                       (ring ? VarintBytes(options.modulus) : 0);
  // Rice: the cheapest candidate (the smallest b on a tie), plus its parameter byte.
  uint32_t rice_b = 0;
  uint64_t rice_bits = UINT64_MAX;
  for (unsigned c = 0; c < num_candidates; ++c) {
    const uint64_t cost = k * (uint64_t{lo} + c + 1) + sums[c];
    if (cost < rice_bits) {
      rice_bits = cost;
      rice_b = lo + c;
    }
  }
  bool use_rice;
  if (options.index_coding) {
    use_rice = *options.index_coding == IndexCoding::kRice;
  } else {
    use_rice = rice_bits + 8 <= dim;
  }
  if (use_rice) {
    bits.format.index_coding = IndexCoding::kRice;
    bits.format.rice_parameter = rice_b;
    bits.header_bits = 8 * (common_header_bytes + 1);
    bits.index_bits = rice_bits;
  } else {
    bits.format.index_coding = IndexCoding::kBitmap;
    bits.format.rice_parameter = 0;
    bits.header_bits = 8 * common_header_bytes;
    bits.index_bits = dim;
  }
  bits.value_bits = k * ValueBits(options.value_coding, options.modulus);
  bits.total_bits = bits.header_bits + bits.index_bits + bits.value_bits;
  return bits;
}

// The writers below work on a local copy of the BitWriter and store it back at the end: the
// writer's byte stores could otherwise alias its own fields and pin them to memory.

void WriteRiceIndices(std::span<const uint32_t> indices, uint32_t b, BitWriter& out) {
  BitWriter w = out;
  uint64_t next = 0;
  for (const uint32_t index : indices) {
    const uint64_t gap = index - next;
    const uint64_t q = gap >> b;
    const uint64_t r = gap & LowBits(b);
    if (q + 1 + b <= 63) {
      // q zeros, a one, then r: one write.
      w.Write((uint64_t{1} << q) | (r << (q + 1)), static_cast<unsigned>(q + 1 + b));
    } else {
      w.WriteZeros(q);
      w.Write(1, 1);
      w.Write(r, b);
    }
    next = uint64_t{index} + 1;
  }
  out = w;
}

void WriteBitmap(uint64_t dim, std::span<const uint32_t> indices, BitWriter& out) {
  BitWriter w = out;
  size_t j = 0;
  for (uint64_t base = 0; base < dim; base += 64) {
    const uint64_t limit = base + 64;
    uint64_t word = 0;
    while (j < indices.size() && indices[j] < limit) {
      word |= uint64_t{1} << (indices[j] - base);
      ++j;
    }
    w.Write(word, static_cast<unsigned>(std::min<uint64_t>(64, dim - base)));
  }
  out = w;
}

Status NonFinite(size_t j, uint32_t index, const char* what) {
  return Invalid("value at position " + Str(j) + " (index " + Str(index) + ") " + what);
}

// Writes convert(value) in `width` bits for each value. Non-finite inputs are refused, and so
// are converted values whose exponent field (exponent_mask) is all ones: an overflow to Inf.
template <typename Convert>
Status WriteConverted(std::span<const uint32_t> indices, std::span<const float> values,
                      unsigned width, uint32_t exponent_mask, const char* overflow, Convert convert,
                      BitWriter& out) {
  BitWriter w = out;
  for (size_t j = 0; j < values.size(); ++j) {
    if ((std::bit_cast<uint32_t>(values[j]) & 0x7f800000u) == 0x7f800000u) {
      return NonFinite(j, indices[j], "is NaN or Inf");
    }
    const uint32_t converted = convert(values[j]);
    if ((converted & exponent_mask) == exponent_mask) {
      return NonFinite(j, indices[j], overflow);
    }
    w.Write(converted, width);
  }
  out = w;
  return OkStatus();
}

Status WriteFloatValues(std::span<const uint32_t> indices, std::span<const float> values,
                        ValueCoding coding, BitWriter& w) {
  switch (coding) {
    case ValueCoding::kFp32:
      return WriteConverted(
          indices, values, 32, 0x7f800000u, "is NaN or Inf",
          [](float v) { return std::bit_cast<uint32_t>(v); }, w);
    case ValueCoding::kFp16:
      return WriteConverted(
          indices, values, 16, 0x7c00u, "overflows fp16",
          [](float v) { return uint32_t{FloatToHalf(v)}; }, w);
    case ValueCoding::kBf16:
      return WriteConverted(
          indices, values, 16, 0x7f80u, "overflows bf16",
          [](float v) { return uint32_t{FloatToBfloat16(v)}; }, w);
    default:
      return Invalid("not a float coding");  // excluded by the callers
  }
}

Status WriteRingValues(std::span<const uint32_t> indices, std::span<const uint64_t> values,
                       ValueCoding coding, uint64_t modulus, BitWriter& out) {
  BitWriter w = out;
  const unsigned width = ValueBits(coding, modulus);
  // 0 = no bound (the whole 2^64 ring).
  const uint64_t bound =
      modulus != 0 ? modulus : (coding == ValueCoding::kRing32 ? uint64_t{1} << 32 : 0);
  for (size_t j = 0; j < values.size(); ++j) {
    if (bound != 0 && values[j] >= bound) {
      return Invalid("ring element " + Str(values[j]) + " at position " + Str(j) + " (index " +
                     Str(indices[j]) + ") >= " + (modulus != 0 ? "modulus " : "2^32 = ") +
                     Str(bound));
    }
    w.Write(values[j], width);
  }
  out = w;
  return OkStatus();
}

// Header, indices, then values via write_values(BitWriter&) -> Status.
template <typename WriteValues>
Status EncodeWith(uint64_t dim, std::span<const uint32_t> indices, const EncodeOptions& options,
                  std::vector<uint8_t>* out, WriteValues write_values) {
  ASSIGN_OR_RETURN(const SparseBits bits, Plan(dim, indices, options));
  out->clear();
  out->resize(bits.bytes());
  uint8_t* p = out->data();
  *p++ = kSparseFormatVersion;
  *p++ = static_cast<uint8_t>(bits.format.index_coding);
  *p++ = static_cast<uint8_t>(bits.format.value_coding);
  p = PutVarint(p, dim);
  p = PutVarint(p, indices.size());
  if (bits.format.index_coding == IndexCoding::kRice) {
    *p++ = static_cast<uint8_t>(bits.format.rice_parameter);
  }
  if (IsRingCoding(bits.format.value_coding)) {
    p = PutVarint(p, bits.format.modulus);
  }
  SOTTO_CHECK(static_cast<uint64_t>(p - out->data()) * 8 == bits.header_bits);

  BitWriter w(p);
  if (bits.format.index_coding == IndexCoding::kRice) {
    WriteRiceIndices(indices, bits.format.rice_parameter, w);
  } else {
    WriteBitmap(dim, indices, w);
  }
  RETURN_IF_ERROR(write_values(w));
  const uint8_t* end = w.Finish();
  SOTTO_CHECK(end == out->data() + out->size())
      << "bit accounting says " << out->size() << " bytes, wrote " << (end - out->data());
  return OkStatus();
}

Status CountMismatch(size_t num_indices, size_t num_values) {
  return Invalid(Str(num_indices) + " indices but " + Str(num_values) + " values");
}

// ---- decoding ----

Status DecodeRiceIndices(BitReader& in, uint64_t dim, uint64_t k, uint32_t b, uint32_t* out) {
  BitReader r = in;  // a local copy stays in registers
  // The largest gap is d - 1, so a longer unary run is malformed; stopping there also bounds
  // the work an all-zero stream can cause.
  const uint64_t max_q = (dim - 1) >> b;
  const uint64_t rem_mask = LowBits(b);
  uint64_t next = 0;  // previous index + 1
  // `window` holds the next `avail` stream bits (zeros above them). Most code words are decoded
  // from it with a count-trailing-zeros and two shifts, which keeps the memory load off the
  // loop's critical path; the reader's position is kept in step for refills and the slow path.
  uint64_t window = r.Peek();
  unsigned avail = r.PeekWidth();
  for (uint64_t j = 0; j < k; ++j) {
    uint64_t q;
    uint64_t rem;
    unsigned zeros = static_cast<unsigned>(std::countr_zero(window));  // 64 when window is 0
    if (zeros + 1 + b > avail) {
      window = r.Peek();
      avail = r.PeekWidth();
      zeros = static_cast<unsigned>(std::countr_zero(window));
    }
    if (zeros + 1 + b <= avail) {
      // The whole code word is in the window (the common case). zeros <= 63 here; the shifts
      // are split so that none is by 64.
      const uint64_t rest = (window >> zeros) >> 1;
      q = zeros;
      rem = rest & rem_mask;
      window = rest >> b;
      avail -= zeros + 1 + b;
      r.Skip(zeros + 1 + b);
    } else {
      // A unary run longer than a window, or a code word across a window's end.
      q = 0;
      while (true) {
        const uint64_t w = r.Peek();
        if (w != 0) {
          const unsigned run = static_cast<unsigned>(std::countr_zero(w));
          q += run;
          r.Skip(run + 1);
          break;
        }
        q += r.PeekWidth();
        r.Skip(r.PeekWidth());
        if (q > max_q) {
          break;
        }
        if (r.overrun()) {
          return Invalid("truncated in the Rice-coded indices");
        }
      }
      rem = r.Read(b);
      window = r.Peek();
      avail = r.PeekWidth();
    }
    if (q > max_q) {
      return Invalid("Rice unary run of index " + Str(j) +
                     " longer than (d - 1) >> b = " + Str(max_q));
    }
    // q << b <= d - 1 < 2^32 and rem < 2^31, so this cannot overflow 64 bits.
    const uint64_t index = next + (q << b) + rem;
    if (index >= dim) {
      return Invalid("index " + Str(index) + " at position " + Str(j) + " >= d = " + Str(dim));
    }
    out[j] = static_cast<uint32_t>(index);
    next = index + 1;
  }
  if (r.overrun()) {
    return Invalid("truncated in the Rice-coded indices");
  }
  in = r;
  return OkStatus();
}

Status DecodeBitmapIndices(BitReader& in, uint64_t dim, uint64_t k, uint32_t* out) {
  BitReader r = in;  // a local copy stays in registers
  uint64_t count = 0;
  for (uint64_t base = 0; base < dim; base += 64) {
    uint64_t word = r.ReadWide(static_cast<unsigned>(std::min<uint64_t>(64, dim - base)));
    const unsigned ones = static_cast<unsigned>(std::popcount(word));
    if (count + ones > k) {
      return Invalid("bitmap has more than k = " + Str(k) + " bits set");
    }
    while (word != 0) {
      out[count++] = static_cast<uint32_t>(base + static_cast<uint64_t>(std::countr_zero(word)));
      word &= word - 1;
    }
  }
  if (count != k) {
    return Invalid("bitmap has " + Str(count) + " bits set, header says k = " + Str(k));
  }
  if (r.overrun()) {  // excluded by ParseSparseHeader's length check; kept as a guard
    return Invalid("truncated in the bitmap");
  }
  in = r;
  return OkStatus();
}

Status DecodeIndices(BitReader& r, const SparseHeader& h, uint32_t* out) {
  if (h.format.index_coding == IndexCoding::kRice) {
    return DecodeRiceIndices(r, h.dim, h.k, h.format.rice_parameter, out);
  }
  return DecodeBitmapIndices(r, h.dim, h.k, out);
}

Status BadFloat(uint64_t j, const uint32_t* indices, ValueCoding coding) {
  return Invalid(std::string(ValueCodingName(coding)) + " value at position " + Str(j) +
                 " (index " + Str(indices[j]) + ") is NaN or Inf");
}

Status DecodeFloatValues(BitReader& in, ValueCoding coding, uint64_t k, const uint32_t* indices,
                         float* out) {
  BitReader r = in;  // a local copy stays in registers
  switch (coding) {
    case ValueCoding::kFp32:
      for (uint64_t j = 0; j < k; ++j) {
        const uint32_t bits = static_cast<uint32_t>(r.Read(32));
        if ((bits & 0x7f800000u) == 0x7f800000u) {
          return BadFloat(j, indices, coding);
        }
        out[j] = std::bit_cast<float>(bits);
      }
      break;
    case ValueCoding::kFp16:
      for (uint64_t j = 0; j < k; ++j) {
        const uint16_t h = static_cast<uint16_t>(r.Read(16));
        if ((h & 0x7c00u) == 0x7c00u) {
          return BadFloat(j, indices, coding);
        }
        out[j] = HalfToFloat(h);
      }
      break;
    case ValueCoding::kBf16:
      for (uint64_t j = 0; j < k; ++j) {
        const uint16_t h = static_cast<uint16_t>(r.Read(16));
        if ((h & 0x7f80u) == 0x7f80u) {
          return BadFloat(j, indices, coding);
        }
        out[j] = Bfloat16ToFloat(h);
      }
      break;
    default:
      return Invalid("not a float coding");  // excluded by the callers
  }
  if (r.overrun()) {
    return Invalid("truncated in the values");
  }
  in = r;
  return OkStatus();
}

Status DecodeRingValues(BitReader& in, const SparseFormat& format, uint64_t k,
                        const uint32_t* indices, uint64_t* out) {
  BitReader r = in;  // a local copy stays in registers
  const unsigned width = ValueBits(format.value_coding, format.modulus);
  const uint64_t modulus = format.modulus;
  for (uint64_t j = 0; j < k; ++j) {
    const uint64_t v = r.ReadWide(width);
    if (modulus != 0 && v >= modulus) {
      return Invalid("ring element " + Str(v) + " at position " + Str(j) + " (index " +
                     Str(indices[j]) + ") >= modulus " + Str(modulus));
    }
    out[j] = v;
  }
  if (r.overrun()) {
    return Invalid("truncated in the values");
  }
  in = r;
  return OkStatus();
}

// After the last field: zero padding to the byte boundary, then nothing.
Status CheckEnd(BitReader& r) {
  const uint64_t pad = (8 - (r.position() & 7)) & 7;
  if (r.position() + pad > r.end_bits()) {
    return Invalid("truncated");  // excluded by the callers' overrun checks
  }
  if (r.Read(static_cast<unsigned>(pad)) != 0) {
    return Invalid("non-zero padding bits after the last value");
  }
  if (r.position() != r.end_bits()) {
    return Invalid(Str((r.end_bits() - r.position()) / 8) + " trailing bytes after the message");
  }
  return OkStatus();
}

}  // namespace

// ---- public API ----

bool IsRingCoding(ValueCoding coding) {
  return coding == ValueCoding::kRing32 || coding == ValueCoding::kRing64;
}

uint32_t ValueBits(ValueCoding coding, uint64_t modulus) {
  switch (coding) {
    case ValueCoding::kFp32:
      return 32;
    case ValueCoding::kFp16:
    case ValueCoding::kBf16:
      return 16;
    case ValueCoding::kRing32:
    case ValueCoding::kRing64:
      if (modulus == 0) {
        return coding == ValueCoding::kRing32 ? 32 : 64;
      }
      // ceil(log2 modulus) for modulus >= 2.
      return static_cast<uint32_t>(64 - std::countl_zero(modulus - 1));
  }
  return 0;
}

EncodeOptions EncodeOptions::Exactly(const SparseFormat& format) {
  EncodeOptions options;
  options.value_coding = format.value_coding;
  options.modulus = format.modulus;
  options.index_coding = format.index_coding;
  if (format.index_coding == IndexCoding::kRice) {
    options.rice_parameter = format.rice_parameter;
  }
  return options;
}

StatusOr<SparseBits> MeasureSparse(uint64_t dim, std::span<const uint32_t> indices,
                                   const EncodeOptions& options) {
  return Plan(dim, indices, options);
}

Status EncodeSparseTo(uint64_t dim, std::span<const uint32_t> indices,
                      std::span<const float> values, const EncodeOptions& options,
                      std::vector<uint8_t>* out) {
  if (IsRingCoding(options.value_coding)) {
    return Invalid(std::string("EncodeSparse needs a float value coding, got ") +
                   ValueCodingName(options.value_coding));
  }
  if (values.size() != indices.size()) {
    return CountMismatch(indices.size(), values.size());
  }
  return EncodeWith(dim, indices, options, out, [&](BitWriter& w) {
    return WriteFloatValues(indices, values, options.value_coding, w);
  });
}

StatusOr<std::vector<uint8_t>> EncodeSparse(uint64_t dim, std::span<const uint32_t> indices,
                                            std::span<const float> values,
                                            const EncodeOptions& options) {
  std::vector<uint8_t> out;
  RETURN_IF_ERROR(EncodeSparseTo(dim, indices, values, options, &out));
  return out;
}

Status EncodeSparseRingTo(uint64_t dim, std::span<const uint32_t> indices,
                          std::span<const uint64_t> values, const EncodeOptions& options,
                          std::vector<uint8_t>* out) {
  if (!IsRingCoding(options.value_coding)) {
    return Invalid(std::string("EncodeSparseRing needs a ring value coding, got ") +
                   ValueCodingName(options.value_coding));
  }
  if (values.size() != indices.size()) {
    return CountMismatch(indices.size(), values.size());
  }
  return EncodeWith(dim, indices, options, out, [&](BitWriter& w) {
    return WriteRingValues(indices, values, options.value_coding, options.modulus, w);
  });
}

StatusOr<std::vector<uint8_t>> EncodeSparseRing(uint64_t dim, std::span<const uint32_t> indices,
                                                std::span<const uint64_t> values,
                                                const EncodeOptions& options) {
  std::vector<uint8_t> out;
  RETURN_IF_ERROR(EncodeSparseRingTo(dim, indices, values, options, &out));
  return out;
}

StatusOr<SparseHeader> ParseSparseHeader(std::span<const uint8_t> bytes,
                                         const DecodeLimits& limits) {
  if (bytes.empty()) {
    return Invalid("empty message");
  }
  if (bytes[0] != kSparseFormatVersion) {
    return Invalid("unknown format version " + Str(bytes[0]));
  }
  if (bytes.size() < kFixedHeaderBytes) {
    return Invalid("truncated in the header");
  }
  if (bytes[1] > kMaxIndexCoding) {
    return Invalid("unknown index coding " + Str(bytes[1]));
  }
  if (bytes[2] > kMaxValueCoding) {
    return Invalid("unknown value coding " + Str(bytes[2]));
  }
  SparseHeader h;
  h.format.index_coding = static_cast<IndexCoding>(bytes[1]);
  h.format.value_coding = static_cast<ValueCoding>(bytes[2]);
  size_t pos = kFixedHeaderBytes;

  RETURN_IF_ERROR(GetVarint(bytes, &pos, "d", &h.dim));
  if (h.dim == 0 || h.dim > kMaxSparseDim) {
    return Invalid("dimension " + Str(h.dim) + " outside [1, 2^32]");
  }
  if (h.dim > limits.max_dim) {
    // BAD_INPUTS row 9: a message the receiver cannot accept is malformed for it (drop).
    return Invalid("dimension " + Str(h.dim) + " > limit " + Str(limits.max_dim));
  }
  RETURN_IF_ERROR(GetVarint(bytes, &pos, "k", &h.k));
  if (h.k > h.dim) {
    return Invalid("k = " + Str(h.k) + " > d = " + Str(h.dim));
  }
  if (h.k > limits.max_k) {
    return Invalid("k = " + Str(h.k) + " > limit " + Str(limits.max_k));
  }
  if (h.format.index_coding == IndexCoding::kRice) {
    if (pos >= bytes.size()) {
      return Invalid("truncated in the header");
    }
    h.format.rice_parameter = bytes[pos++];
    if (h.format.rice_parameter > kMaxRiceParameter) {
      return Invalid("Rice parameter " + Str(h.format.rice_parameter) + " > 31");
    }
  }
  if (IsRingCoding(h.format.value_coding)) {
    RETURN_IF_ERROR(GetVarint(bytes, &pos, "modulus", &h.format.modulus));
    RETURN_IF_ERROR(CheckModulus(h.format.value_coding, h.format.modulus));
  }
  h.header_bytes = pos;

  // The shortest bit stream that can hold k entries; refusing shorter messages here means no
  // count in the header is trusted with an allocation that the message length cannot back.
  // (k <= 2^32 and every width <= 64 bits, so nothing overflows.)
  const uint64_t available_bits = static_cast<uint64_t>(bytes.size() - pos) * 8;
  const uint64_t value_bits = h.k * ValueBits(h.format.value_coding, h.format.modulus);
  const uint64_t min_index_bits = h.format.index_coding == IndexCoding::kBitmap
                                      ? h.dim
                                      : h.k * (uint64_t{h.format.rice_parameter} + 1);
  if (min_index_bits + value_bits > available_bits) {
    return Invalid("truncated: " + Str(h.k) + " entries need at least " +
                   Str(min_index_bits + value_bits) + " bits after the header, the message has " +
                   Str(available_bits));
  }
  if (h.format.index_coding == IndexCoding::kBitmap) {
    // A bitmap message has a fixed length.
    const uint64_t expected_bytes = pos + (h.dim + value_bits + 7) / 8;
    if (bytes.size() != expected_bytes) {
      return Invalid(Str(bytes.size() - expected_bytes) + " trailing bytes after the message");
    }
  }
  return h;
}

Status DecodeSparseInto(std::span<const uint8_t> bytes, const DecodeLimits& limits,
                        SparseUpdate* out) {
  ASSIGN_OR_RETURN(const SparseHeader h, ParseSparseHeader(bytes, limits));
  if (IsRingCoding(h.format.value_coding)) {
    return Invalid(std::string("a ") + ValueCodingName(h.format.value_coding) +
                   " message where a float update is expected");
  }
  out->dim = h.dim;
  out->format = h.format;
  out->indices.resize(h.k);
  out->values.resize(h.k);
  BitReader r(bytes.data() + h.header_bytes, bytes.size() - h.header_bytes);
  RETURN_IF_ERROR(DecodeIndices(r, h, out->indices.data()));
  RETURN_IF_ERROR(
      DecodeFloatValues(r, h.format.value_coding, h.k, out->indices.data(), out->values.data()));
  return CheckEnd(r);
}

StatusOr<SparseUpdate> DecodeSparse(std::span<const uint8_t> bytes, const DecodeLimits& limits) {
  SparseUpdate out;
  RETURN_IF_ERROR(DecodeSparseInto(bytes, limits, &out));
  return out;
}

Status DecodeSparseRingInto(std::span<const uint8_t> bytes, const DecodeLimits& limits,
                            SparseRingUpdate* out) {
  ASSIGN_OR_RETURN(const SparseHeader h, ParseSparseHeader(bytes, limits));
  if (!IsRingCoding(h.format.value_coding)) {
    return Invalid(std::string("a ") + ValueCodingName(h.format.value_coding) +
                   " message where ring elements are expected");
  }
  out->dim = h.dim;
  out->format = h.format;
  out->indices.resize(h.k);
  out->values.resize(h.k);
  BitReader r(bytes.data() + h.header_bytes, bytes.size() - h.header_bytes);
  RETURN_IF_ERROR(DecodeIndices(r, h, out->indices.data()));
  RETURN_IF_ERROR(DecodeRingValues(r, h.format, h.k, out->indices.data(), out->values.data()));
  return CheckEnd(r);
}

StatusOr<SparseRingUpdate> DecodeSparseRing(std::span<const uint8_t> bytes,
                                            const DecodeLimits& limits) {
  SparseRingUpdate out;
  RETURN_IF_ERROR(DecodeSparseRingInto(bytes, limits, &out));
  return out;
}

uint32_t RiceParameterFor(uint64_t dim, uint64_t k) {
  if (k == 0 || k >= dim) {
    return 0;
  }
  // ln(phi - 1), phi the golden ratio.
  constexpr double kLogPhiMinusOne = -0.48121182505960344750;
  const double p = static_cast<double>(k) / static_cast<double>(dim);
  const double ratio = kLogPhiMinusOne / std::log1p(-p);  // > 0
  const double b = 1.0 + std::floor(std::log2(ratio));
  if (!(b > 0.0)) {
    return 0;
  }
  return static_cast<uint32_t>(std::min(b, static_cast<double>(kMaxRiceParameter)));
}

double EntropyFloorBits(uint64_t d, uint64_t k) {
  SOTTO_CHECK(k <= d) << "EntropyFloorBits: k = " << k << " > d = " << d;
  const uint64_t s = std::min(k, d - k);  // C(d, k) = C(d, d - k)
  if (s == 0) {
    return 0.0;
  }
  const double n = static_cast<double>(d);
  const double kk = static_cast<double>(s);
  const double m = static_cast<double>(d - s);  // >= d / 2
  double ln_binomial;
  if (m < 16) {
    ln_binomial = std::lgamma(n + 1) - std::lgamma(kk + 1) - std::lgamma(m + 1);
  } else {
    // ln(n! / m!) by differencing Stirling's series term by term, so that nothing of size
    // n ln n cancels: n ln n - m ln m = s ln n - m ln(1 - s/n), and the 1/x tail differences
    // are small. The series is truncated after x^-5 (error < 1e-11 for m >= 16).
    const double l1p = std::log1p(-kk / n);  // ln(m / n)
    const auto tail = [](double x) {
      const double inv = 1.0 / x;
      const double inv2 = inv * inv;
      return inv * (1.0 / 12 - inv2 * (1.0 / 360 - inv2 * (1.0 / 1260)));
    };
    const double ln_falling = kk * std::log(n) - (m + 0.5) * l1p - kk + (tail(n) - tail(m));
    ln_binomial = ln_falling - std::lgamma(kk + 1);
  }
  return std::max(0.0, ln_binomial / std::log(2.0));
}

uint16_t FloatToHalf(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  const uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  const uint32_t a = x & 0x7fffffffu;
  if (a > 0x7f800000u) {
    // NaN: quiet, keeping the top payload bits.
    return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  }
  if (a >= 0x477ff000u) {
    // >= 65520 = halfway between 65504 (the largest half) and 2^16: ties to even = Inf.
    return static_cast<uint16_t>(sign | 0x7c00u);
  }
  if (a >= 0x38800000u) {
    // Normal half (>= 2^-14): rebias the exponent from 127 to 15 and round the 13 dropped
    // mantissa bits to nearest even; a carry correctly bumps the exponent.
    const uint32_t odd = (a >> 13) & 1u;
    return static_cast<uint16_t>(sign | ((a - (112u << 23) + 0xfffu + odd) >> 13));
  }
  // Subnormal half or zero: the result is round(a / 2^-24) units of 2^-24. For a float with
  // biased exponent e and 24-bit significand M that is M >> (126 - e), rounded to even.
  const uint32_t e = a >> 23;
  if (e < 102) {
    return sign;  // < 2^-25: rounds to zero
  }
  const uint32_t shift = 126 - e;  // 14..24
  const uint32_t significand = (a & 0x7fffffu) | 0x800000u;
  uint32_t h = significand >> shift;
  const uint32_t rest = significand & ((1u << shift) - 1);
  const uint32_t halfway = 1u << (shift - 1);
  if (rest > halfway || (rest == halfway && (h & 1u) != 0)) {
    ++h;  // may become 0x400, the smallest normal: still the right bits
  }
  return static_cast<uint16_t>(sign | h);
}

float HalfToFloat(uint16_t half) {
  const uint32_t sign = uint32_t{half & 0x8000u} << 16;
  const uint32_t exponent = (half >> 10) & 0x1fu;
  uint32_t mantissa = half & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    bits = sign;
  } else {
    // Subnormal half: normalise.
    uint32_t e = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --e;
    }
    bits = sign | (e << 23) | ((mantissa & 0x3ffu) << 13);
  }
  return std::bit_cast<float>(bits);
}

uint16_t FloatToBfloat16(float value) {
  const uint32_t x = std::bit_cast<uint32_t>(value);
  if ((x & 0x7fffffffu) > 0x7f800000u) {
    return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN stays NaN (quiet)
  }
  // Round to nearest even on the 16 dropped bits; the largest finite values round up to Inf.
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

float Bfloat16ToFloat(uint16_t bf16) { return std::bit_cast<float>(uint32_t{bf16} << 16); }

}  // namespace sotto::compress
