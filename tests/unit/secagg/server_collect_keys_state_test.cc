// Server phase 0 (server_collect_keys_state.h): BAD_INPUTS rows 4, 5, 10, 13, 19 at
// AdvertiseKeys, signatures, and the ShareKeysRequests it sends.

#include <gtest/gtest.h>

#include "sotto/crypto/signature.h"
#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::Bytes;
using testing::DenseSupport;
using testing::MakeConfig;
using testing::Stepper;

AdvertiseKeys& Advertise(Stepper& s, uint64_t id) {
  return std::get<AdvertiseKeys>(s.pending().at(id));
}

TEST(ServerCollectKeysStateTest, SendsEachClientTheKeysOfItsNeighbours) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.StartAll();
  std::map<uint64_t, AdvertiseKeys> sent;
  for (auto& [id, m] : s.pending()) {
    sent[id] = std::get<AdvertiseKeys>(m);
  }
  EXPECT_FALSE(s.server().ReadyToAdvance());
  s.DeliverPending();
  EXPECT_TRUE(s.server().ReadyToAdvance());
  auto requests = s.Advance();
  EXPECT_EQ(s.server().phase(), ServerPhase::kCollectingShares);
  ASSERT_EQ(requests.size(), 4u);
  for (auto& [to, message] : requests) {
    const auto& request = std::get<ShareKeysRequest>(message);
    ASSERT_EQ(request.peers.size(), 3u);
    for (const auto& peer : request.peers) {
      EXPECT_NE(peer.id, to);
      EXPECT_EQ(peer.mask_public_key, sent[peer.id].mask_public_key);
      EXPECT_EQ(peer.encryption_public_key, sent[peer.id].encryption_public_key);
    }
  }
}

TEST(ServerCollectKeysStateTest, AnsweredThisPhaseFollowsEachClientsMessage) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.StartAll();
  const uint64_t first = s.ids()[0];
  const uint64_t second = s.ids()[1];
  EXPECT_FALSE(s.server().AnsweredThisPhase(first));
  ASSERT_TRUE(s.server().Handle(first, ClientMessage(Advertise(s, first))).ok());
  EXPECT_TRUE(s.server().AnsweredThisPhase(first));
  EXPECT_FALSE(s.server().AnsweredThisPhase(second));
  EXPECT_FALSE(s.server().AnsweredThisPhase(424242));  // not selected
  s.pending().erase(first);
  s.DeliverPending();
  s.Advance();
  // A new phase: nobody has sent its shares yet.
  EXPECT_EQ(s.server().phase(), ServerPhase::kCollectingShares);
  EXPECT_FALSE(s.server().AnsweredThisPhase(first));
}

TEST(ServerCollectKeysStateTest, UnselectedSenderIsPermissionDenied) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.StartAll();
  AdvertiseKeys copy = Advertise(s, s.ids()[0]);
  EXPECT_EQ(s.server().Handle(424242, copy).code(), StatusCode::kPermissionDenied);
  EXPECT_EQ(s.server().LiveClients().size(), 4u);
  s.DeliverPending();
  EXPECT_TRUE(s.server().ReadyToAdvance());
}

TEST(ServerCollectKeysStateTest, WrongPhaseMessageDropsTheSenderForGood) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.StartAll();
  const uint64_t id = s.ids()[1];
  EXPECT_EQ(s.server().Handle(id, MaskedInput{{1, 2, 3}, 1}).code(),
            StatusCode::kFailedPrecondition);
  EXPECT_FALSE(s.server().IsLive(id));
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kWrongPhase);
  // Row 10: never revived.
  EXPECT_EQ(s.server().Handle(id, ClientMessage(Advertise(s, id))).code(),
            StatusCode::kPermissionDenied);
  s.pending().erase(id);
  s.DeliverPending();
  auto requests = s.Advance();
  EXPECT_EQ(requests.count(id), 0u);
}

TEST(ServerCollectKeysStateTest, ExactDuplicateDropsTheSender) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.StartAll();
  const uint64_t id = s.ids()[2];
  AdvertiseKeys copy = Advertise(s, id);
  s.DeliverPending();
  EXPECT_EQ(s.server().Handle(id, copy).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kDuplicateMessage);
  auto requests = s.Advance();
  EXPECT_EQ(requests.count(id), 0u);
  for (auto& [to, m] : requests) {
    for (const auto& p : std::get<ShareKeysRequest>(m).peers) {
      EXPECT_NE(p.id, id);
    }
  }
}

