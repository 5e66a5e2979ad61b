// Server phase 3 (server_collect_unmask_state.h): BAD_INPUTS rows 15, 18, 19, 21.

#include <gtest/gtest.h>

#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::MakeConfig;
using testing::Stepper;

// Six clients, t = 4; ids[5] shares keys but sends no masked input (so unmask requests carry a
// dropped peer).
class ServerCollectUnmaskStateTest : public ::testing::Test {
 protected:
  ServerCollectUnmaskStateTest() : s_(MakeConfig(6, 4, DenseSupport(32))), ids_(s_.ids()) {
    s_.RunTo(ServerPhase::kCollectingMaskedInputs);
    s_.pending().erase(ids_[5]);
    s_.DeliverPending();
    requests_ = s_.Advance();
  }
  UnmaskResponse& Response(uint64_t id) { return std::get<UnmaskResponse>(s_.pending().at(id)); }
  std::vector<uint64_t> Contributors() const {
    return {ids_[0], ids_[1], ids_[2], ids_[3], ids_[4]};
  }
  Stepper s_;
  std::vector<uint64_t> ids_;
  std::map<uint64_t, ServerMessage> requests_;
};

TEST_F(ServerCollectUnmaskStateTest, CompletesWithTheExactSum) {
  ASSERT_EQ(s_.server().phase(), ServerPhase::kCollectingUnmaskResponses);
  ASSERT_TRUE(s_.Finish().ok());
  const AggregateResult* result = s_.server().result();
  EXPECT_EQ(result->contributors, Contributors());
  EXPECT_TRUE(result->sum == s_.PlainSum(Contributors()));
  uint64_t weight = 0;
  for (uint64_t id : Contributors()) {
    weight += s_.input(id).weight;
  }
  EXPECT_EQ(result->weight_sum, weight);
}

struct BadUnmask {
  const char* name;
  std::function<void(UnmaskResponse&, uint64_t self, uint64_t dropped)> edit;
};

class ServerCollectUnmaskBadTest : public ServerCollectUnmaskStateTest,
                                   public ::testing::WithParamInterface<BadUnmask> {};

TEST_P(ServerCollectUnmaskBadTest, IsInvalidArgumentAndDropsTheSender) {
  const uint64_t id = ids_[2];
  UnmaskResponse bad = Clone(Response(id));
  GetParam().edit(bad, id, ids_[5]);
  EXPECT_EQ(s_.server().Handle(id, std::move(bad)).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s_.server().drop_reason(id), DropReason::kMalformedMessage);
  // Four honest responders remain: exactly t, so the round still completes.
  s_.pending().erase(id);
  ASSERT_TRUE(s_.Finish().ok()) << s_.server().abort()->status;
  EXPECT_TRUE(s_.server().result()->sum == s_.PlainSum(Contributors()));
}

RevealedShare Share(uint64_t owner, size_t size = crypto::kShamirShareBytes) {
  return {owner, crypto::SecretBytes(size)};
}

INSTANTIATE_TEST_SUITE_P(
    Row15, ServerCollectUnmaskBadTest,
    ::testing::Values(
        BadUnmask{"SeedShareOfADroppedPeer",
                  [](UnmaskResponse& r, uint64_t, uint64_t dropped) {
                    r.self_mask_seed_shares.push_back(Share(dropped));
                  }},
        BadUnmask{"KeyShareOfAnAlivePeer",
                  [](UnmaskResponse& r, uint64_t, uint64_t) {
                    r.mask_key_shares.push_back(Share(r.self_mask_seed_shares[0].owner_id));
                  }},
        BadUnmask{"KeyShareOfItself", [](UnmaskResponse& r, uint64_t self,
                                         uint64_t) { r.mask_key_shares.push_back(Share(self)); }},
        BadUnmask{"ShareOfAnUnknownClient",
                  [](UnmaskResponse& r, uint64_t, uint64_t) {
                    r.self_mask_seed_shares.push_back(Share(555));
                  }},
        BadUnmask{"RepeatedOwner",
                  [](UnmaskResponse& r, uint64_t, uint64_t) {
                    r.self_mask_seed_shares[1].owner_id = r.self_mask_seed_shares[0].owner_id;
                  }},
        BadUnmask{"MissingSeedShare", [](UnmaskResponse& r, uint64_t,
                                         uint64_t) { r.self_mask_seed_shares.pop_back(); }},
        BadUnmask{"MissingKeyShare",
                  [](UnmaskResponse& r, uint64_t, uint64_t) { r.mask_key_shares.clear(); }},
        BadUnmask{"ShortShare",
                  [](UnmaskResponse& r, uint64_t, uint64_t) {
                    r.self_mask_seed_shares[0].value = crypto::SecretBytes(47);
                  }},
        BadUnmask{"LongKeyShare",
                  [](UnmaskResponse& r, uint64_t, uint64_t) {
                    r.mask_key_shares[0].value = crypto::SecretBytes(49);
                  }}),
    [](const auto& info) { return std::string(info.param.name); });

TEST_F(ServerCollectUnmaskStateTest, DuplicateResponseDropsTheSenderButKeepsItsShares) {
  const uint64_t id = ids_[0];
  UnmaskResponse copy = Clone(Response(id));
  s_.DeliverPending();
  EXPECT_EQ(s_.server().Handle(id, std::move(copy)).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s_.server().drop_reason(id), DropReason::kDuplicateMessage);
  ASSERT_TRUE(s_.Finish().ok());
  EXPECT_TRUE(s_.server().result()->sum == s_.PlainSum(Contributors()));
}

