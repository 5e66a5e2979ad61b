// Conversions between core/secagg's structs and the protobuf messages
// (sotto/proto/secagg_convert.h): round trips through serialized bytes, and every length and
// count the converters refuse.

#include "sotto/proto/secagg_convert.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "sotto/base/random.h"
#include "sotto/crypto/key_agreement.h"
#include "sotto/crypto/shamir.h"
#include "sotto/crypto/signature.h"
#include "sotto/proto/parse.h"

namespace sotto::proto {
namespace {

constexpr uint64_t kSeed = 20240611;

std::vector<uint8_t> RandomBytes(Prng& prng, size_t n) {
  std::vector<uint8_t> out(n);
  for (auto& b : out) {
    b = static_cast<uint8_t>(prng.Next());
  }
  return out;
}

// Through the wire: serialize, parse strictly, convert back.
template <typename Message>
Message ThroughBytes(const Message& message) {
  const std::string bytes = message.SerializeAsString();
  Message parsed;
  const Status status = ParseStrict(std::vector<uint8_t>(bytes.begin(), bytes.end()), &parsed);
  EXPECT_TRUE(status.ok()) << status;
  return parsed;
}

class SecAggConvertTest : public ::testing::Test {
 protected:
  void SetUp() override { std::printf("seed %llu\n", static_cast<unsigned long long>(kSeed)); }
  Prng prng_{kSeed};
};

TEST_F(SecAggConvertTest, AdvertiseKeysRoundTrips) {
  for (bool signed_keys : {false, true}) {
    secagg::AdvertiseKeys keys;
    keys.mask_public_key = RandomBytes(prng_, crypto::kX25519PublicKeyBytes);
    keys.encryption_public_key = RandomBytes(prng_, crypto::kX25519PublicKeyBytes);
    keys.seed_commitment = RandomBytes(prng_, secagg::kSeedCommitmentBytes);
    if (signed_keys) {
      keys.signature = RandomBytes(prng_, crypto::kEd25519SignatureBytes);
    }
    AdvertiseKeys message;
    ToProto(keys, &message);
    auto back = FromProto(ThroughBytes(message));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, keys);
  }
}

TEST_F(SecAggConvertTest, AdvertiseKeysRefusesWrongLengths) {
  secagg::AdvertiseKeys good;
  good.mask_public_key = RandomBytes(prng_, 32);
  good.encryption_public_key = RandomBytes(prng_, 32);
  good.seed_commitment = RandomBytes(prng_, 32);
  auto refuse = [&](secagg::AdvertiseKeys keys, const char* field) {
    AdvertiseKeys message;
    ToProto(keys, &message);
    const Status status = FromProto(message).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << field;
    EXPECT_NE(status.message().find(field), std::string_view::npos) << status;
  };
  secagg::AdvertiseKeys bad = good;
  bad.mask_public_key.clear();
  refuse(bad, "mask_public_key");
  bad = good;
  bad.encryption_public_key.push_back(0);
  refuse(bad, "encryption_public_key");
  bad = good;
  bad.seed_commitment.resize(31);
  refuse(bad, "seed_commitment");
  bad = good;
  bad.signature.resize(63);
  refuse(bad, "signature");
}

TEST_F(SecAggConvertTest, ShareMessagesRoundTrip) {
  secagg::ShareKeysResponse response;
  secagg::MaskedInputRequest request;
  for (uint64_t peer : {3u, 9u, 1000u}) {
    response.shares.push_back({peer, RandomBytes(prng_, secagg::kShareCiphertextBytes)});
    request.shares.push_back({peer + 1, RandomBytes(prng_, secagg::kShareCiphertextBytes)});
  }
  ShareKeysResponse response_message;
  ToProto(response, &response_message);
  auto response_back = FromProto(ThroughBytes(response_message));
  ASSERT_TRUE(response_back.ok()) << response_back.status();
  EXPECT_EQ(*response_back, response);

  MaskedInputRequest request_message;
  ToProto(request, &request_message);
  auto request_back = FromProto(ThroughBytes(request_message));
  ASSERT_TRUE(request_back.ok()) << request_back.status();
  EXPECT_EQ(*request_back, request);

  // An empty list is a valid message (a client without neighbours left).
  EXPECT_TRUE(FromProto(ShareKeysResponse()).ok());
}

TEST_F(SecAggConvertTest, ShareMessagesRefuseWrongCiphertextLength) {
  ShareKeysResponse message;
  EncryptedShares* share = message.add_shares();
  share->set_peer_id(1);
  share->set_ciphertext(std::string(secagg::kShareCiphertextBytes - 1, 'x'));
  EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument);
  MaskedInputRequest request;
  request.add_shares()->set_ciphertext(std::string(secagg::kShareCiphertextBytes + 1, 'x'));
  EXPECT_EQ(FromProto(request).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SecAggConvertTest, ShareKeysRequestRoundTripsAndRefusesBadKeys) {
  secagg::ShareKeysRequest request;
  for (uint64_t id : {1u, 2u, 5u}) {
    request.peers.push_back({id, RandomBytes(prng_, 32), RandomBytes(prng_, 32)});
  }
  ShareKeysRequest message;
  ToProto(request, &message);
  auto back = FromProto(ThroughBytes(message));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, request);

