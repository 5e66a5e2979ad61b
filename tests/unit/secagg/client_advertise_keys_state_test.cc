// Client phase 0 (client_advertise_keys_state.h) and SecAggClient::Create's checks.

#include <gtest/gtest.h>

#include "round_harness.h"
#include "sotto/crypto/signature.h"
#include "sotto/secagg/client.h"
#include "sotto/secagg/validation.h"
#include "state_test_util.h"

namespace sotto::secagg {
namespace {

using testing::DenseSupport;
using testing::MakeConfig;
using testing::RandomInput;

class FailingRandom final : public Random {
 public:
  Status Fill(std::span<uint8_t>) override { return UnavailableError("no entropy"); }
};

TEST(ClientAdvertiseKeysStateTest, StartSendsValidDistinctKeysAndACommitment) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  SeededRandom random(1);
  auto client = SecAggClient::Create(config, config.client_ids[1], RandomInput(config, 1), random);
  ASSERT_TRUE(client.ok()) << client.status();
  EXPECT_EQ((*client)->phase(), ClientPhase::kAdvertiseKeys);
  auto message = (*client)->Start();
  ASSERT_TRUE(message.ok());
  const auto& advertise = std::get<AdvertiseKeys>(*message);
  auto parsed = ValidateAdvertiseKeys(advertise);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_NE(parsed->mask_key, parsed->encryption_key);
  EXPECT_EQ(advertise.seed_commitment.size(), kSeedCommitmentBytes);
  EXPECT_TRUE(advertise.signature.empty());
  EXPECT_EQ((*client)->phase(), ClientPhase::kShareKeys);
}

TEST(ClientAdvertiseKeysStateTest, SeededRandomnessReproducesTheMessage) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  auto run = [&] {
    SeededRandom random(42);
    auto client =
        SecAggClient::Create(config, config.client_ids[0], RandomInput(config, 1), random);
    return std::get<AdvertiseKeys>(*(*client)->Start());
  };
  EXPECT_EQ(run(), run());
}

TEST(ClientAdvertiseKeysStateTest, SignsTheKeysWhenGivenASigningKey) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  SeededRandom random(3);
  auto signing = crypto::GenerateEd25519KeyPair(random);
  ASSERT_TRUE(signing.ok());
  ClientOptions options;
  options.signing_key = &signing->secret_key;
  const uint64_t id = config.client_ids[2];
  auto client = SecAggClient::Create(config, id, RandomInput(config, 1), random, options);
  const auto advertise = std::get<AdvertiseKeys>(*(*client)->Start());
  auto signature = crypto::Ed25519Signature::FromBytes(advertise.signature);
  ASSERT_TRUE(signature.ok());
  EXPECT_TRUE(crypto::VerifyEd25519(signing->public_key,
                                    AdvertiseSignedBytes(config, id, advertise), *signature)
                  .ok());
  // Bound to the sender and the round: another id does not verify.
  EXPECT_FALSE(crypto::VerifyEd25519(signing->public_key,
                                     AdvertiseSignedBytes(config, id + 1, advertise), *signature)
                   .ok());
}

TEST(ClientAdvertiseKeysStateTest, StartTwiceIsFailedPrecondition) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  SeededRandom random(1);
  auto client = SecAggClient::Create(config, config.client_ids[0], RandomInput(config, 1), random);
  ASSERT_TRUE((*client)->Start().ok());
  EXPECT_EQ((*client)->Start().status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*client)->phase(), ClientPhase::kShareKeys);
}

TEST(ClientAdvertiseKeysStateTest, AServerMessageBeforeStartAborts) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  SeededRandom random(1);
  auto client = SecAggClient::Create(config, config.client_ids[0], RandomInput(config, 1), random);
  auto reply = (*client)->Handle(UnmaskRequest{});
  EXPECT_EQ(reply.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ((*client)->phase(), ClientPhase::kAborted);
  EXPECT_EQ((*client)->abort()->reason, ClientAbortReason::kWrongPhase);
  // After an abort it sends nothing, whatever arrives.
  EXPECT_FALSE((*client)->Handle(ShareKeysRequest{}).ok());
  EXPECT_FALSE((*client)->Start().ok());
}

TEST(ClientAdvertiseKeysStateTest, FailingRandomnessAbortsWithInternal) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  FailingRandom random;
  auto client = SecAggClient::Create(config, config.client_ids[0], RandomInput(config, 1), random);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->Start().status().code(), StatusCode::kUnavailable);
  EXPECT_EQ((*client)->abort()->reason, ClientAbortReason::kInternal);
}

TEST(ClientCreateTest, RefusesAClientThatIsNotSelected) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  SeededRandom random(1);
  EXPECT_EQ(SecAggClient::Create(config, 5, RandomInput(config, 1), random).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ClientCreateTest, RefusesInputsItCouldNotHonestlySend) {
  const RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  SeededRandom random(1);
  const uint64_t id = config.client_ids[0];
  auto expect_refused = [&](ClientInput input, const char* what) {
    EXPECT_EQ(SecAggClient::Create(config, id, std::move(input), random).status().code(),
              StatusCode::kInvalidArgument)
        << what;
  };
  ClientInput good = RandomInput(config, 1);
  ASSERT_TRUE(SecAggClient::Create(config, id, good, random).ok());
  ClientInput in = good;
  in.values.pop_back();
  expect_refused(in, "wrong length (row 6)");
  in = good;
  in.values[2] = uint64_t{1} << 32;
  expect_refused(in, "element >= modulus (row 7)");
  in = good;
  in.values[2] = (uint64_t{1} << 20) + 1;
  expect_refused(in, "magnitude above M");
  in = good;
  in.weight = 0;
  expect_refused(in, "weight 0 (row 20)");
  in = good;
  in.weight = config.max_weight + 1;
  expect_refused(in, "weight above max (row 20)");
}

TEST(ClientCreateTest, RefusesABadConfig) {
  RoundConfig config = MakeConfig(4, 3, DenseSupport(8));
  SeededRandom random(1);
  const ClientInput input = RandomInput(config, 1);
  config.threshold = 5;  // > n (row 25)
  EXPECT_EQ(SecAggClient::Create(config, config.client_ids[0], input, random).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::secagg