TEST_F(ServerCollectUnmaskStateTest, FewerThanTResponsesAbortsRevealingNothing) {
  s_.DeliverPending({ids_[0], ids_[1]});  // three responders, t = 4
  auto out = s_.server().Advance();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(s_.server().phase(), ServerPhase::kAborted);
  EXPECT_EQ(s_.server().abort()->reason, ServerAbortReason::kTooFewSurvivors);
  EXPECT_EQ(s_.server().abort()->status.code(), StatusCode::kAborted);
  EXPECT_EQ(s_.server().result(), nullptr);
}

// Row 21: a client that adds an offset to its masked input makes the sum leave the range n
// honest clients can produce.
TEST_F(ServerCollectUnmaskStateTest, AggregateOutOfRangeIsDataLoss) {
  Stepper s(MakeConfig(5, 3, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingMaskedInputs);
  auto& masked = std::get<MaskedInput>(s.pending().at(s.ids()[1]));
  masked.values[3] = (masked.values[3] + (uint64_t{1} << 30)) & 0xffffffffu;
  const Status status = s.Finish();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status;
  EXPECT_EQ(s.server().abort()->reason, ServerAbortReason::kAggregateOutOfRange);
  EXPECT_EQ(s.server().result(), nullptr);
}

TEST_F(ServerCollectUnmaskStateTest, WeightSumOutOfRangeIsDataLoss) {
  Stepper s(MakeConfig(5, 3, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingMaskedInputs);
  auto& masked = std::get<MaskedInput>(s.pending().at(s.ids()[4]));
  masked.weight = (masked.weight + 5000 * 5) & 0xffffffffu;  // > n * max_weight in total
  const Status status = s.Finish();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status;
  EXPECT_EQ(s.server().abort()->reason, ServerAbortReason::kAggregateOutOfRange);
}

// Row 18 with spare shares: a corrupt key share is outvoted; with none to spare: DataLoss.
TEST_F(ServerCollectUnmaskStateTest, CorruptKeyShareIsRecoveredFromSpareShares) {
  Response(ids_[3]).mask_key_shares[0].value.mutable_bytes()[7] ^= 0x80;
  ASSERT_TRUE(s_.Finish().ok()) << s_.server().abort()->status;
  EXPECT_TRUE(s_.server().result()->sum == s_.PlainSum(Contributors()));
}

TEST_F(ServerCollectUnmaskStateTest, CraftedSharesWithNoSpareAreDataLossNeverAWrongSum) {
  // Exactly t = 4 responders; two of them swap their (valid-looking) key shares' values with
  // their own seed shares: Shamir sees consistent field elements, only the checks catch it.
  s_.pending().erase(ids_[4]);
  for (uint64_t id : {ids_[0], ids_[1]}) {
    auto& r = Response(id);
    std::swap(r.mask_key_shares[0].value, r.self_mask_seed_shares[0].value);
  }
  const Status status = s_.Finish();
  EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status;
  EXPECT_EQ(s_.server().abort()->reason, ServerAbortReason::kReconstructionFailed);
  EXPECT_EQ(s_.server().result(), nullptr);
}

// The final Advance rebuilds the secrets and range-checks the sum on ServerOptions::num_threads
// threads: the abort it reports is the same for every thread count (the first failing secret
// in order, the first element out of range).
TEST(ServerCollectUnmaskThreadsTest, CraftedSharesAbortTheSameOnEveryThreadCount) {
  std::string message_one_thread;
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    ServerOptions options;
    options.num_threads = threads;
    Stepper s(MakeConfig(6, 4, DenseSupport(32)), 11, options);
    const auto ids = s.ids();
    s.RunTo(ServerPhase::kCollectingMaskedInputs);
    s.pending().erase(ids[5]);
    s.DeliverPending();
    s.Advance();
    s.pending().erase(ids[4]);
    for (uint64_t id : {ids[0], ids[1]}) {
      auto& r = std::get<UnmaskResponse>(s.pending().at(id));
      std::swap(r.mask_key_shares[0].value, r.self_mask_seed_shares[0].value);
    }
    const Status status = s.Finish();
    EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status;
    EXPECT_EQ(s.server().abort()->reason, ServerAbortReason::kReconstructionFailed);
    if (threads == 1) {
      message_one_thread = std::string(status.message());
    }
    EXPECT_EQ(std::string(status.message()), message_one_thread);
  }
}

TEST(ServerCollectUnmaskThreadsTest, OutOfRangeReportsTheFirstElementOnEveryThreadCount) {
  const size_t dim = 3 * (size_t{1} << 16) + 5;    // four range-check blocks
  const size_t first = 70000;                      // block 1
  const size_t later = 3 * (size_t{1} << 16) + 1;  // block 3
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(threads);
    ServerOptions options;
    options.num_threads = threads;
    Stepper s(MakeConfig(5, 3, DenseSupport(dim)), 11, options);
    s.RunTo(ServerPhase::kCollectingMaskedInputs);
    auto& masked = std::get<MaskedInput>(s.pending().at(s.ids()[1]));
    for (size_t k : {later, first}) {
      masked.values[k] = (masked.values[k] + (uint64_t{1} << 30)) & 0xffffffffu;
    }
    const Status status = s.Finish();
    EXPECT_EQ(status.code(), StatusCode::kDataLoss) << status;
    EXPECT_EQ(s.server().abort()->reason, ServerAbortReason::kAggregateOutOfRange);
    EXPECT_NE(status.message().find("element " + std::to_string(first) + " "),
              std::string_view::npos)
        << status;
  }
}

}  // namespace
}  // namespace sotto::secagg