struct BadAdvertise {
  const char* name;
  std::function<void(AdvertiseKeys&, const AdvertiseKeys& other)> edit;
};

class ServerCollectKeysBadAdvertiseTest : public ::testing::TestWithParam<BadAdvertise> {};

TEST_P(ServerCollectKeysBadAdvertiseTest, IsInvalidArgumentAndDropsTheSender) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.StartAll();
  const uint64_t first = s.ids()[0];
  const uint64_t id = s.ids()[3];
  AdvertiseKeys other = Advertise(s, first);
  ASSERT_TRUE(s.server().Handle(first, ClientMessage(other)).ok());
  AdvertiseKeys bad = Advertise(s, id);
  GetParam().edit(bad, other);
  EXPECT_EQ(s.server().Handle(id, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kMalformedMessage);
  EXPECT_TRUE(s.server().IsLive(first));
}

const std::vector<uint8_t> kOrder8 = {
    0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a,
    0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00};

INSTANTIATE_TEST_SUITE_P(
    Row13, ServerCollectKeysBadAdvertiseTest,
    ::testing::Values(
        BadAdvertise{"EmptyMaskKey", [](AdvertiseKeys& a, auto&) { a.mask_public_key.clear(); }},
        BadAdvertise{"ShortEncryptionKey",
                     [](AdvertiseKeys& a, auto&) { a.encryption_public_key.pop_back(); }},
        BadAdvertise{"LongMaskKey",
                     [](AdvertiseKeys& a, auto&) { a.mask_public_key.push_back(0); }},
        BadAdvertise{"ZeroKey", [](AdvertiseKeys& a, auto&) { a.mask_public_key.assign(32, 0); }},
        BadAdvertise{"LowOrderKey",
                     [](AdvertiseKeys& a, auto&) { a.encryption_public_key = kOrder8; }},
        BadAdvertise{"NonCanonicalKey",
                     [](AdvertiseKeys& a, auto&) { a.mask_public_key[31] |= 0x80; }},
        BadAdvertise{"BothKeysEqual",
                     [](AdvertiseKeys& a, auto&) { a.encryption_public_key = a.mask_public_key; }},
        BadAdvertise{"MaskKeyEqualsAnotherClients",
                     [](AdvertiseKeys& a, const AdvertiseKeys& o) {
                       a.mask_public_key = o.mask_public_key;
                     }},
        BadAdvertise{"KeyEqualsAnotherClientsOtherKey",
                     [](AdvertiseKeys& a, const AdvertiseKeys& o) {
                       a.mask_public_key = o.encryption_public_key;
                     }},
        BadAdvertise{"ShortCommitment",
                     [](AdvertiseKeys& a, auto&) { a.seed_commitment.resize(31); }},
        BadAdvertise{"SignatureOfWrongLength",
                     [](AdvertiseKeys& a, auto&) { a.signature.assign(63, 1); }}),
    [](const auto& info) { return std::string(info.param.name); });

class ServerCollectKeysSignatureTest : public ::testing::Test {
 protected:
  ServerCollectKeysSignatureTest() : random_(5), config_(MakeConfig(4, 3, DenseSupport(8))) {
    for (uint64_t id : config_.client_ids) {
      keys_.emplace(id, *crypto::GenerateEd25519KeyPair(random_));
    }
  }
  std::unique_ptr<Stepper> Make(bool register_last = true) {
    ServerOptions options;
    std::map<uint64_t, ClientOptions> client_options;
    for (uint64_t id : config_.client_ids) {
      if (register_last || id != config_.client_ids.back()) {
        options.signing_keys.emplace(id, keys_.at(id).public_key);
      }
      client_options[id].signing_key = &keys_.at(id).secret_key;
    }
    return std::make_unique<Stepper>(config_, 11, options, client_options);
  }
  SeededRandom random_;
  RoundConfig config_;
  std::map<uint64_t, crypto::Ed25519KeyPair> keys_;
};

TEST_F(ServerCollectKeysSignatureTest, SignedKeysAreAccepted) {
  auto s = Make();
  s->StartAll();
  s->DeliverPending();
  EXPECT_EQ(s->server().LiveClients().size(), 4u);
  EXPECT_TRUE(s->Finish().ok());
}

