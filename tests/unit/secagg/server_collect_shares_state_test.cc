// Server phase 1 (server_collect_shares_state.h): BAD_INPUTS row 14 and the routing of
// envelopes into MaskedInputRequests.

#include <gtest/gtest.h>

#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::MakeConfig;
using testing::Stepper;

ShareKeysResponse& Response(Stepper& s, uint64_t id) {
  return std::get<ShareKeysResponse>(s.pending().at(id));
}

TEST(ServerCollectSharesStateTest, RoutesEachEnvelopeToItsRecipientOnly) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingShares);
  std::map<std::pair<uint64_t, uint64_t>, std::vector<uint8_t>> sent;  // (from, to)
  for (auto& [from, m] : s.pending()) {
    for (const auto& e : std::get<ShareKeysResponse>(m).shares) {
      sent[{from, e.peer_id}] = e.ciphertext;
    }
  }
  s.DeliverPending();
  ASSERT_TRUE(s.server().ReadyToAdvance());
  auto requests = s.Advance();
  EXPECT_EQ(s.server().phase(), ServerPhase::kCollectingMaskedInputs);
  ASSERT_EQ(requests.size(), 4u);
  for (auto& [to, message] : requests) {
    const auto& request = std::get<MaskedInputRequest>(message);
    ASSERT_EQ(request.shares.size(), 3u);
    for (const auto& e : request.shares) {
      EXPECT_EQ(e.ciphertext, (sent[{e.peer_id, to}]));
    }
  }
}

struct BadResponse {
  const char* name;
  std::function<void(ShareKeysResponse&, uint64_t self)> edit;
};

class ServerCollectSharesBadResponseTest : public ::testing::TestWithParam<BadResponse> {};

TEST_P(ServerCollectSharesBadResponseTest, IsInvalidArgumentAndDropsTheSender) {
  Stepper s(MakeConfig(5, 3, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingShares);
  const uint64_t id = s.ids()[2];
  ShareKeysResponse bad = Response(s, id);
  GetParam().edit(bad, id);
  EXPECT_EQ(s.server().Handle(id, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kMalformedMessage);
  // The round goes on without it; nobody is sent its envelopes or asked to mask with it.
  s.pending().erase(id);
  s.DeliverPending();
  auto requests = s.Advance();
  EXPECT_EQ(requests.count(id), 0u);
  for (auto& [to, m] : requests) {
    for (const auto& e : std::get<MaskedInputRequest>(m).shares) {
      EXPECT_NE(e.peer_id, id);
    }
  }
  ASSERT_TRUE(s.Finish().ok());
  EXPECT_EQ(s.server().result()->contributors.size(), 4u);
  EXPECT_TRUE(s.server().result()->sum == s.PlainSum(s.server().result()->contributors));
}

INSTANTIATE_TEST_SUITE_P(
    Row14, ServerCollectSharesBadResponseTest,
    ::testing::Values(
        BadResponse{"MissingEnvelope", [](ShareKeysResponse& r, uint64_t) { r.shares.pop_back(); }},
        BadResponse{"ExtraEnvelope",
                    [](ShareKeysResponse& r, uint64_t) { r.shares.push_back(r.shares[0]); }},
        BadResponse{
            "RepeatedRecipient",
            [](ShareKeysResponse& r, uint64_t) { r.shares[1].peer_id = r.shares[0].peer_id; }},
        BadResponse{"UnknownRecipient",
                    [](ShareKeysResponse& r, uint64_t) { r.shares[1].peer_id = 31337; }},
        BadResponse{"RecipientIsTheSender",
                    [](ShareKeysResponse& r, uint64_t self) { r.shares[0].peer_id = self; }},
        BadResponse{"ShortCiphertext",
                    [](ShareKeysResponse& r, uint64_t) { r.shares[2].ciphertext.pop_back(); }},
        BadResponse{"EmptyCiphertext",
                    [](ShareKeysResponse& r, uint64_t) { r.shares[2].ciphertext.clear(); }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(ServerCollectSharesStateTest, NonNeighbourRecipientIsInvalidInSecAggPlus) {
  RoundConfig config = MakeConfig(8, 2, DenseSupport(8), crypto::Ring::kRing32, 2, 9);
  auto graph = NeighbourGraph::Create(config);
  Stepper s(config);
  s.RunTo(ServerPhase::kCollectingShares);
  const uint64_t id = s.ids()[0];
  uint64_t stranger = 0;
  for (uint64_t other : s.ids()) {
    if (other != id && !graph->AreNeighbours(id, other)) {
      stranger = other;
    }
  }
  ShareKeysResponse bad = Response(s, id);
  bad.shares[0].peer_id = stranger;
  EXPECT_EQ(s.server().Handle(id, bad).code(), StatusCode::kInvalidArgument);
}

TEST(ServerCollectSharesStateTest, DuplicateResponseDropsTheSenderBeforeAnyoneMasksWithIt) {
  Stepper s(MakeConfig(5, 3, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingShares);
  const uint64_t id = s.ids()[1];
  ShareKeysResponse copy = Response(s, id);
  s.DeliverPending();
  EXPECT_EQ(s.server().Handle(id, copy).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kDuplicateMessage);
  auto requests = s.Advance();
  EXPECT_EQ(requests.count(id), 0u);
  ASSERT_TRUE(s.Finish().ok());
  EXPECT_TRUE(s.server().result()->sum == s.PlainSum(s.server().result()->contributors));
}

TEST(ServerCollectSharesStateTest, FewerThanTSharersAborts) {
  Stepper s(MakeConfig(5, 4, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingShares);
  s.DeliverPending({s.ids()[0], s.ids()[1]});
  auto out = s.server().Advance();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(s.server().phase(), ServerPhase::kAborted);
  EXPECT_EQ(s.server().abort()->status.code(), StatusCode::kAborted);
  EXPECT_EQ(out->size(), 3u);  // AbortRound to the three live ones
}

TEST(ServerCollectSharesStateTest, AdvertiseKeysAgainIsAWrongPhaseDrop) {
  Stepper s(MakeConfig(4, 3, DenseSupport(8)));
  s.StartAll();
  const uint64_t id = s.ids()[0];
  AdvertiseKeys copy = std::get<AdvertiseKeys>(s.pending().at(id));
  s.DeliverPending();
  s.Advance();
  EXPECT_EQ(s.server().Handle(id, copy).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kWrongPhase);
}

}  // namespace
}  // namespace sotto::secagg
