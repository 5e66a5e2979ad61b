#include "sotto/crypto/hash.h"

#include <gtest/gtest.h>

#include <string_view>

#include "crypto_test_util.h"

namespace sotto::crypto {
namespace {

using ::sotto::crypto::testing::ToHex;

std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// BLAKE2b with a 32-byte digest (RFC 7693 parameter block, no key): Python's
// hashlib.blake2b(m, digest_size=32).
TEST(HashTest, KnownAnswers) {
  EXPECT_EQ(ToHex(Blake2b256(AsBytes(""))),
            "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
  EXPECT_EQ(ToHex(Blake2b256(AsBytes("abc"))),
            "bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319");
}

TEST(HashTest, PartsHashLikeTheirConcatenation) {
  Blake2b256Hasher hasher;
  hasher.Update(AsBytes("a"));
  hasher.Update(AsBytes(""));
  hasher.Update(AsBytes("bc"));
  EXPECT_EQ(hasher.Final(), Blake2b256(AsBytes("abc")));

  Blake2b256Hasher with_u64;
  with_u64.UpdateU64(0x0807060504030201ULL);
  const uint8_t le[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  EXPECT_EQ(with_u64.Final(), Blake2b256(le));
}

}  // namespace
}  // namespace sotto::crypto