TEST_F(ServerCollectKeysSignatureTest, MissingOrForeignSignaturesAreUnauthenticated) {
  auto s = Make(/*register_last=*/false);
  s->StartAll();
  const auto& ids = s->ids();
  Advertise(*s, ids[0]).signature.clear();
  Advertise(*s, ids[1]).signature = Advertise(*s, ids[2]).signature;  // another client's
  Advertise(*s, ids[2]).mask_public_key = Advertise(*s, ids[2]).encryption_public_key;
  Advertise(*s, ids[2]).encryption_public_key = Advertise(*s, ids[1]).mask_public_key;
  for (uint64_t id : ids) {
    s->server().Handle(id, std::move(s->pending().at(id))).IgnoreError();
  }
  EXPECT_EQ(s->server().drop_reason(ids[0]), DropReason::kBadSignature);
  EXPECT_EQ(s->server().drop_reason(ids[1]), DropReason::kBadSignature);
  EXPECT_EQ(s->server().drop_reason(ids[2]), DropReason::kBadSignature);  // keys altered
  EXPECT_EQ(s->server().drop_reason(ids[3]), DropReason::kBadSignature);  // key not registered
}

TEST(ServerCollectKeysStateTest, FewerThanTClientsAbortsAndTellsTheLiveOnes) {
  Stepper s(MakeConfig(5, 3, DenseSupport(8)));
  s.StartAll();
  const auto ids = s.ids();
  s.DeliverPending({ids[0], ids[1], ids[2]});
  auto out = s.server().Advance();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(s.server().phase(), ServerPhase::kAborted);
  EXPECT_EQ(s.server().abort()->reason, ServerAbortReason::kTooFewSurvivors);
  EXPECT_EQ(s.server().abort()->status.code(), StatusCode::kAborted);
  EXPECT_EQ(s.server().result(), nullptr);
  EXPECT_EQ(out->size(), 2u);
  for (const auto& o : *out) {
    EXPECT_TRUE(std::holds_alternative<AbortRound>(o.message));
  }
  EXPECT_EQ(s.server().Advance().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.server().Handle(ids[3], MaskedInput{}).code(), StatusCode::kFailedPrecondition);
}

TEST(ServerCollectKeysStateTest, SilentClientIsDroppedAtAdvance) {
  Stepper s(MakeConfig(5, 3, DenseSupport(8)));
  s.StartAll();
  const uint64_t silent = s.ids()[4];
  AdvertiseKeys late = Advertise(s, silent);
  s.DeliverPending({silent});
  EXPECT_FALSE(s.server().ReadyToAdvance());
  s.Advance();
  EXPECT_EQ(s.server().drop_reason(silent), DropReason::kNoResponse);
  EXPECT_EQ(s.server().Handle(silent, late).code(), StatusCode::kPermissionDenied);
}

TEST(ServerCollectKeysStateTest, SecAggPlusDropsAClientWithTooFewLiveNeighbours) {
  // Degree 2, t = 2: a client whose two neighbours both stay silent cannot be helped.
  RoundConfig config = MakeConfig(8, 2, DenseSupport(8), crypto::Ring::kRing32, 2, 3);
  auto graph = NeighbourGraph::Create(config);
  Stepper s(config);
  s.StartAll();
  const uint64_t lonely = s.ids()[0];
  std::vector<uint64_t> silent;
  for (uint64_t id : graph->ClosedNeighbourhood(lonely)) {
    if (id != lonely) {
      silent.push_back(id);
    }
  }
  s.DeliverPending(silent);
  auto requests = s.Advance();
  EXPECT_EQ(s.server().phase(), ServerPhase::kCollectingShares);
  EXPECT_EQ(s.server().drop_reason(lonely), DropReason::kTooFewNeighbours);
  // It is told it is out; the five others get their requests.
  ASSERT_EQ(requests.count(lonely), 1u);
  EXPECT_TRUE(std::holds_alternative<AbortRound>(requests.at(lonely)));
  EXPECT_EQ(s.client(lonely).phase(), ClientPhase::kAborted);
  size_t share_requests = 0;
  for (const auto& [to, m] : requests) {
    share_requests += std::holds_alternative<ShareKeysRequest>(m) ? 1 : 0;
  }
  EXPECT_EQ(share_requests, 8u - 3u);
}

}  // namespace
}  // namespace sotto::secagg