  message.mutable_peers(1)->set_mask_public_key("short");
  EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument);
  ToProto(request, &message);
  message.mutable_peers(2)->clear_encryption_public_key();
  EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SecAggConvertTest, MaskedInputRoundTripsInBothWidths) {
  secagg::MaskedInput narrow;
  for (int i = 0; i < 17; ++i) {
    narrow.values.push_back(prng_.Next() & 0xffffffffu);
  }
  narrow.weight = 12;
  MaskedInput message;
  ToProto(narrow, &message);
  EXPECT_EQ(message.element_bytes(), 4u);
  EXPECT_EQ(message.values().size(), 17u * 4);
  auto back = FromProto(ThroughBytes(message));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, narrow);

  secagg::MaskedInput wide = narrow;
  wide.values[3] = prng_.Next() | (uint64_t{1} << 63);
  ToProto(wide, &message);
  EXPECT_EQ(message.element_bytes(), 8u);
  back = FromProto(ThroughBytes(message));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, wide);

  secagg::MaskedInput empty;
  ToProto(empty, &message);
  back = FromProto(message);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, empty);
}

TEST_F(SecAggConvertTest, MaskedInputRefusesBadLayouts) {
  MaskedInput message;
  message.set_element_bytes(4);
  message.set_values(std::string(7, '\0'));  // not a whole number of elements
  EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument);
  for (uint32_t width : {0u, 1u, 2u, 3u, 5u, 16u}) {
    message.set_element_bytes(width);
    message.set_values(std::string(48, '\0'));
    EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument) << width;
  }
}

TEST_F(SecAggConvertTest, UnmaskMessagesRoundTrip) {
  secagg::UnmaskRequest request{{1, 4, 9}, {2, 7}};
  UnmaskRequest request_message;
  ToProto(request, &request_message);
  auto request_back = FromProto(ThroughBytes(request_message));
  ASSERT_TRUE(request_back.ok());
  EXPECT_EQ(*request_back, request);

  secagg::UnmaskResponse response;
  for (uint64_t owner : {1u, 4u}) {
    response.self_mask_seed_shares.push_back(
        {owner, crypto::SecretBytes::CopyFrom(RandomBytes(prng_, crypto::kShamirShareBytes))});
  }
  response.mask_key_shares.push_back(
      {7, crypto::SecretBytes::CopyFrom(RandomBytes(prng_, crypto::kShamirShareBytes))});
  UnmaskResponse response_message;
  ToProto(response, &response_message);
  auto response_back = FromProto(ThroughBytes(response_message));
  ASSERT_TRUE(response_back.ok()) << response_back.status();
  EXPECT_EQ(*response_back, response);

  response_message.mutable_mask_key_shares(0)->set_value(std::string(47, 'x'));
  EXPECT_EQ(FromProto(response_message).status().code(), StatusCode::kInvalidArgument);
}

TEST_F(SecAggConvertTest, WipeSecretsZeroesRevealedShares) {
  secagg::UnmaskResponse response;
  response.self_mask_seed_shares.push_back(
      {1, crypto::SecretBytes::CopyFrom(RandomBytes(prng_, crypto::kShamirShareBytes))});
  response.mask_key_shares.push_back(
      {2, crypto::SecretBytes::CopyFrom(RandomBytes(prng_, crypto::kShamirShareBytes))});
  Envelope envelope;
  ClientMessageToEnvelope(secagg::ClientMessage(secagg::Clone(response)), &envelope);
  ASSERT_TRUE(envelope.has_unmask_response());
  WipeSecrets(&envelope);
  const std::string zeros(crypto::kShamirShareBytes, '\0');
  EXPECT_EQ(envelope.unmask_response().self_mask_seed_shares(0).value(), zeros);
  EXPECT_EQ(envelope.unmask_response().mask_key_shares(0).value(), zeros);
}

TEST_F(SecAggConvertTest, AbortRoundRoundTrips) {
  AbortRound message;
  ToProto(secagg::AbortRound{"too few survivors"}, &message);
  auto back = FromProto(ThroughBytes(message));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->reason, "too few survivors");
}

