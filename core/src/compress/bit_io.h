#pragma once

// Word-at-a-time bit I/O for the sparse wire codec (sotto/core/compress/sparse_codec.h).
//
// Bits are packed least significant first: stream bit i is bit (i % 8) of byte i / 8. Both
// classes move 64-bit little-endian words, so a field costs a shift and an OR, not a loop.
//
// BitWriter writes into a caller-sized buffer that must hold exactly the bits written, rounded
// up to a byte (the codec computes that size before writing). It never touches a byte past the
// last one it is asked to fill.
//
// BitReader never reads outside [data, data + size): past the end it sees zero bits. Reads may
// run past the end; the caller checks overrun() at the end of a bounded section (every loop in
// the codec is bounded by k, d or a checked run length, so an overrun cannot spin).

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace sotto::compress::internal {

inline uint64_t LoadLittleEndian64(const uint8_t* p) {
  uint64_t w;
  std::memcpy(&w, p, sizeof(w));
  if constexpr (std::endian::native == std::endian::big) {
    w = __builtin_bswap64(w);
  }
  return w;
}

inline void StoreLittleEndian64(uint8_t* p, uint64_t w) {
  if constexpr (std::endian::native == std::endian::big) {
    w = __builtin_bswap64(w);
  }
  std::memcpy(p, &w, sizeof(w));
}

// The low n bits set, for n in [0, 63].
constexpr uint64_t LowBits(unsigned n) { return (uint64_t{1} << n) - 1; }

class BitWriter {
 public:
  explicit BitWriter(uint8_t* out) : out_(out) {}

  // Appends the low n bits of v; v must be < 2^n, n <= 64.
  void Write(uint64_t v, unsigned n) {
    acc_ |= v << fill_;  // fill_ < 64 always
    const unsigned total = fill_ + n;
    if (total < 64) {
      fill_ = total;
      return;
    }
    StoreLittleEndian64(out_, acc_);
    out_ += 8;
    fill_ = total - 64;
    // The bits of v that did not fit; n - fill_ = 64 - old fill_ is in [1, 64] and is 64 only
    // when fill_ is 0.
    acc_ = fill_ == 0 ? 0 : v >> (n - fill_);
  }

  // Appends n zero bits (any n).
  void WriteZeros(uint64_t n) {
    while (n > 0) {
      const unsigned chunk = n < 64 ? static_cast<unsigned>(n) : 64;
      Write(0, chunk);
      n -= chunk;
    }
  }

  // Writes the pending bits, zero-padded to a byte boundary, and returns one past the last
  // byte written.
  uint8_t* Finish() {
    const unsigned bytes = (fill_ + 7) / 8;
    for (unsigned i = 0; i < bytes; ++i) {
      out_[i] = static_cast<uint8_t>(acc_ >> (8 * i));
    }
    out_ += bytes;
    acc_ = 0;
    fill_ = 0;
    return out_;
  }

 private:
  uint8_t* out_;
  uint64_t acc_ = 0;
  unsigned fill_ = 0;  // pending bits in acc_, < 64
};

class BitReader {
 public:
  BitReader(const uint8_t* data, size_t size)
      : data_(data), size_(size), end_bits_(static_cast<uint64_t>(size) * 8) {}

  uint64_t position() const { return pos_; }
  uint64_t end_bits() const { return end_bits_; }
  bool overrun() const { return pos_ > end_bits_; }

  // The next 64 - (position % 8) >= 57 stream bits in the low bits (zero past the end of the
  // data), without consuming them. The top position % 8 bits are zero.
  uint64_t Peek() const {
    const uint64_t byte = pos_ >> 3;
    uint64_t w = 0;
    if (byte + 8 <= size_) {
      w = LoadLittleEndian64(data_ + byte);
    } else {
      for (uint64_t i = byte; i < size_; ++i) {
        w |= uint64_t{data_[i]} << (8 * (i - byte));
      }
    }
    return w >> (pos_ & 7);
  }
  // How many bits of Peek() are stream bits.
  unsigned PeekWidth() const { return 64 - static_cast<unsigned>(pos_ & 7); }

  void Skip(uint64_t n) { pos_ += n; }

  // Reads n <= 56 bits.
  uint64_t Read(unsigned n) {
    const uint64_t v = Peek() & LowBits(n);
    pos_ += n;
    return v;
  }

  // Reads n <= 64 bits.
  uint64_t ReadWide(unsigned n) {
    if (n <= 56) {
      return Read(n);
    }
    const uint64_t lo = Read(32);
    return lo | (Read(n - 32) << 32);
  }

 private:
  const uint8_t* data_;
  size_t size_;
  uint64_t end_bits_;
  uint64_t pos_ = 0;
};

}  // namespace sotto::compress::internal
