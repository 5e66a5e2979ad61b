// Envelopes in frames and identity binding (sotto/net/envelope_codec.h): BAD_INPUTS rows 1, 3
// and 11 at the codec level.

#include "sotto/net/envelope_codec.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "net_test_util.h"

namespace sotto::net {
namespace {

// One envelope of every body type.
std::vector<proto::Envelope> EveryBody() {
  std::vector<proto::Envelope> all;
  auto add = [&all](auto fill) {
    proto::Envelope envelope;
    envelope.set_protocol_version(kProtocolVersion);
    envelope.set_run_id(9);
    envelope.set_round_id(4);
    envelope.set_sequence(all.size() + 1);
    fill(envelope);
    all.push_back(envelope);
  };
  add([](proto::Envelope& e) { e.mutable_hello()->set_client_id("alice"); });
  add([](proto::Envelope& e) { e.mutable_welcome()->mutable_accepted()->set_run_id(9); });
  add([](proto::Envelope& e) { e.mutable_heartbeat()->set_nonce(1); });
  add([](proto::Envelope& e) { e.mutable_error()->set_message("no"); });
  add([](proto::Envelope& e) {
    e.mutable_round_start()->set_round(4);
    e.mutable_round_start()->mutable_parameters()->set_dimension(1);
    e.mutable_round_start()->mutable_parameters()->set_fp32_le(std::string(4, '\0'));
  });
  add([](proto::Envelope& e) {
    e.mutable_round_end()->set_outcome(proto::ROUND_OUTCOME_COMPLETED);
  });
  add([](proto::Envelope& e) {
    e.mutable_update()->set_sparse("\x01\x00\x00\x05\x00");
    e.mutable_update()->set_weight(3.0);
  });
  add([](proto::Envelope& e) {
    e.mutable_advertise_keys()->set_mask_public_key(std::string(32, 'k'));
  });
  add([](proto::Envelope& e) { e.mutable_share_keys_request()->add_peers()->set_id(2); });
  add([](proto::Envelope& e) { e.mutable_share_keys_response()->add_shares()->set_peer_id(2); });
  add([](proto::Envelope& e) { e.mutable_masked_input_request()->add_shares()->set_peer_id(3); });
  add([](proto::Envelope& e) { e.mutable_masked_input()->set_element_bytes(4); });
  add([](proto::Envelope& e) { e.mutable_unmask_request()->add_alive(5); });
  add([](proto::Envelope& e) {
    e.mutable_unmask_response()->add_mask_key_shares()->set_owner_id(6);
  });
  add([](proto::Envelope& e) { e.mutable_abort_round()->set_reason("too few"); });
  return all;
}

Frame Decode(const std::vector<uint8_t>& bytes) {
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  EXPECT_TRUE(decoder.Feed(bytes, frames).ok());
  EXPECT_EQ(frames.size(), 1u);
  return frames.empty() ? Frame{} : frames[0];
}

TEST(EnvelopeCodecTest, EveryBodyRoundTripsWithItsFieldNumberAsType) {
  const auto all = EveryBody();
  ASSERT_EQ(all.size(), size_t{kLastMessageType - kFirstMessageType + 1});
  for (const proto::Envelope& envelope : all) {
    auto type = MessageTypeOf(envelope);
    ASSERT_TRUE(type.ok());
    EXPECT_EQ(static_cast<int>(*type), envelope.body_case());
    auto bytes = EncodeEnvelopeFrame(envelope, FrameCaps::Default());
    ASSERT_TRUE(bytes.ok()) << bytes.status();
    EXPECT_EQ((*bytes)[1], envelope.body_case());
    const Frame frame = Decode(*bytes);
    auto decoded = DecodeEnvelopeFrame(frame);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->SerializeAsString(), envelope.SerializeAsString());
  }
}

TEST(EnvelopeCodecTest, RefusesAnEnvelopeWithoutBody) {
  proto::Envelope envelope;
  envelope.set_run_id(1);
  EXPECT_EQ(MessageTypeOf(envelope).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(EncodeEnvelopeFrame(envelope, FrameCaps::Default()).status().code(),
            StatusCode::kInvalidArgument);
  // A frame whose payload is an envelope without a body does not match any type.
  Frame frame{MessageType::kHeartbeat, {}};
  EXPECT_EQ(DecodeEnvelopeFrame(frame).status().code(), StatusCode::kInvalidArgument);
}

TEST(EnvelopeCodecTest, RefusesABodyThatIsNotTheFrameType) {
  const std::string payload = testing::Heartbeat(1).SerializeAsString();
  Frame frame{MessageType::kUpdate, std::vector<uint8_t>(payload.begin(), payload.end())};
  const Status status = DecodeEnvelopeFrame(frame).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("Update frame"), std::string_view::npos) << status;
}

TEST(EnvelopeCodecTest, RefusesMalformedPayloadsAndUnknownFields) {
  Frame garbage{MessageType::kHeartbeat, {0x92, 0x01, 0x7f, 0x00}};
  EXPECT_EQ(DecodeEnvelopeFrame(garbage).status().code(), StatusCode::kInvalidArgument);

  std::string payload = testing::Heartbeat(1).SerializeAsString();
  payload += std::string("\xa0\x06\x01", 3);  // field 100, varint: unknown to the schema
  Frame unknown{MessageType::kHeartbeat, std::vector<uint8_t>(payload.begin(), payload.end())};
  EXPECT_EQ(DecodeEnvelopeFrame(unknown).status().code(), StatusCode::kInvalidArgument);
}

TEST(EnvelopeCodecTest, EncodingRefusesOverCapAndUnacceptedTypes) {
  proto::Envelope hello = testing::Hello("alice");
  hello.mutable_hello()->set_software_version(std::string(5000, 'v'));  // Hello cap is 4 KiB
  EXPECT_EQ(EncodeEnvelopeFrame(hello, FrameCaps::Default()).status().code(),
            StatusCode::kResourceExhausted);
  // A client does not accept Hello.
  EXPECT_EQ(
      EncodeEnvelopeFrame(testing::Hello("alice"), FrameCaps::ServerToClient()).status().code(),
      StatusCode::kInvalidArgument);
}

TEST(BindPeerIdentityTest, StampsTheAuthenticatedIdentity) {
  proto::Envelope envelope = testing::Heartbeat(1);
  ASSERT_TRUE(BindPeerIdentity("alice", &envelope).ok());
  EXPECT_EQ(envelope.sender_id(), "alice");
  // Claiming one's own identity is fine.
  proto::Envelope own = testing::Heartbeat(2, "alice");
  EXPECT_TRUE(BindPeerIdentity("alice", &own).ok());
  proto::Envelope hello = testing::Hello("alice");
  EXPECT_TRUE(BindPeerIdentity("alice", &hello).ok());
  EXPECT_EQ(hello.sender_id(), "alice");
}

TEST(BindPeerIdentityTest, RefusesAClaimOfAnotherIdentity) {
  proto::Envelope envelope = testing::Heartbeat(1, "bob");
  const Status status = BindPeerIdentity("alice", &envelope);
  EXPECT_EQ(status.code(), StatusCode::kUnauthenticated);
  EXPECT_NE(status.message().find("\"bob\""), std::string_view::npos) << status;
  EXPECT_EQ(envelope.sender_id(), "bob");  // not stamped

  proto::Envelope hello = testing::Hello("bob");
  EXPECT_EQ(BindPeerIdentity("alice", &hello).code(), StatusCode::kUnauthenticated);
  proto::Envelope anonymous_hello = testing::Hello("");
  EXPECT_EQ(BindPeerIdentity("alice", &anonymous_hello).code(), StatusCode::kUnauthenticated);

  // A malformed claim is not echoed into the error (it is untrusted text).
  proto::Envelope weird = testing::Heartbeat(1, "bob\nINFO fake log line");
  const Status weird_status = BindPeerIdentity("alice", &weird);
  EXPECT_EQ(weird_status.code(), StatusCode::kUnauthenticated);
  EXPECT_EQ(weird_status.message().find("fake"), std::string_view::npos) << weird_status;
}

TEST(ValidatePeerIdTest, AcceptsOnlyPlainNames) {
  for (const char* good : {"alice", "client-0042", "hospital.eu_7", "A", "127.0.0.1"}) {
    EXPECT_TRUE(ValidatePeerId(good).ok()) << good;
  }
  for (const std::string& bad :
       {std::string(), std::string("a b"), std::string("a/b"), std::string("ali\0ce", 6),
        std::string(129, 'a'), std::string("caf\xc3\xa9")}) {
    EXPECT_EQ(ValidatePeerId(bad).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(ValidatePeerId(std::string(128, 'a')).ok());
}

}  // namespace
}  // namespace sotto::net
