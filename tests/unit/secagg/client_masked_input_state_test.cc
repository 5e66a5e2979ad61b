// Client phase 2 (client_masked_input_state.h): envelope checks (row 17) and the masking
// formula, recomputed here from the documented primitives.

#include <gtest/gtest.h>

#include "sotto/crypto/mask_prg.h"
#include "sotto/crypto/shamir.h"
#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::FakePeers;
using testing::MakeConfig;

// y = x + PRG(b) + sum_v (u < v ? + : -) PRG(s_uv), with b rebuilt from the shares the client
// sent its neighbours and s_uv derived from the fake peers' side.
void ExpectMaskingFormula(const RoundConfig& config) {
  FakePeers peers(config);
  peers.StartClient();
  const ShareKeysResponse shares = peers.DoShareKeys();
  const MaskedInput masked = peers.DoMaskedInput();
  EXPECT_EQ(peers.client().phase(), ClientPhase::kUnmask);

  std::vector<crypto::ShamirShare> seed_shares;
  for (const auto& envelope : shares.shares) {
    auto [seed, key] = peers.OpenFromClient(envelope.peer_id, envelope.ciphertext);
    seed_shares.push_back(
        {peers.graph().ShareIndex(peers.self(), envelope.peer_id), std::move(seed)});
  }
  auto b = crypto::ShamirReconstruct(seed_shares, config.threshold);
  ASSERT_TRUE(b.ok());
  auto b_seed = crypto::Seed::FromBytes(b->bytes());

  const bool ring32 = config.fixed_point.ring == crypto::Ring::kRing32;
  const bool by_position =
      config.support.is_dense() || config.mask_indexing == MaskIndexing::kSupportPosition;
  const size_t size = config.support.size();
  // Unmask in uint64_t and reduce: the same ring arithmetic as the client's.
  std::vector<uint64_t> y = masked.values;
  uint64_t w = masked.weight;
  auto remove = [&](const crypto::Seed& seed, crypto::MaskOp op) {
    const crypto::MaskPrg vec(seed, 0), wt(seed, 1);
    if (ring32) {
      std::vector<uint32_t> v(y.begin(), y.end());
      uint32_t w32 = static_cast<uint32_t>(w);
      if (by_position) {
        ASSERT_TRUE(vec.ApplyDense(0, std::span(v), op).ok());
      } else {
        ASSERT_TRUE(vec.ApplySparse(config.support.indices(), std::span(v), op).ok());
      }
      ASSERT_TRUE(wt.ApplyDense(0, std::span(&w32, 1), op).ok());
      y.assign(v.begin(), v.end());
      w = w32;
    } else {
      if (by_position) {
        ASSERT_TRUE(vec.ApplyDense(0, std::span(y), op).ok());
      } else {
        ASSERT_TRUE(vec.ApplySparse(config.support.indices(), std::span(y), op).ok());
      }
      ASSERT_TRUE(wt.ApplyDense(0, std::span(&w, 1), op).ok());
    }
  };
  remove(*b_seed, crypto::MaskOp::kSubtract);
  for (uint64_t v : peers.Neighbours()) {
    auto s = crypto::DerivePairSeed(
        peers.peer(v).mask, peers.client_mask_key(),
        {config.run_id, config.round_id, v, peers.self(), crypto::PairPurpose::kMask});
    ASSERT_TRUE(s.ok());
    // The client added when its id is the smaller one: subtract that back.
    remove(*s, peers.self() < v ? crypto::MaskOp::kSubtract : crypto::MaskOp::kAdd);
  }
  ASSERT_EQ(y.size(), size);
  EXPECT_TRUE(y == peers.input().values);
  EXPECT_EQ(w, peers.input().weight);
}

TEST(ClientMaskedInputStateTest, MaskedInputFollowsTheFormulaDense32) {
  ExpectMaskingFormula(MakeConfig(5, 3, DenseSupport(100)));
}

TEST(ClientMaskedInputStateTest, MaskedInputFollowsTheFormulaSparse64) {
  auto support = Support::Sparse(1 << 20, {3, 17, 18, 4096, 99999, 1000000});
  ASSERT_TRUE(support.ok());
  ExpectMaskingFormula(MakeConfig(4, 3, *support, crypto::Ring::kRing64));
}

TEST(ClientMaskedInputStateTest, MaskedInputFollowsTheFormulaCoordinateIndexing) {
  auto support = Support::Sparse(1 << 20, {3, 17, 18, 4096, 99999, 1000000});
  ASSERT_TRUE(support.ok());
  for (auto ring : {crypto::Ring::kRing32, crypto::Ring::kRing64}) {
    RoundConfig config = MakeConfig(4, 3, *support, ring);
    config.mask_indexing = MaskIndexing::kCoordinate;
    ExpectMaskingFormula(config);
  }
}

TEST(ClientMaskedInputStateTest, DefaultMaskIndexingIsBySupportPosition) {
  EXPECT_EQ(RoundConfig{}.mask_indexing, MaskIndexing::kSupportPosition);
}

