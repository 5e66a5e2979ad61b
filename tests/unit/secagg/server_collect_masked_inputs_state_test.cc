// Server phase 2 (server_collect_masked_inputs_state.h): BAD_INPUTS rows 5, 6, 7, 19 and the
// UnmaskRequests it sends.

#include <gtest/gtest.h>

#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::MakeConfig;
using testing::Stepper;

MaskedInput& Input(Stepper& s, uint64_t id) { return std::get<MaskedInput>(s.pending().at(id)); }

TEST(ServerCollectMaskedInputsStateTest, AsksEachContributorAboutItsNeighbours) {
  Stepper s(MakeConfig(5, 3, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingMaskedInputs);
  const auto ids = s.ids();
  s.DeliverPending({ids[4]});  // ids[4] shared keys but sends no input
  auto requests = s.Advance();
  EXPECT_EQ(s.server().phase(), ServerPhase::kCollectingUnmaskResponses);
  ASSERT_EQ(requests.size(), 4u);
  for (auto& [to, m] : requests) {
    const auto& r = std::get<UnmaskRequest>(m);
    EXPECT_EQ(r.alive.size(), 3u);
    EXPECT_TRUE(std::find(r.alive.begin(), r.alive.end(), to) == r.alive.end());
    EXPECT_EQ(r.dropped, std::vector<uint64_t>{ids[4]});
  }
  ASSERT_TRUE(s.Finish().ok());
  EXPECT_TRUE(s.server().result()->sum == s.PlainSum({ids[0], ids[1], ids[2], ids[3]}));
}

struct BadInput {
  const char* name;
  std::function<void(MaskedInput&)> edit;
};

class ServerCollectMaskedInputsBadTest : public ::testing::TestWithParam<BadInput> {};

TEST_P(ServerCollectMaskedInputsBadTest, IsInvalidArgumentAndAddsNothing) {
  Stepper s(MakeConfig(5, 3, DenseSupport(16)));
  s.RunTo(ServerPhase::kCollectingMaskedInputs);
  const uint64_t id = s.ids()[3];
  MaskedInput bad = Input(s, id);
  GetParam().edit(bad);
  EXPECT_EQ(s.server().Handle(id, bad).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kMalformedMessage);
  s.pending().erase(id);
  // The client is treated as dropped after sharing keys: its mask key is rebuilt, and the sum
  // is exactly that of the other four.
  ASSERT_TRUE(s.Finish().ok()) << s.server().abort()->status;
  const auto& ids = s.ids();
  EXPECT_TRUE(s.server().result()->sum == s.PlainSum({ids[0], ids[1], ids[2], ids[4]}));
}

INSTANTIATE_TEST_SUITE_P(
    Rows6And7, ServerCollectMaskedInputsBadTest,
    ::testing::Values(
        BadInput{"TooShort", [](MaskedInput& m) { m.values.pop_back(); }},
        BadInput{"TooLong", [](MaskedInput& m) { m.values.push_back(0); }},
        BadInput{"Empty", [](MaskedInput& m) { m.values.clear(); }},
        BadInput{"ElementAtModulus", [](MaskedInput& m) { m.values[5] = uint64_t{1} << 32; }},
        BadInput{"ElementFarAboveModulus", [](MaskedInput& m) { m.values[15] = ~uint64_t{0}; }},
        BadInput{"WeightAtModulus", [](MaskedInput& m) { m.weight = uint64_t{1} << 32; }}),
    [](const auto& info) { return std::string(info.param.name); });

// The range check rides along with the addition, split over threads from 2^18 elements each: an
// input refused for a value in any thread's range (here the first and the last element, one in
// each of two threads' ranges) is taken out of the sum again, bit for bit.
TEST(ServerCollectMaskedInputsStateTest, RefusedInputAddsNothingWhenTheAdditionIsThreaded) {
  const size_t dim = (size_t{1} << 19) + 77;
  ServerOptions options;
  options.num_threads = 2;
  for (size_t bad_at : {size_t{0}, dim - 1}) {
    SCOPED_TRACE(bad_at);
    Stepper s(MakeConfig(4, 3, DenseSupport(dim)), 11, options);
    s.RunTo(ServerPhase::kCollectingMaskedInputs);
    const auto ids = s.ids();
    MaskedInput bad = Input(s, ids[2]);
    bad.values[bad_at] = uint64_t{1} << 32;
    s.DeliverPending({ids[2]});  // the three good inputs are in the sum first
    EXPECT_EQ(s.server().Handle(ids[2], bad).code(), StatusCode::kInvalidArgument);
    ASSERT_TRUE(s.Finish().ok()) << s.server().abort()->status;
    EXPECT_TRUE(s.server().result()->sum == s.PlainSum({ids[0], ids[1], ids[3]}));
  }
}

TEST(ServerCollectMaskedInputsStateTest, DuplicateDropsTheSenderButItsFirstInputCounts) {
  Stepper s(MakeConfig(5, 3, DenseSupport(16)));
  s.RunTo(ServerPhase::kCollectingMaskedInputs);
  const uint64_t id = s.ids()[0];
  MaskedInput copy = Input(s, id);
  s.DeliverPending();
  EXPECT_EQ(s.server().Handle(id, copy).code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(s.server().drop_reason(id), DropReason::kDuplicateMessage);
  auto requests = s.Advance();
  EXPECT_EQ(requests.count(id), 0u);  // not asked to unmask: it is dead
  // Others still list it as alive: its self-mask seed is rebuilt from them.
  for (auto& [to, m] : requests) {
    const auto& alive = std::get<UnmaskRequest>(m).alive;
    EXPECT_TRUE(std::find(alive.begin(), alive.end(), id) != alive.end());
  }
  ASSERT_TRUE(s.Finish().ok());
  EXPECT_EQ(s.server().result()->contributors.size(), 5u);
  EXPECT_TRUE(s.server().result()->sum == s.PlainSum(s.ids()));
}

TEST(ServerCollectMaskedInputsStateTest, FewerThanTInputsAbortsWithoutAskingForShares) {
  Stepper s(MakeConfig(5, 4, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingMaskedInputs);
  const auto ids = s.ids();
  s.DeliverPending({ids[0], ids[1]});
  auto out = s.server().Advance();
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(s.server().phase(), ServerPhase::kAborted);
  EXPECT_EQ(s.server().abort()->reason, ServerAbortReason::kTooFewSurvivors);
  for (const auto& o : *out) {
    EXPECT_TRUE(std::holds_alternative<AbortRound>(o.message));
  }
}

TEST(ServerCollectMaskedInputsStateTest, AbortsWhenAContributorsSecretHasTooFewLiveHolders) {
  // t = 4 of 5. Four inputs arrive, then two of those senders misbehave (dropped after their
  // input counted): the secret of each contributor now has only 2 + ... live holders.
  Stepper s(MakeConfig(5, 4, DenseSupport(8)));
  s.RunTo(ServerPhase::kCollectingMaskedInputs);
  const auto ids = s.ids();
  MaskedInput copy0 = Input(s, ids[0]);
  MaskedInput copy1 = Input(s, ids[1]);
  s.DeliverPending({ids[4]});
  s.server().Handle(ids[0], copy0).IgnoreError();  // duplicates: dropped, input counted
  s.server().Handle(ids[1], copy1).IgnoreError();
  auto out = s.server().Advance();
  ASSERT_TRUE(out.ok());
  // U3 has 4 members (>= t) but only 2 of them are live: no secret can reach t = 4 holders.
  EXPECT_EQ(s.server().phase(), ServerPhase::kAborted);
  EXPECT_EQ(s.server().abort()->status.code(), StatusCode::kAborted);
}

}  // namespace
}  // namespace sotto::secagg
