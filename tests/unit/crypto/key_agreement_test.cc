#include "sotto/crypto/key_agreement.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "crypto_test_util.h"
#include "sotto/base/random.h"

namespace sotto::crypto {
namespace {

using ::sotto::crypto::testing::FailingRandom;
using ::sotto::crypto::testing::FromHex;
using ::sotto::crypto::testing::ToHex;

constexpr uint64_t kSeed = 7748;

X25519SecretKey SecretFromHex(std::string_view hex) {
  auto key = X25519SecretKey::FromBytes(FromHex(hex));
  EXPECT_TRUE(key.ok());
  return std::move(key).value();
}

X25519PublicKey PublicFromHex(std::string_view hex) {
  auto key = X25519PublicKey::FromBytes(FromHex(hex));
  EXPECT_TRUE(key.ok()) << key.status();
  return std::move(key).value();
}

std::string SharedHex(const X25519SecretKey& secret, const X25519PublicKey& peer) {
  auto shared = X25519SharedSecret(secret, peer);
  EXPECT_TRUE(shared.ok()) << shared.status();
  return shared.ok() ? ToHex(shared->bytes()) : "";
}

// RFC 7748 section 5.2, the two single-call vectors.
TEST(X25519Test, Rfc7748Section52Vectors) {
  EXPECT_EQ(
      SharedHex(SecretFromHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
                PublicFromHex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c")),
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
  // The RFC prints this u-coordinate with the unused top bit set (last byte 0x93); RFC 7748
  // section 5 masks that bit, so ...a413 is the same input. FromBytes refuses the unmasked form
  // as non-canonical (one encoding per point, so equal keys are equal bytes).
  EXPECT_EQ(X25519PublicKey::FromBytes(
                FromHex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"))
                .status()
                .code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(
      SharedHex(SecretFromHex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
                PublicFromHex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a413")),
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

// RFC 7748 section 5.2, the iterated vector: k = u = 9, then (k, u) = (X25519(k, u), k).
TEST(X25519Test, Rfc7748Section52Iterated) {
  std::vector<uint8_t> k(32, 0), u(32, 0);
  k[0] = 9;
  u[0] = 9;
  for (int i = 1; i <= 1000; ++i) {
    auto secret = X25519SecretKey::FromBytes(k);
    auto point = X25519PublicKey::FromBytes(u);
    ASSERT_TRUE(secret.ok() && point.ok()) << "iteration " << i;
    auto shared = X25519SharedSecret(*secret, *point);
    ASSERT_TRUE(shared.ok()) << "iteration " << i;
    u = k;
    k.assign(shared->bytes().begin(), shared->bytes().end());
    if (i == 1) {
      EXPECT_EQ(ToHex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
    }
  }
  EXPECT_EQ(ToHex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
}

// RFC 7748 section 6.1: Alice and Bob.
TEST(X25519Test, Rfc7748Section61DiffieHellman) {
  X25519SecretKey alice =
      SecretFromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  X25519SecretKey bob =
      SecretFromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  auto alice_public = X25519PublicKeyFromSecret(alice);
  auto bob_public = X25519PublicKeyFromSecret(bob);
  ASSERT_TRUE(alice_public.ok() && bob_public.ok());
  EXPECT_EQ(ToHex(alice_public->bytes()),
            "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  EXPECT_EQ(ToHex(bob_public->bytes()),
            "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const std::string shared = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  EXPECT_EQ(SharedHex(alice, *bob_public), shared);
  EXPECT_EQ(SharedHex(bob, *alice_public), shared);
}

// BAD_INPUTS row 13: empty and wrong-length keys.
TEST(X25519PublicKeyTest, RefusesWrongLengths) {
  for (size_t size : {size_t{0}, size_t{1}, size_t{31}, size_t{33}, size_t{64}}) {
    std::vector<uint8_t> bytes(size, 0x42);
    EXPECT_EQ(X25519PublicKey::FromBytes(bytes).status().code(), StatusCode::kInvalidArgument)
        << size;
  }
}

// BAD_INPUTS row 13: the low-order points of RFC 7748 section 6.1's security note (canonical
// ones) and their non-canonical twins.
TEST(X25519PublicKeyTest, RefusesLowOrderAndNonCanonicalKeys) {
  const char* const kLowOrder[] = {
      "0000000000000000000000000000000000000000000000000000000000000000",  // 0
      "0100000000000000000000000000000000000000000000000000000000000000",  // 1
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",  // order 8
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",  // order 8
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p - 1
  };
  for (const char* hex : kLowOrder) {
    Status status = X25519PublicKey::FromBytes(FromHex(hex)).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << hex;
    EXPECT_NE(status.message().find("low-order"), std::string_view::npos) << status;
  }
  const char* const kNonCanonical[] = {
      "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p
      "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // p + 1
      "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",  // 2^255 - 1
      "0000000000000000000000000000000000000000000000000000000000000080",  // 0, top bit
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b880",  // order 8, top bit
      "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4eea",  // Alice, top bit
  };
  for (const char* hex : kNonCanonical) {
    Status status = X25519PublicKey::FromBytes(FromHex(hex)).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << hex;
    EXPECT_NE(status.message().find("canonical"), std::string_view::npos) << status;
  }
  // The largest canonical encoding that is a valid point class passes the canonical check:
  // p - 1 is refused for its order, not its encoding (above); Alice's real key is accepted.
  EXPECT_TRUE(X25519PublicKey::FromBytes(
                  FromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"))
                  .ok());
}

// libsodium's list of small-order encodings (has_small_order in x25519_ref10.c), which
// FromBytes compares against instead of multiplying by a scalar: every entry, and every entry
// with the unused top bit set, is refused. The five canonical entries are refused as low-order,
// the two non-canonical ones (p and p + 1) and all top-bit variants as non-canonical.
TEST(X25519PublicKeyTest, RefusesEveryListedSmallOrderEncoding) {
  struct Entry {
    const char* hex;
    bool canonical;
  };
  const Entry kList[] = {
      {"0000000000000000000000000000000000000000000000000000000000000000", true},   // 0
      {"0100000000000000000000000000000000000000000000000000000000000000", true},   // 1
      {"e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800", true},   // order 8
      {"5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157", true},   // order 8
      {"ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", true},   // p - 1
      {"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false},  // p
      {"eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f", false},  // p + 1
  };
  for (const Entry& entry : kList) {
    const std::vector<uint8_t> bytes = FromHex(entry.hex);
    const Status status = X25519PublicKey::FromBytes(bytes).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << entry.hex;
    EXPECT_NE(status.message().find(entry.canonical ? "low-order" : "canonical"),
              std::string_view::npos)
        << entry.hex << ": " << status;
    std::vector<uint8_t> top_bit = bytes;
    top_bit[31] |= 0x80;
    const Status top_status = X25519PublicKey::FromBytes(top_bit).status();
    EXPECT_EQ(top_status.code(), StatusCode::kInvalidArgument) << entry.hex << " | 2^255";
    EXPECT_NE(top_status.message().find("canonical"), std::string_view::npos) << top_status;
    // The list is right: libsodium's scalar multiplication refuses each entry too (any scalar).
    uint8_t scalar[crypto_scalarmult_SCALARBYTES];
    for (size_t i = 0; i < sizeof(scalar); ++i) scalar[i] = static_cast<uint8_t>(0x5a + 3 * i);
    uint8_t product[crypto_scalarmult_BYTES];
    EXPECT_NE(crypto_scalarmult(product, scalar, bytes.data()), 0) << entry.hex;
    // A neighbour of a canonical entry (u -/+ 512: bit 1 of byte 1 flipped, still below p) is
    // an ordinary key: the comparison looks at every byte.
    std::vector<uint8_t> neighbour = bytes;
    neighbour[1] ^= 0x02;
    if (entry.canonical) {
      EXPECT_TRUE(X25519PublicKey::FromBytes(neighbour).ok()) << ToHex(neighbour);
    }
  }
}

// The list check accepts exactly the canonical keys on which a scalar multiplication (the
// previous check) does not give the all-zero point: seeded random encodings with the top bit
// cleared, half of them pushed into [p - 256, 2^255) where the non-canonical ones live.
TEST(X25519PublicKeyTest, ListCheckAgreesWithScalarMultiplication) {
  ASSERT_GE(sodium_init(), 0);
  Prng prng(kSeed);
  uint8_t scalar[crypto_scalarmult_SCALARBYTES];
  for (size_t i = 0; i < sizeof(scalar); ++i) scalar[i] = static_cast<uint8_t>(prng.Next());
  int accepted = 0;
  for (int trial = 0; trial < 2000; ++trial) {
    std::vector<uint8_t> u(32);
    for (auto& b : u) b = static_cast<uint8_t>(prng.Next());
    u[31] &= 0x7f;
    if (trial % 2 == 1) {
      for (size_t i = 1; i < 31; ++i) u[i] = 0xff;
      u[31] = 0x7f;
    }
    bool canonical = u[31] != 0x7f || u[0] < 0xed;
    for (size_t i = 1; i < 31 && !canonical; ++i) canonical = u[i] != 0xff;
    uint8_t product[crypto_scalarmult_BYTES];
    const bool multiplies = crypto_scalarmult(product, scalar, u.data()) == 0;
    const bool ok = X25519PublicKey::FromBytes(u).ok();
    EXPECT_EQ(ok, canonical && multiplies) << ToHex(u) << " seed " << kSeed;
    accepted += ok ? 1 : 0;
  }
  EXPECT_GT(accepted, 1000);  // the test really exercised accepted keys
}

TEST(X25519KeyPairTest, GenerationIsReproducibleAndConsistent) {
  SeededRandom r1(kSeed), r2(kSeed);
  auto a = GenerateX25519KeyPair(r1);
  auto b = GenerateX25519KeyPair(r2);
  auto c = GenerateX25519KeyPair(r1);
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  EXPECT_EQ(a->public_key, b->public_key) << "seed " << kSeed;
  EXPECT_TRUE(a->secret_key == b->secret_key);
  EXPECT_NE(a->public_key, c->public_key);
  auto derived = X25519PublicKeyFromSecret(a->secret_key);
  ASSERT_TRUE(derived.ok());
  EXPECT_EQ(*derived, a->public_key);
  // A generated public key passes the checks a server applies to advertised keys.
  EXPECT_TRUE(X25519PublicKey::FromBytes(a->public_key.bytes()).ok());
}

TEST(X25519KeyPairTest, GenerationPropagatesSourceErrors) {
  FailingRandom failing;
  EXPECT_EQ(GenerateX25519KeyPair(failing).status().code(), StatusCode::kUnavailable);
}

class PairSeedTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeededRandom random(kSeed);
    auto u = GenerateX25519KeyPair(random);
    auto v = GenerateX25519KeyPair(random);
    auto w = GenerateX25519KeyPair(random);
    ASSERT_TRUE(u.ok() && v.ok() && w.ok());
    u_ = std::make_unique<X25519KeyPair>(std::move(u).value());
    v_ = std::make_unique<X25519KeyPair>(std::move(v).value());
    w_ = std::make_unique<X25519KeyPair>(std::move(w).value());
  }

  Seed Derive(const X25519KeyPair& self, const X25519PublicKey& peer, PairContext context) {
    auto seed = DerivePairSeed(self, peer, context);
    EXPECT_TRUE(seed.ok()) << seed.status();
    return std::move(seed).value();
  }

  std::unique_ptr<X25519KeyPair> u_, v_, w_;
};

TEST_F(PairSeedTest, BothSidesDeriveTheSameSeed) {
  PairContext uv{.run_id = 3, .round_id = 17, .self_id = 5, .peer_id = 9};
  PairContext vu{.run_id = 3, .round_id = 17, .self_id = 9, .peer_id = 5};
  EXPECT_TRUE(Derive(*u_, v_->public_key, uv) == Derive(*v_, u_->public_key, vu));
  uv.purpose = vu.purpose = PairPurpose::kShareEncryption;
  EXPECT_TRUE(Derive(*u_, v_->public_key, uv) == Derive(*v_, u_->public_key, vu));
}

TEST_F(PairSeedTest, SeedIsBoundToEveryContextField) {
  const PairContext base{.run_id = 3, .round_id = 17, .self_id = 5, .peer_id = 9};
  std::vector<PairContext> variants(6, base);
  variants[1].run_id = 4;
  variants[2].round_id = 18;
  variants[3].purpose = PairPurpose::kShareEncryption;
  variants[4].peer_id = 10;  // same keys, other claimed pair
  variants[5].self_id = 4;
  std::set<std::string> seen;
  for (const PairContext& context : variants) {
    seen.insert(ToHex(Derive(*u_, v_->public_key, context).bytes()));
  }
  EXPECT_EQ(seen.size(), variants.size());
  // Another peer gives another seed.
  EXPECT_FALSE(Derive(*u_, v_->public_key, base) == Derive(*u_, w_->public_key, base));
}

// BAD_INPUTS row 13: a peer that advertises our own key.
TEST_F(PairSeedTest, RefusesPeerKeyEqualToOwn) {
  PairContext context{.round_id = 1, .self_id = 1, .peer_id = 2};
  EXPECT_EQ(DerivePairSeed(*u_, u_->public_key, context).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(PairSeedTest, RefusesPairWithOneself) {
  PairContext context{.round_id = 1, .self_id = 2, .peer_id = 2};
  EXPECT_EQ(DerivePairSeed(*u_, v_->public_key, context).status().code(),
            StatusCode::kInvalidArgument);
}

TEST_F(PairSeedTest, RefusesUnknownPurpose) {
  PairContext context{.round_id = 1, .self_id = 1, .peer_id = 2};
  context.purpose = static_cast<PairPurpose>(77);
  EXPECT_EQ(DerivePairSeed(*u_, v_->public_key, context).status().code(),
            StatusCode::kInvalidArgument);
}

// --- batches ---------------------------------------------------------------------------

// GenerateX25519KeyPairs draws the secret keys in the order of as many GenerateX25519KeyPair
// calls, and its public keys are libsodium's (crypto_scalarmult_base), for every count.
TEST(X25519KeyPairsTest, SameKeysAsOneAtATime) {
  for (size_t count :
       {size_t{0}, size_t{1}, size_t{2}, size_t{5}, size_t{8}, size_t{9}, size_t{17}}) {
    SeededRandom batch_random(kSeed + count), single_random(kSeed + count);
    auto pairs = GenerateX25519KeyPairs(batch_random, count);
    ASSERT_TRUE(pairs.ok()) << pairs.status();
    ASSERT_EQ(pairs->size(), count);
    for (size_t i = 0; i < count; ++i) {
      auto single = GenerateX25519KeyPair(single_random);
      ASSERT_TRUE(single.ok());
      EXPECT_TRUE((*pairs)[i].secret_key == single->secret_key) << count << "/" << i;
      EXPECT_EQ((*pairs)[i].public_key, single->public_key) << count << "/" << i;
      auto derived = X25519PublicKeyFromSecret((*pairs)[i].secret_key);
      ASSERT_TRUE(derived.ok());
      EXPECT_EQ(*derived, (*pairs)[i].public_key) << count << "/" << i;
    }
    // Both sources are at the same place afterwards.
    auto after_batch = GenerateX25519KeyPair(batch_random);
    auto after_single = GenerateX25519KeyPair(single_random);
    ASSERT_TRUE(after_batch.ok() && after_single.ok());
    EXPECT_EQ(after_batch->public_key, after_single->public_key) << count;
  }
}

TEST(X25519KeyPairsTest, PropagatesSourceErrors) {
  FailingRandom failing;
  EXPECT_EQ(GenerateX25519KeyPairs(failing, 3).status().code(), StatusCode::kUnavailable);
  // Nothing to draw, nothing to fail.
  auto none = GenerateX25519KeyPairs(failing, 0);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

class PairSeedsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SeededRandom random(kSeed);
    for (int i = 0; i < 22; ++i) {
      auto pair = GenerateX25519KeyPair(random);
      ASSERT_TRUE(pair.ok());
      keys_.push_back(std::move(pair).value());
    }
  }

  // Requests of two key pairs of client 1 (keys_[0] for masks, keys_[1] for envelopes) against
  // keys_[2 ..], as a client derives them at ShareKeys.
  std::vector<PairSeedRequest> ClientRequests(size_t count) const {
    std::vector<PairSeedRequest> requests;
    for (size_t i = 0; i < count; ++i) {
      const bool mask = i % 2 == 0;
      requests.push_back(
          {&keys_[mask ? 0 : 1], &keys_[2 + i].public_key,
           PairContext{.run_id = 3,
                       .round_id = 17,
                       .self_id = 1 + 10 * (i % 3),
                       .peer_id = 5 + i,
                       .purpose = mask ? PairPurpose::kMask : PairPurpose::kShareEncryption}});
    }
    return requests;
  }

  std::vector<X25519KeyPair> keys_;
};

// Every batch size from 0 to 20 (eight-lane groups and the four-lane tail of the AVX-512 IFMA
// variant where the CPU has it), mixed key pairs, purposes and id orders: each seed equals
// DerivePairSeed's, bit for bit.
TEST_F(PairSeedsTest, EqualDerivePairSeedForEveryBatchSize) {
  for (size_t size = 0; size <= 20; ++size) {
    const std::vector<PairSeedRequest> requests = ClientRequests(size);
    auto seeds = DerivePairSeeds(requests);
    ASSERT_TRUE(seeds.ok()) << seeds.status();
    ASSERT_EQ(seeds->size(), size);
    for (size_t i = 0; i < size; ++i) {
      auto single =
          DerivePairSeed(*requests[i].self, *requests[i].peer_public, requests[i].context);
      ASSERT_TRUE(single.ok());
      EXPECT_TRUE((*seeds)[i] == *single) << "size " << size << ", request " << i;
    }
  }
}

// The peer derives the same seed from its side, in its own batch.
TEST_F(PairSeedsTest, BothSidesAgree) {
  const PairContext forward{.run_id = 3, .round_id = 17, .self_id = 5, .peer_id = 9};
  const PairContext backward{.run_id = 3, .round_id = 17, .self_id = 9, .peer_id = 5};
  const PairSeedRequest u_side[] = {{&keys_[0], &keys_[1].public_key, forward}};
  const PairSeedRequest v_side[] = {{&keys_[1], &keys_[0].public_key, backward}};
  auto u_seeds = DerivePairSeeds(u_side);
  auto v_seeds = DerivePairSeeds(v_side);
  ASSERT_TRUE(u_seeds.ok() && v_seeds.ok());
  EXPECT_TRUE((*u_seeds)[0] == (*v_seeds)[0]);
}

TEST_F(PairSeedsTest, OneKeyPairAgainstManyPeers) {
  std::vector<X25519PublicKey> peers;
  std::vector<PairContext> contexts;
  for (size_t i = 1; i < keys_.size(); ++i) {
    peers.push_back(keys_[i].public_key);
    contexts.push_back({.run_id = 1, .round_id = 2, .self_id = 100, .peer_id = 100 + i});
  }
  auto seeds = DerivePairSeeds(keys_[0], peers, contexts);
  ASSERT_TRUE(seeds.ok()) << seeds.status();
  ASSERT_EQ(seeds->size(), peers.size());
  for (size_t i = 0; i < peers.size(); ++i) {
    auto single = DerivePairSeed(keys_[0], peers[i], contexts[i]);
    ASSERT_TRUE(single.ok());
    EXPECT_TRUE((*seeds)[i] == *single) << i;
  }
  contexts.pop_back();
  EXPECT_EQ(DerivePairSeeds(keys_[0], peers, contexts).status().code(),
            StatusCode::kInvalidArgument);
}

// One bad request among good ones fails the whole batch with DerivePairSeed's own message for
// that request, and no seed.
TEST_F(PairSeedsTest, OneBadRequestFailsTheBatchLikeDerivePairSeed) {
  struct Case {
    const char* name;
    void (*spoil)(PairSeedRequest&, const std::vector<X25519KeyPair>&);
  };
  const Case kCases[] = {
      {"peer id equal to own id",
       [](PairSeedRequest& r, const std::vector<X25519KeyPair>&) {
         r.context.peer_id = r.context.self_id;
       }},
      {"peer key equal to own key",
       [](PairSeedRequest& r, const std::vector<X25519KeyPair>&) {
         r.peer_public = &r.self->public_key;
       }},
      {"unknown purpose",
       [](PairSeedRequest& r, const std::vector<X25519KeyPair>&) {
         r.context.purpose = static_cast<PairPurpose>(77);
       }},
  };
  for (const Case& c : kCases) {
    for (size_t bad : {size_t{0}, size_t{6}, size_t{11}}) {
      std::vector<PairSeedRequest> requests = ClientRequests(12);
      c.spoil(requests[bad], keys_);
      const Status single =
          DerivePairSeed(*requests[bad].self, *requests[bad].peer_public, requests[bad].context)
              .status();
      ASSERT_EQ(single.code(), StatusCode::kInvalidArgument) << c.name;
      const Status batch = DerivePairSeeds(requests).status();
      EXPECT_EQ(batch.code(), StatusCode::kInvalidArgument) << c.name << " at " << bad;
      EXPECT_EQ(batch.message(), single.message()) << c.name << " at " << bad;
    }
  }
  std::vector<PairSeedRequest> requests = ClientRequests(3);
  requests[1].self = nullptr;
  EXPECT_EQ(DerivePairSeeds(requests).status().code(), StatusCode::kInvalidArgument);
  requests = ClientRequests(3);
  requests[2].peer_public = nullptr;
  EXPECT_EQ(DerivePairSeeds(requests).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(PairSeedsTest, RefusesMovedFromSecretKey) {
  X25519KeyPair moved{keys_[0].public_key, keys_[0].secret_key.Clone()};
  X25519SecretKey taken = std::move(moved.secret_key);
  const PairSeedRequest requests[] = {
      {&moved, &keys_[1].public_key, {.round_id = 1, .self_id = 1, .peer_id = 2}}};
  EXPECT_EQ(DerivePairSeeds(requests).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::crypto