secagg::RoundConfig SampleConfig(bool dense) {
  secagg::RoundConfig config;
  config.run_id = 77;
  config.round_id = 5;
  config.client_ids = {1000, 1007, 1014, 1021, 1028};
  config.threshold = 3;
  config.fixed_point.clip = 1.0;
  config.fixed_point.scale = double(1 << 20);
  config.fixed_point.max_clients = 5;
  config.fixed_point.ring = crypto::Ring::kRing32;
  config.max_weight = 1000;
  if (dense) {
    config.support = *secagg::Support::Dense(64);
    config.support_policy = secagg::SupportPolicy::kDense;
  } else {
    config.support = *secagg::Support::Sparse(1 << 20, {1, 7, 8, 99999});
    config.support_policy = secagg::SupportPolicy::kSharedRandom;
    config.mask_indexing = secagg::MaskIndexing::kSupportPosition;
  }
  return config;
}

TEST_F(SecAggConvertTest, RoundConfigRoundTrips) {
  for (bool dense : {true, false}) {
    const secagg::RoundConfig config = SampleConfig(dense);
    ASSERT_TRUE(secagg::ValidateRoundConfig(config).ok());
    SecAggRoundConfig message;
    ToProto(config, &message);
    auto back = FromProto(ThroughBytes(message));
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->client_ids, config.client_ids);
    EXPECT_EQ(back->threshold, config.threshold);
    EXPECT_EQ(back->support, config.support);
    EXPECT_EQ(back->support_policy, config.support_policy);
    EXPECT_EQ(back->mask_indexing, config.mask_indexing);
    EXPECT_EQ(back->fixed_point.ring, config.fixed_point.ring);
    EXPECT_EQ(back->fixed_point.scale, config.fixed_point.scale);
    EXPECT_EQ(back->max_weight, config.max_weight);
  }
}

TEST_F(SecAggConvertTest, RoundConfigRefusesWhatValidationRefuses) {
  SecAggRoundConfig good;
  ToProto(SampleConfig(false), &good);
  auto refuse = [](const SecAggRoundConfig& message, const char* what) {
    EXPECT_EQ(FromProto(message).status().code(), StatusCode::kInvalidArgument) << what;
  };
  SecAggRoundConfig bad = good;
  bad.mutable_fixed_point()->set_ring_bits(48);
  refuse(bad, "ring bits");
  bad = good;
  bad.set_support_policy(SUPPORT_POLICY_UNSPECIFIED);
  refuse(bad, "policy");
  bad = good;
  bad.set_mask_indexing(static_cast<MaskIndexing>(99));
  refuse(bad, "indexing");
  bad = good;
  bad.mutable_support()->set_indices(1, 0);  // not ascending
  refuse(bad, "unsorted support");
  bad = good;
  bad.mutable_support()->set_dense(true);  // dense but lists indices
  refuse(bad, "dense with indices");
  bad = good;
  bad.set_threshold(6);  // t > n
  refuse(bad, "threshold");
  bad = good;
  bad.add_client_ids(1000);  // duplicate id
  refuse(bad, "duplicate id");
}

TEST_F(SecAggConvertTest, EnvelopeDispatchByDirection) {
  secagg::MaskedInput input{{1, 2, 3}, 4};
  Envelope envelope;
  ClientMessageToEnvelope(secagg::ClientMessage(input), &envelope);
  EXPECT_EQ(envelope.phase(), PHASE_MASKED_INPUT);
  auto client = ClientMessageFromEnvelope(envelope);
  ASSERT_TRUE(client.ok());
  EXPECT_EQ(std::get<secagg::MaskedInput>(*client), input);
  // A client message is not a server message, and an envelope without a secagg body is neither.
  EXPECT_EQ(ServerMessageFromEnvelope(envelope).status().code(), StatusCode::kInvalidArgument);
  Envelope hello;
  hello.mutable_hello()->set_client_id("alice");
  EXPECT_EQ(ClientMessageFromEnvelope(hello).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ServerMessageFromEnvelope(Envelope()).status().code(), StatusCode::kInvalidArgument);

  secagg::UnmaskRequest request{{5}, {6}};
  Envelope server_envelope;
  ServerMessageToEnvelope(secagg::ServerMessage(request), &server_envelope);
  EXPECT_EQ(server_envelope.phase(), PHASE_UNMASK);
  auto server = ServerMessageFromEnvelope(server_envelope);
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(std::get<secagg::UnmaskRequest>(*server), request);
}

}  // namespace
}  // namespace sotto::proto
