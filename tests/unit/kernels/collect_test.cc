// White-box tests of the CPU building blocks behind every selection (kernels/src/cpu/engine.h):
// the one-pass collect kernels in each style (sparse, dense, blocked, offsets, permute), mode
// (read, add-store, add-zero) and SIMD level the machine supports, the pool emission under a Cut,
// and the key selection. Each is compared with a brute-force loop; the public-API tests
// (topk_test.cc and friends) only reach the styles that the size and density heuristics pick.

#include <gtest/gtest.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "cpu/engine.h"
#include "kernels_test_util.h"
#include "sotto/kernels/scratch.h"

namespace sotto::kernels {
namespace {

using internal::Arena;
using internal::CollectStyle;
using internal::Cut;
using internal::PassInput;
using internal::PassMode;
using internal::Pool;
using testing::Dist;
using testing::MakeData;
using testing::SameBits;

constexpr uint64_t kSeed = 0xc011ec7;

const char* ModeName(PassMode m) {
  switch (m) {
    case PassMode::kRead:
      return "read";
    case PassMode::kAddStore:
      return "add_store";
    case PassMode::kAddZero:
      return "add_zero";
  }
  return "?";
}

const char* StyleName(CollectStyle s) {
  switch (s) {
    case CollectStyle::kSparse:
      return "sparse";
    case CollectStyle::kDense:
      return "dense";
    case CollectStyle::kBlocked:
      return "blocked";
    case CollectStyle::kOffsets:
      return "offsets";
    case CollectStyle::kPermute:
      return "permute";
  }
  return "?";
}

int32_t Key(float v) { return static_cast<int32_t>(MagnitudeKey(v)); }

// The key at rank `r` (0-based, descending) of x, minus one: "key > t" keeps about r + 1.
int32_t RuleKeeping(const std::vector<float>& x, size_t r) {
  if (x.empty() || r >= x.size()) return -1;
  std::vector<int32_t> keys(x.size());
  for (size_t i = 0; i < x.size(); ++i) keys[i] = Key(x[i]);
  std::nth_element(keys.begin(), keys.begin() + static_cast<std::ptrdiff_t>(r), keys.end(),
                   std::greater<int32_t>());
  return keys[r] - 1;
}

// Pool entries, lane after lane, in stored order.
void ReadPool(const Pool& pool, std::vector<uint32_t>* idx, std::vector<float>* val) {
  for (int l = 0; l < pool.lanes; ++l) {
    const internal::LaneStream& ls = pool.lane[l];
    for (size_t b = 0; b < ls.num_blocks; ++b) {
      const uint32_t* bi = pool.idx + size_t{ls.block_ids[b]} * internal::kBlockEntries;
      const float* bv = pool.val + size_t{ls.block_ids[b]} * internal::kBlockEntries;
      for (size_t j = 0; j < ls.block_counts[b]; ++j) {
        idx->push_back(bi[j]);
        val->push_back(bv[j]);
      }
    }
  }
}

struct PassCase {
  size_t keep;       // t_lo keeps about this many
  size_t keep_zero;  // kAddZero zeroes about this many (<= keep)
  size_t capacity;   // pool capacity
};

// a = u (kRead) or u + e0, and the rules of case c on it.
struct PassData {
  std::vector<float> a;
  int32_t t_lo;
  int32_t t_zero;
};

PassData MakePassData(PassMode mode, const std::vector<float>& u, const std::vector<float>& e0,
                      const PassCase& c) {
  PassData d;
  d.a.resize(u.size());
  for (size_t i = 0; i < u.size(); ++i) d.a[i] = mode == PassMode::kRead ? u[i] : u[i] + e0[i];
  d.t_lo = RuleKeeping(d.a, c.keep);
  d.t_zero = std::max(d.t_lo, RuleKeeping(d.a, c.keep_zero));
  return d;
}

// Runs CollectPass and checks the pool, the counts and e against brute force. Returns whether
// the pool overflowed.
bool CheckPass(PassMode mode, CollectStyle style, const testing::Config& config,
               const std::vector<float>& u, const std::vector<float>& e0, const PassCase& c,
               const PassData& d, Scratch& scratch) {
  const size_t n = u.size();
  const std::vector<float>& a = d.a;
  const int32_t t_lo = d.t_lo;
  const int32_t t_zero = d.t_zero;
  SCOPED_TRACE(std::string("mode=") + ModeName(mode) + " style=" + StyleName(style) + " " +
               testing::ConfigName(config) + " n=" + std::to_string(n) +
               " t_lo=" + std::to_string(t_lo) + " t_zero=" + std::to_string(t_zero) +
               " cap=" + std::to_string(c.capacity));
  const ExecOptions options = testing::OptionsFor(config);
  const int lanes = internal::LanesFor(n, options);
  Arena measure;
  Pool pool;
  internal::CarvePool(measure, c.capacity, lanes, &pool);
  Arena arena(scratch.Get(measure.required()));
  internal::CarvePool(arena, c.capacity, lanes, &pool);
  std::vector<float> e = e0;
  PassInput in;
  in.in = u.data();
  in.e = mode == PassMode::kRead ? nullptr : e.data();
  internal::CollectPassWithStyleForTesting(style, mode, in, n, t_lo, t_zero, &pool, options);

  size_t want_count = 0;
  for (size_t i = 0; i < n; ++i) want_count += Key(a[i]) > t_lo ? 1 : 0;
  EXPECT_EQ(pool.TotalCount(), want_count);
  std::vector<uint32_t> idx;
  std::vector<float> val;
  ReadPool(pool, &idx, &val);
  EXPECT_EQ(idx.size(), pool.TotalStored());
  const bool overflow = pool.AnyOverflow();
  if (!overflow) {
    EXPECT_EQ(pool.TotalStored(), want_count);
  } else {
    EXPECT_LE(pool.TotalStored(), want_count);
  }
  // The stored entries are the survivors of each lane's chunk, in index order: a prefix of
  // each lane's survivors (all of them without overflow).
  size_t j = 0;
  for (int l = 0; l < lanes; ++l) {
    const size_t begin = internal::ChunkBegin(n, lanes, l);
    const size_t end = internal::ChunkBegin(n, lanes, l + 1);
    size_t stored = pool.lane[l].stored;
    for (size_t i = begin; i < end && stored > 0; ++i) {
      if (Key(a[i]) <= t_lo) continue;
      EXPECT_EQ(idx[j], i) << "entry " << j;
      EXPECT_TRUE(SameBits(val[j], a[i])) << "entry " << j;
      if (::testing::Test::HasFailure()) return overflow;
      ++j;
      --stored;
    }
  }
  EXPECT_EQ(j, idx.size());
  if (mode != PassMode::kRead) {
    // kAddZero zeroes exactly the stored entries above t_zero.
    std::vector<char> zeroed(n, 0);
    if (mode == PassMode::kAddZero) {
      for (size_t t = 0; t < idx.size(); ++t) zeroed[idx[t]] = Key(val[t]) > t_zero ? 1 : 0;
    }
    for (size_t i = 0; i < n; ++i) {
      if (!SameBits(e[i], zeroed[i] ? 0.0f : a[i])) {
        ADD_FAILURE() << "e at " << i;
        break;
      }
    }
  }
  return overflow;
}

// kOffsets and kPermute run their own AVX-512 kernels only where the CPU has VBMI2 (else the
// dense one).
std::vector<CollectStyle> AllStyles() {
  return {CollectStyle::kSparse, CollectStyle::kDense, CollectStyle::kBlocked,
          CollectStyle::kOffsets, CollectStyle::kPermute};
}

TEST(CollectTest, EveryStyleModeAndLevelMatchesBruteForce) {
  Scratch scratch;
  for (size_t n : {0, 1, 15, 16, 17, 63, 64, 65, 511, 512, 513, 1000, 4099, 70001, 200003}) {
    for (Dist dist : {Dist::kGaussian, Dist::kNan, Dist::kTies}) {
      // The two-lane size (lanes are at least 65536 elements) once: it dominates a Debug run.
      if (n > 100000 && dist != Dist::kNan) continue;
      const std::vector<float> u = MakeData(dist, n, kSeed + n);
      std::vector<float> e0 = MakeData(Dist::kGaussian, n, kSeed * 7 + n);
      for (float& v : e0) v *= 0.25f;
      // Densities from none to all, and a pool too small for the survivors.
      const std::vector<PassCase> cases = {
          {0, 0, n},
          {n / 200, n / 400, n},
          {n / 30, n / 40, n},
          {n / 8, n / 10, n},
          {n / 2, n / 3, n},
          {n, n, n},
          {n / 8, n / 10, n / 16},
      };
      for (const PassCase& c : cases) {
        for (PassMode mode : {PassMode::kRead, PassMode::kAddStore, PassMode::kAddZero}) {
          const PassData d = MakePassData(mode, u, e0, c);
          for (CollectStyle style : AllStyles()) {
            for (int threads : {1, 2}) {
              for (const testing::Config& config :
                   testing::EverySimd(threads, CpuTopKAlgorithm::kAuto)) {
                SCOPED_TRACE(std::string("dist=") + testing::DistName(dist) +
                             " seed=" + std::to_string(kSeed));
                CheckPass(mode, style, config, u, e0, c, d, scratch);
                if (::testing::Test::HasFailure()) return;
              }
            }
          }
        }
      }
    }
  }
}

TEST(CollectTest, OverflowIsReportedAndExercised) {
  // A pool for 1/16 of the survivors must overflow, on every path.
  Scratch scratch;
  const size_t n = 200003;
  const std::vector<float> u = MakeData(Dist::kLaplace, n, kSeed);
  const std::vector<float> e0(n, 0.0f);
  const PassCase c{n / 4, n / 8, n / 64};
  const PassData d = MakePassData(PassMode::kAddZero, u, e0, c);
  for (CollectStyle style : AllStyles()) {
    for (const testing::Config& config : testing::EverySimd(1, CpuTopKAlgorithm::kAuto)) {
      EXPECT_TRUE(CheckPass(PassMode::kAddZero, style, config, u, e0, c, d, scratch));
    }
  }
}

// EmitFromPool under a Cut against the brute-force rule: key > K, plus the first `ties` entries
// equal to K (in index order), split over the lanes as the engine splits them.
TEST(CollectTest, EmitUnderCutMatchesBruteForce) {
  Scratch scratch;
  for (size_t n : {1000, 70001, 200003}) {
    for (Dist dist : {Dist::kTies, Dist::kGaussian, Dist::kNan}) {
      const std::vector<float> x = MakeData(dist, n, kSeed ^ n);
      for (int threads : {1, 2}) {
        for (const testing::Config& config : testing::EverySimd(threads, CpuTopKAlgorithm::kAuto)) {
          SCOPED_TRACE(std::string("dist=") + testing::DistName(dist) + " n=" + std::to_string(n) +
                       " " + testing::ConfigName(config) + " seed=" + std::to_string(kSeed));
          const ExecOptions options = testing::OptionsFor(config);
          const int lanes = internal::LanesFor(n, options);
          Arena measure;
          Pool pool;
          internal::CarvePool(measure, n, lanes, &pool);
          Arena arena(scratch.Get(measure.required()));
          internal::CarvePool(arena, n, lanes, &pool);
          const int32_t t_lo = RuleKeeping(x, n / 5);
          internal::CollectPass(PassMode::kRead, PassInput{x.data(), nullptr}, n, t_lo, INT32_MAX,
                                n / 5, &pool, options);
          const int32_t kth = RuleKeeping(x, n / 10) + 1;
          // Per lane: entries with key == kth, and the quota each gets.
          Cut cut;
          cut.key = kth;
          size_t offset[internal::kMaxLanes + 1] = {};
          size_t want_total = 0;
          std::vector<uint32_t> want;
          for (int l = 0; l < lanes; ++l) {
            size_t gt = 0;
            size_t eq = 0;
            for (size_t i = internal::ChunkBegin(n, lanes, l);
                 i < internal::ChunkBegin(n, lanes, l + 1); ++i) {
              gt += Key(x[i]) > kth ? 1 : 0;
              eq += Key(x[i]) == kth ? 1 : 0;
            }
            cut.ties[l] = eq / 2 + (l == 0 ? 1 : 0);  // some, not all
            cut.ties[l] = std::min(cut.ties[l], eq);
            size_t taken = 0;
            for (size_t i = internal::ChunkBegin(n, lanes, l);
                 i < internal::ChunkBegin(n, lanes, l + 1); ++i) {
              if (Key(x[i]) > kth || (Key(x[i]) == kth && taken++ < cut.ties[l])) {
                want.push_back(static_cast<uint32_t>(i));
              }
            }
            offset[l + 1] = offset[l] + gt + cut.ties[l];
            want_total = offset[l + 1];
          }
          ASSERT_EQ(want.size(), want_total);
          std::vector<uint32_t> idx(want_total + 1, 0xdeadbeef);
          std::vector<float> val(want_total + 1, -7.0f);
          internal::EmitFromPool(pool, cut, offset, idx.data(), val.data(), nullptr, INT32_MAX,
                                 options);
          EXPECT_EQ(idx.back(), 0xdeadbeef) << "wrote past the end";
          idx.pop_back();
          ASSERT_EQ(idx, want);
          for (size_t t = 0; t < want.size(); ++t) ASSERT_TRUE(SameBits(val[t], x[idx[t]]));
        }
      }
    }
  }
}

TEST(CollectTest, SelectKthKeyMatchesSort) {
  for (uint64_t trial = 0; trial < 60; ++trial) {
    const uint64_t seed = DeriveSeed(kSeed, trial);
    SCOPED_TRACE("seed=" + std::to_string(seed));
    Prng rng(seed);
    const size_t m = 1 + rng.UniformInt(trial < 30 ? 300 : 100000);
    std::vector<uint32_t> keys(m);
    const int shape = static_cast<int>(trial % 4);
    for (uint32_t& k : keys) {
      switch (shape) {
        case 0:  // anything up to kNanKey
          k = static_cast<uint32_t>(rng.UniformInt(uint64_t{kNanKey} + 1));
          break;
        case 1:  // few distinct values
          k = 0x3f800000u + static_cast<uint32_t>(rng.UniformInt(5));
          break;
        case 2:  // a narrow window of floats
          k = MagnitudeKey(static_cast<float>(1.0 + rng.Uniform() * 0.01));
          break;
        default:  // wide spread with clusters
          k = rng.UniformInt(2) ? kNanKey - static_cast<uint32_t>(rng.UniformInt(3))
                                : static_cast<uint32_t>(rng.UniformInt(1u << 20));
          break;
      }
    }
    std::vector<uint32_t> sorted = keys;
    std::sort(sorted.begin(), sorted.end(), std::greater<uint32_t>());
    for (size_t rank : {size_t{1}, m / 3 + 1, m / 2 + 1, m}) {
      for (SimdLevel simd : testing::SupportedSimdLevels()) {
        std::vector<uint32_t> tmp(m);
        const std::vector<uint32_t> before = keys;
        EXPECT_EQ(internal::SelectKthKey(keys.data(), m, rank, tmp.data(), simd), sorted[rank - 1])
            << "m=" << m << " rank=" << rank << " simd=" << SimdLevelName(simd);
        EXPECT_EQ(keys, before) << "keys must be left intact";
      }
    }
  }
}

// SelectKthKey narrows inputs of 2048 keys or more with a bracket from a strided sample. Sizes
// around that limit, and inputs built so that every sampled key is the minimum (the bracket
// misses and the radix select must start over on all keys).
TEST(CollectTest, SelectKthKeyBracketEdgesAndMisses) {
  Prng rng(DeriveSeed(kSeed, 777));
  std::printf("seed=%llu\n", static_cast<unsigned long long>(DeriveSeed(kSeed, 777)));
  for (size_t m : {size_t{2047}, size_t{2048}, size_t{2049}, size_t{4096}, size_t{65536}}) {
    for (int shape = 0; shape < 2; ++shape) {
      std::vector<uint32_t> keys(m);
      for (size_t i = 0; i < m; ++i) {
        if (shape == 0) {
          keys[i] = static_cast<uint32_t>(rng.UniformInt(1u << 24));
        } else {
          // The strided sample of m = 4096 reads every 16th key (256 of them): all 1 here.
          keys[i] = i % 16 == 0 ? 1u : 1000u + static_cast<uint32_t>(rng.UniformInt(1u << 20));
        }
      }
      std::vector<uint32_t> sorted = keys;
      std::sort(sorted.begin(), sorted.end(), std::greater<uint32_t>());
      for (size_t rank : {size_t{1}, size_t{2}, m / 2, m - m / 20, m - m / 16 + 1, m}) {
        for (SimdLevel simd : testing::SupportedSimdLevels()) {
          std::vector<uint32_t> tmp(m);
          EXPECT_EQ(internal::SelectKthKey(keys.data(), m, rank, tmp.data(), simd),
                    sorted[rank - 1])
              << "m=" << m << " shape=" << shape << " rank=" << rank
              << " simd=" << SimdLevelName(simd);
        }
      }
    }
  }
}

TEST(CollectTest, FilterKeysCopiesTheRangeAndCountsAbove) {
  const uint64_t seed = DeriveSeed(kSeed, 778);
  std::printf("seed=%llu\n", static_cast<unsigned long long>(seed));
  Prng rng(seed);
  for (size_t m : {size_t{0}, size_t{1}, size_t{15}, size_t{16}, size_t{17}, size_t{1000}}) {
    std::vector<uint32_t> keys(m);
    for (uint32_t& k : keys) k = static_cast<uint32_t>(rng.UniformInt(uint64_t{kNanKey} + 1));
    for (const auto& [lo, hi] : {std::pair<uint32_t, uint32_t>{0, kNanKey},
                                 {0x20000000u, 0x50000000u},
                                 {0x40000000u, 0x40000000u},
                                 {kNanKey, kNanKey}}) {
      std::vector<uint32_t> want;
      size_t want_above = 0;
      for (uint32_t k : keys) {
        if (k >= lo && k <= hi) want.push_back(k);
        want_above += k > hi ? 1 : 0;
      }
      for (SimdLevel simd : testing::SupportedSimdLevels()) {
        for (bool in_place : {false, true}) {
          std::vector<uint32_t> buf = keys;
          std::vector<uint32_t> out(m + 16);
          uint32_t* dst = in_place ? buf.data() : out.data();
          size_t above = 12345;
          const size_t got = internal::FilterKeys(buf.data(), m, lo, hi, dst, simd, &above);
          SCOPED_TRACE("m=" + std::to_string(m) + " lo=" + std::to_string(lo) + " simd=" +
                       std::string(SimdLevelName(simd)) + " in_place=" + std::to_string(in_place));
          ASSERT_EQ(got, want.size());
          EXPECT_EQ(above, want_above);
          EXPECT_TRUE(std::equal(want.begin(), want.end(), dst));
        }
      }
    }
  }
}

}  // namespace
}  // namespace sotto::kernels