TEST(ClientMaskedInputStateTest, MaskedInputFollowsTheFormulaSupportPositionIndexing) {
  auto support = Support::Sparse(1 << 20, {3, 17, 18, 4096, 99999, 1000000});
  ASSERT_TRUE(support.ok());
  RoundConfig config = MakeConfig(4, 3, *support);
  config.mask_indexing = MaskIndexing::kSupportPosition;
  ExpectMaskingFormula(config);
}

TEST(ClientMaskedInputStateTest, AllElementsAreRingElements) {
  FakePeers peers(MakeConfig(4, 3, DenseSupport(1000)));
  peers.StartClient();
  peers.DoShareKeys();
  const MaskedInput masked = peers.DoMaskedInput();
  for (uint64_t v : masked.values) {
    ASSERT_LE(v, 0xffffffffu);
  }
  EXPECT_LE(masked.weight, 0xffffffffu);
}

// Row 17 and the request checks.
class ClientMaskedInputBadRequestTest : public ::testing::Test {
 protected:
  ClientMaskedInputBadRequestTest() : peers_(MakeConfig(5, 3, DenseSupport(8))) {
    peers_.StartClient();
    peers_.DoShareKeys();
    ids_ = peers_.Neighbours();
  }
  void ExpectAbort(const MaskedInputRequest& request, StatusCode code, ClientAbortReason reason) {
    auto reply = peers_.client().Handle(request);
    EXPECT_EQ(reply.status().code(), code) << reply.status();
    EXPECT_EQ(peers_.client().phase(), ClientPhase::kAborted);
    EXPECT_EQ(peers_.client().abort()->reason, reason);
  }
  FakePeers peers_;
  std::vector<uint64_t> ids_;
};

TEST_F(ClientMaskedInputBadRequestTest, FlippedCiphertextBitIsUnauthenticated) {
  auto request = peers_.MakeMaskedInputRequest(ids_);
  request.shares[1].ciphertext[50] ^= 0x01;
  ExpectAbort(request, StatusCode::kUnauthenticated, ClientAbortReason::kBadShareEnvelope);
}

TEST_F(ClientMaskedInputBadRequestTest, EnvelopeRedirectedFromAnotherSenderIsUnauthenticated) {
  auto request = peers_.MakeMaskedInputRequest(ids_);
  std::swap(request.shares[0].ciphertext, request.shares[1].ciphertext);
  ExpectAbort(request, StatusCode::kUnauthenticated, ClientAbortReason::kBadShareEnvelope);
}

TEST_F(ClientMaskedInputBadRequestTest, InnerSenderDifferingFromTheEnvelopeAborts) {
  auto request = peers_.MakeMaskedInputRequest(ids_);
  // Sealed correctly for (ids_[0] -> client) but naming ids_[1] as the sender inside.
  request.shares[0].ciphertext = peers_.MakeEnvelope(ids_[0], ids_[1], peers_.self(), ids_[0]);
  ExpectAbort(request, StatusCode::kInvalidArgument, ClientAbortReason::kBadShareEnvelope);
}

TEST_F(ClientMaskedInputBadRequestTest, InnerRecipientDifferingFromTheEnvelopeAborts) {
  auto request = peers_.MakeMaskedInputRequest(ids_);
  request.shares[2].ciphertext = peers_.MakeEnvelope(ids_[2], ids_[2], ids_[3], ids_[2]);
  ExpectAbort(request, StatusCode::kInvalidArgument, ClientAbortReason::kBadShareEnvelope);
}

TEST_F(ClientMaskedInputBadRequestTest, UnknownSenderIsInvalid) {
  auto request = peers_.MakeMaskedInputRequest(ids_);
  request.shares.back().peer_id = 999999;
  ExpectAbort(request, StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientMaskedInputBadRequestTest, WrongCiphertextLengthIsInvalid) {
  auto request = peers_.MakeMaskedInputRequest(ids_);
  request.shares[0].ciphertext.pop_back();
  ExpectAbort(request, StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientMaskedInputBadRequestTest, RepeatedSenderIsInvalid) {
  auto request = peers_.MakeMaskedInputRequest(ids_);
  request.shares[1] = request.shares[0];
  ExpectAbort(request, StatusCode::kInvalidArgument, ClientAbortReason::kMalformedRequest);
}

TEST_F(ClientMaskedInputBadRequestTest, FewerThanTMinusOneSendersAborts) {
  ExpectAbort(peers_.MakeMaskedInputRequest({ids_[0]}), StatusCode::kAborted,
              ClientAbortReason::kTooFewNeighbours);
}

TEST_F(ClientMaskedInputBadRequestTest, WrongPhaseMessageAborts) {
  auto reply = peers_.client().Handle(UnmaskRequest{ids_, {}});
  EXPECT_EQ(reply.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(peers_.client().abort()->reason, ClientAbortReason::kWrongPhase);
}

}  // namespace
}  // namespace sotto::secagg
