// Client phase 3 (client_unmask_state.h): BAD_INPUTS row 16 and what a client reveals.

#include <gtest/gtest.h>

#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::FakePeers;
using testing::MakeConfig;

class ClientUnmaskStateTest : public ::testing::Test {
 protected:
  ClientUnmaskStateTest() : peers_(MakeConfig(6, 4, DenseSupport(8))) {
    peers_.StartClient();
    peers_.DoShareKeys();
    ids_ = peers_.Neighbours();  // five
    // Four of them sent envelopes (U2); ids_[4] did not.
    auto reply =
        peers_.client().Handle(peers_.MakeMaskedInputRequest({ids_[0], ids_[1], ids_[2], ids_[3]}));
    EXPECT_TRUE(reply.ok()) << reply.status();
  }
  void ExpectAbort(const UnmaskRequest& request, StatusCode code, ClientAbortReason reason) {
    auto reply = peers_.client().Handle(request);
    EXPECT_EQ(reply.status().code(), code) << reply.status();
    EXPECT_EQ(peers_.client().phase(), ClientPhase::kAborted);
    EXPECT_EQ(peers_.client().abort()->reason, reason);
  }
  FakePeers peers_;
  std::vector<uint64_t> ids_;
};

TEST_F(ClientUnmaskStateTest, RevealsSeedSharesOfTheAliveAndKeySharesOfTheDropped) {
  auto reply = peers_.client().Handle(UnmaskRequest{{ids_[0], ids_[2], ids_[3]}, {ids_[1]}});
  ASSERT_TRUE(reply.ok()) << reply.status();
  const auto& response = std::get<UnmaskResponse>(**reply);
  EXPECT_EQ(peers_.client().phase(), ClientPhase::kCompleted);
  // Its own seed share, and those of the three alive peers.
  ASSERT_EQ(response.self_mask_seed_shares.size(), 4u);
  ASSERT_EQ(response.mask_key_shares.size(), 1u);
  EXPECT_EQ(response.mask_key_shares[0].owner_id, ids_[1]);
  // Each revealed share is the one the peer put in its envelope.
  for (const auto& s : response.self_mask_seed_shares) {
    if (s.owner_id == peers_.self()) {
      continue;
    }
    const uint32_t x = peers_.graph().ShareIndex(s.owner_id, peers_.self());
    EXPECT_EQ(s.value, peers_.peer(s.owner_id).seed_shares[x - 1].value);
  }
  const uint32_t x = peers_.graph().ShareIndex(ids_[1], peers_.self());
  EXPECT_EQ(response.mask_key_shares[0].value, peers_.peer(ids_[1]).key_shares[x - 1].value);
  EXPECT_TRUE(ValidateUnmaskResponse(response, peers_.self(),
                                     UnmaskRequest{{ids_[0], ids_[2], ids_[3]}, {ids_[1]}})
                  .ok());
}

TEST_F(ClientUnmaskStateTest, AnswersOnlyOnceSoNeverRevealsBothKindsForOnePeer) {
  ASSERT_TRUE(peers_.client().Handle(UnmaskRequest{{ids_[0], ids_[1], ids_[2]}, {ids_[3]}}).ok());
  // A second request claiming ids_[0] dropped gets nothing.
  auto again = peers_.client().Handle(UnmaskRequest{{ids_[1], ids_[2], ids_[3]}, {ids_[0]}});
  EXPECT_EQ(again.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(peers_.client().phase(), ClientPhase::kCompleted);
}

TEST_F(ClientUnmaskStateTest, PeerBothAliveAndDroppedAborts) {
  ExpectAbort(UnmaskRequest{{ids_[0], ids_[1], ids_[2]}, {ids_[2]}}, StatusCode::kInvalidArgument,
              ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientUnmaskStateTest, UnknownIdAborts) {
  ExpectAbort(UnmaskRequest{{ids_[0], ids_[1], ids_[2], 999999}, {}}, StatusCode::kInvalidArgument,
              ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientUnmaskStateTest, PeerOutsideU2Aborts) {
  // ids_[4] never sent an envelope, so the client never masked with it.
  ExpectAbort(UnmaskRequest{{ids_[0], ids_[1], ids_[2]}, {ids_[4]}}, StatusCode::kInvalidArgument,
              ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientUnmaskStateTest, ListingItselfAborts) {
  std::vector<uint64_t> alive = {ids_[0], ids_[1], ids_[2]};
  std::vector<uint64_t> dropped = {peers_.self()};
  ExpectAbort(UnmaskRequest{alive, dropped}, StatusCode::kInvalidArgument,
              ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientUnmaskStateTest, FewerThanTAliveAborts) {
  ExpectAbort(UnmaskRequest{{ids_[0], ids_[1]}, {ids_[2], ids_[3]}}, StatusCode::kAborted,
              ClientAbortReason::kTooFewNeighbours);
}

TEST_F(ClientUnmaskStateTest, UnsortedListsAbort) {
  ExpectAbort(UnmaskRequest{{ids_[1], ids_[0], ids_[2]}, {}}, StatusCode::kInvalidArgument,
              ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientUnmaskStateTest, AbortRoundAfterCompletionIsIgnored) {
  ASSERT_TRUE(peers_.client().Handle(UnmaskRequest{{ids_[0], ids_[1], ids_[2], ids_[3]}, {}}).ok());
  auto reply = peers_.client().Handle(AbortRound{"late"});
  ASSERT_TRUE(reply.ok());
  EXPECT_FALSE(reply->has_value());
  EXPECT_EQ(peers_.client().phase(), ClientPhase::kCompleted);
}

}  // namespace
}  // namespace sotto::secagg
