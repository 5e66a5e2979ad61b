#pragma once

// Helpers shared by the crypto tests: hex conversion and a Random that fails on demand.

#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/base/status.h"

namespace sotto::crypto::testing {

// "0a1b" -> {0x0a, 0x1b}. The test's own constants only: aborts the test binary on bad hex.
inline std::vector<uint8_t> FromHex(std::string_view hex) {
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::vector<uint8_t> out;
  std::string digits;
  for (char c : hex) {
    if (c != ' ' && c != '\n' && c != ':') digits.push_back(c);
  }
  if (digits.size() % 2 != 0) std::abort();
  for (size_t i = 0; i < digits.size(); i += 2) {
    int hi = nibble(digits[i]), lo = nibble(digits[i + 1]);
    if (hi < 0 || lo < 0) std::abort();
    out.push_back(static_cast<uint8_t>(hi * 16 + lo));
  }
  return out;
}

inline std::string ToHex(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  for (uint8_t b : bytes) {
    out.push_back(kDigits[b >> 4]);
    out.push_back(kDigits[b & 15]);
  }
  return out;
}

// A Random whose every Fill fails, to check that errors of the source propagate.
class FailingRandom final : public Random {
 public:
  Status Fill(std::span<uint8_t>) override { return UnavailableError("no entropy (test)"); }
};

}  // namespace sotto::crypto::testing
