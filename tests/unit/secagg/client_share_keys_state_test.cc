// Client phase 1 (client_share_keys_state.h): the ShareKeysRequest checks and the envelopes.

#include <gtest/gtest.h>

#include "sotto/crypto/shamir.h"
#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::Bytes;
using testing::DenseSupport;
using testing::FakePeers;
using testing::MakeConfig;

TEST(ClientShareKeysStateTest, SendsEachNeighbourItsSharesSealedForIt) {
  FakePeers peers(MakeConfig(5, 3, DenseSupport(8)));
  SecAggClient& client = peers.StartClient();
  const auto response = peers.DoShareKeys();
  EXPECT_EQ(client.phase(), ClientPhase::kMaskedInput);
  ASSERT_EQ(response.shares.size(), 4u);
  // Any t = 3 of the neighbours' shares rebuild the same secrets, and the rebuilt mask key is
  // the one behind the advertised public key.
  std::vector<crypto::ShamirShare> seed_shares, key_shares;
  for (const auto& envelope : response.shares) {
    ASSERT_EQ(envelope.ciphertext.size(), kShareCiphertextBytes);
    auto [seed, key] = peers.OpenFromClient(envelope.peer_id, envelope.ciphertext);
    const uint32_t x = peers.graph().ShareIndex(peers.self(), envelope.peer_id);
    seed_shares.push_back({x, std::move(seed)});
    key_shares.push_back({x, std::move(key)});
  }
  auto key = crypto::ShamirReconstruct(key_shares, 3);
  ASSERT_TRUE(key.ok()) << key.status();
  auto secret_key = crypto::X25519SecretKey::FromBytes(key->bytes());
  EXPECT_EQ(*crypto::X25519PublicKeyFromSecret(*secret_key), peers.client_mask_key());
  EXPECT_TRUE(crypto::ShamirReconstruct(seed_shares, 3).ok());  // all four are consistent
}

TEST(ClientShareKeysStateTest, ProceedsWithAtLeastTMinusOneNeighbours) {
  FakePeers peers(MakeConfig(5, 3, DenseSupport(8)));
  SecAggClient& client = peers.StartClient();
  const auto ids = peers.Neighbours();
  auto reply = client.Handle(peers.MakeShareKeysRequest({ids[0], ids[3]}));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(std::get<ShareKeysResponse>(**reply).shares.size(), 2u);
}

struct BadRequest {
  const char* name;
  std::function<void(ShareKeysRequest&, FakePeers&)> edit;
  StatusCode code;
  ClientAbortReason reason;
};

class ClientShareKeysBadRequestTest : public ::testing::TestWithParam<BadRequest> {};

TEST_P(ClientShareKeysBadRequestTest, AbortsAndSendsNothing) {
  FakePeers peers(MakeConfig(5, 3, DenseSupport(8)));
  SecAggClient& client = peers.StartClient();
  ShareKeysRequest request = peers.MakeShareKeysRequest(peers.Neighbours());
  GetParam().edit(request, peers);
  auto reply = client.Handle(request);
  EXPECT_EQ(reply.status().code(), GetParam().code) << reply.status();
  EXPECT_EQ(client.phase(), ClientPhase::kAborted);
  EXPECT_EQ(client.abort()->reason, GetParam().reason);
}

const std::vector<uint8_t> kZeroKey(32, 0);  // low order

INSTANTIATE_TEST_SUITE_P(
    Rows13And16, ClientShareKeysBadRequestTest,
    ::testing::Values(
        BadRequest{"ListsItself",
                   [](ShareKeysRequest& r, FakePeers& p) { r.peers[0].id = p.self(); },
                   StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{"UnknownId", [](ShareKeysRequest& r, FakePeers&) { r.peers[3].id = 999999; },
                   StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{"NotAscending",
                   [](ShareKeysRequest& r, FakePeers&) { std::swap(r.peers[0], r.peers[1]); },
                   StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{"EmptyKey",
                   [](ShareKeysRequest& r, FakePeers&) { r.peers[1].mask_public_key.clear(); },
                   StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{
            "ShortKey",
            [](ShareKeysRequest& r, FakePeers&) { r.peers[1].encryption_public_key.resize(31); },
            StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{"LowOrderKey",
                   [](ShareKeysRequest& r, FakePeers&) { r.peers[2].mask_public_key = kZeroKey; },
                   StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{"KeyEqualsAnotherPeers",
                   [](ShareKeysRequest& r, FakePeers&) {
                     r.peers[2].mask_public_key = r.peers[1].mask_public_key;
                   },
                   StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{"KeyEqualsTheClientsOwn",
                   [](ShareKeysRequest& r, FakePeers& p) {
                     r.peers[0].encryption_public_key = p.advertise().encryption_public_key;
                   },
                   StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest},
        BadRequest{"FewerThanTMinusOnePeers",
                   [](ShareKeysRequest& r, FakePeers&) { r.peers.resize(1); }, StatusCode::kAborted,
                   ClientAbortReason::kTooFewNeighbours}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ClientShareKeysStateTest, RefusesANonNeighbourInSecAggPlus) {
  // n = 8, degree 2: each client has exactly two neighbours.
  FakePeers peers(MakeConfig(8, 2, DenseSupport(8), crypto::Ring::kRing32, /*degree=*/2));
  SecAggClient& client = peers.StartClient();
  const auto neighbours = peers.Neighbours();
  ASSERT_EQ(neighbours.size(), 2u);
  uint64_t stranger = 0;
  for (uint64_t id : peers.config().client_ids) {
    if (id != peers.self() &&
        std::find(neighbours.begin(), neighbours.end(), id) == neighbours.end()) {
      stranger = id;
      break;
    }
  }
  std::vector<uint64_t> ids = {neighbours[0], stranger};
  std::sort(ids.begin(), ids.end());
  auto reply = client.Handle(peers.MakeShareKeysRequest(ids));
  EXPECT_EQ(reply.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(client.abort()->reason, ClientAbortReason::kMalformedRequest);
}

TEST(ClientShareKeysStateTest, WrongPhaseMessageAborts) {
  FakePeers peers(MakeConfig(4, 3, DenseSupport(8)));
  SecAggClient& client = peers.StartClient();
  auto reply = client.Handle(peers.MakeMaskedInputRequest(peers.Neighbours()));
  EXPECT_EQ(reply.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(client.abort()->reason, ClientAbortReason::kWrongPhase);
}

TEST(ClientShareKeysStateTest, AbortRoundFromTheServerStopsTheClient) {
  FakePeers peers(MakeConfig(4, 3, DenseSupport(8)));
  SecAggClient& client = peers.StartClient();
  auto reply = client.Handle(AbortRound{"deadline"});
  EXPECT_EQ(reply.status().code(), StatusCode::kAborted);
  EXPECT_EQ(client.abort()->reason, ClientAbortReason::kServerAborted);
}

}  // namespace
}  // namespace sotto::secagg
