#include "sotto/base/random.h"

#include <sys/random.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>

namespace sotto {
namespace {

// GCC/Clang 128-bit integer, marked as an extension so -Wpedantic accepts it.
__extension__ typedef unsigned __int128 Uint128;

constexpr uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

std::array<uint64_t, 4> SeedState(uint64_t seed) {
  std::array<uint64_t, 4> s;
  uint64_t x = seed;
  for (auto& word : s) {
    x += 0x9e3779b97f4a7c15ULL;
    word = Mix64(x);
  }
  return s;
}

// xoshiro256** step (Blackman & Vigna).
uint64_t XoshiroNext(std::array<uint64_t, 4>& s) {
  const uint64_t result = Rotl(s[1] * 5, 7) * 9;
  const uint64_t t = s[1] << 17;
  s[2] ^= s[0];
  s[3] ^= s[1];
  s[1] ^= s[2];
  s[0] ^= s[3];
  s[2] ^= t;
  s[3] = Rotl(s[3], 45);
  return result;
}

}  // namespace

Status SystemRandom::Fill(std::span<uint8_t> out) {
  size_t done = 0;
  while (done < out.size()) {
    ssize_t got = getrandom(out.data() + done, out.size() - done, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      return UnavailableError(std::string("getrandom failed: ") + std::strerror(errno));
    }
    done += static_cast<size_t>(got);
  }
  return OkStatus();
}

SeededRandom::SeededRandom(uint64_t seed) : state_(SeedState(seed)) {}

Status SeededRandom::Fill(std::span<uint8_t> out) {
  size_t i = 0;
  while (i < out.size()) {
    uint64_t word = XoshiroNext(state_);
    size_t n = std::min<size_t>(8, out.size() - i);
    std::memcpy(out.data() + i, &word, n);
    i += n;
  }
  return OkStatus();
}

Prng::Prng(uint64_t seed) : s_(SeedState(seed)) {}

uint64_t Prng::Next() { return XoshiroNext(s_); }

uint64_t Prng::UniformInt(uint64_t n) {
  // Lemire, "Fast Random Integer Generation in an Interval" (2019).
  Uint128 m = static_cast<Uint128>(Next()) * n;
  uint64_t low = static_cast<uint64_t>(m);
  if (low < n) {
    const uint64_t threshold = (0 - n) % n;
    while (low < threshold) {
      m = static_cast<Uint128>(Next()) * n;
      low = static_cast<uint64_t>(m);
    }
  }
  return static_cast<uint64_t>(m >> 64);
}

double Prng::Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

double Prng::Normal() {
  if (has_spare_normal_) {
    has_spare_normal_ = false;
    return spare_normal_;
  }
  double u, v, s;
  do {
    u = 2.0 * Uniform() - 1.0;
    v = 2.0 * Uniform() - 1.0;
    s = u * u + v * v;
  } while (s >= 1.0 || s == 0.0);
  const double factor = std::sqrt(-2.0 * std::log(s) / s);
  spare_normal_ = v * factor;
  has_spare_normal_ = true;
  return u * factor;
}

double Prng::Gamma(double shape) {
  // Marsaglia & Tsang (2000); for shape < 1 use Gamma(shape + 1) * U^(1/shape).
  if (shape < 1.0) {
    double u;
    do {
      u = Uniform();
    } while (u == 0.0);
    return Gamma(shape + 1.0) * std::pow(u, 1.0 / shape);
  }
  const double d = shape - 1.0 / 3.0;
  const double c = 1.0 / std::sqrt(9.0 * d);
  for (;;) {
    double x, v;
    do {
      x = Normal();
      v = 1.0 + c * x;
    } while (v <= 0.0);
    v = v * v * v;
    const double u = Uniform();
    if (u < 1.0 - 0.0331 * x * x * x * x) return d * v;
    if (u > 0.0 && std::log(u) < 0.5 * x * x + d * (1.0 - v + std::log(v))) return d * v;
  }
}

}  // namespace sotto
