// Envelopes in frames and identity binding (sotto/net/envelope_codec.h): BAD_INPUTS rows 1, 3
// and 11 at the codec level.

#include "sotto/net/envelope_codec.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <span>
#include <string>
#include <string_view>
#include <utility>
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
  return frames.empty() ? Frame{} : std::move(frames[0]);
}

Frame MakeFrame(MessageType type, std::string_view bytes) {
  return Frame{type, FramePayload(std::span<const uint8_t>(
                         reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size()))};
}

// A RoundStart whose model is `floats` parameters (a large frame: its payload arrives in
// several pieces).
proto::Envelope LargeRoundStart(size_t floats) {
  proto::Envelope envelope;
  envelope.set_protocol_version(kProtocolVersion);
  envelope.set_run_id(77);
  envelope.set_round_id(3);
  envelope.set_phase(proto::PHASE_TRAIN);
  envelope.set_sequence(12);
  proto::RoundStart* start = envelope.mutable_round_start();
  start->set_round(3);
  start->mutable_parameters()->set_dimension(floats);
  std::string bytes(4 * floats, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    bytes[i] = static_cast<char>(i * 131 + (i >> 9));
  }
  start->mutable_parameters()->set_fp32_le(std::move(bytes));
  return envelope;
}

// `envelope` split into its header fields and its body alone.
std::pair<proto::Envelope, proto::Envelope> Split(const proto::Envelope& envelope) {
  proto::Envelope header = envelope;
  header.clear_body();
  proto::Envelope body = envelope;
  body.clear_protocol_version();
  body.clear_run_id();
  body.clear_round_id();
  body.clear_phase();
  body.clear_sequence();
  body.clear_sender_id();
  return {header, body};
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
  Frame frame{MessageType::kHeartbeat, FramePayload()};
  EXPECT_EQ(DecodeEnvelopeFrame(frame).status().code(), StatusCode::kInvalidArgument);
}

TEST(EnvelopeCodecTest, RefusesABodyThatIsNotTheFrameType) {
  const std::string payload = testing::Heartbeat(1).SerializeAsString();
  const Frame frame = MakeFrame(MessageType::kUpdate, payload);
  const Status status = DecodeEnvelopeFrame(frame).status();
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("Update frame"), std::string_view::npos) << status;
}

TEST(EnvelopeCodecTest, RefusesMalformedPayloadsAndUnknownFields) {
  const Frame garbage = MakeFrame(MessageType::kHeartbeat, std::string("\x92\x01\x7f\x00", 4));
  EXPECT_EQ(DecodeEnvelopeFrame(garbage).status().code(), StatusCode::kInvalidArgument);

  std::string payload = testing::Heartbeat(1).SerializeAsString();
  payload += std::string("\xa0\x06\x01", 3);  // field 100, varint: unknown to the schema
  const Frame unknown = MakeFrame(MessageType::kHeartbeat, payload);
  EXPECT_EQ(DecodeEnvelopeFrame(unknown).status().code(), StatusCode::kInvalidArgument);
}

TEST(EnvelopeCodecTest, DecodesAPayloadThatArrivedInManyPieces) {
  const proto::Envelope envelope = LargeRoundStart(300'000);  // 1.2 MB
  auto bytes = EncodeEnvelopeFrame(envelope, FrameCaps::Default());
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  for (size_t at = 0; at < bytes->size(); at += 16 * 1024) {
    const size_t n = std::min<size_t>(16 * 1024, bytes->size() - at);
    ASSERT_TRUE(decoder.Feed(std::span<const uint8_t>(bytes->data() + at, n), frames).ok());
  }
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_GT(frames[0].payload.piece_count(), 3u);
  auto decoded = DecodeEnvelopeFrame(frames[0]);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_EQ(decoded->SerializeAsString(), envelope.SerializeAsString());
}

TEST(EnvelopeCodecTest, RefusesMalformedAndUnknownFieldsAcrossPieces) {
  // The same strictness as for a payload in one piece: a field unknown to the schema at the
  // end, or a payload cut short, across many pieces.
  std::string payload = LargeRoundStart(100'000).SerializeAsString();
  auto decode_in_pieces = [](MessageType type, const std::string& bytes) {
    std::vector<uint8_t> frame(kFrameHeaderBytes);
    EncodeFrameHeader({type, static_cast<uint32_t>(bytes.size())},
                      std::span<uint8_t, kFrameHeaderBytes>(frame.data(), kFrameHeaderBytes));
    frame.insert(frame.end(), bytes.begin(), bytes.end());
    FrameDecoder decoder(FrameCaps::Default());
    std::vector<Frame> frames;
    for (size_t at = 0; at < frame.size(); at += 16 * 1024) {
      const size_t n = std::min<size_t>(16 * 1024, frame.size() - at);
      EXPECT_TRUE(decoder.Feed(std::span<const uint8_t>(frame.data() + at, n), frames).ok());
    }
    EXPECT_EQ(frames.size(), 1u);
    EXPECT_GT(frames[0].payload.piece_count(), 1u);
    return DecodeEnvelopeFrame(frames[0]).status();
  };
  EXPECT_TRUE(decode_in_pieces(MessageType::kRoundStart, payload).ok());
  EXPECT_EQ(
      decode_in_pieces(MessageType::kRoundStart, payload + std::string("\xa0\x06\x01", 3)).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(
      decode_in_pieces(MessageType::kRoundStart, payload.substr(0, payload.size() - 1)).code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(decode_in_pieces(MessageType::kUpdate, payload).code(), StatusCode::kInvalidArgument);
}

TEST(EncodedBodyTest, HeaderPlusBodyIsByteForByteTheWholeEnvelope) {
  std::vector<proto::Envelope> all = EveryBody();
  all.push_back(LargeRoundStart(200'000));
  proto::Envelope stamped = testing::Heartbeat(5, "alice");
  stamped.set_run_id(uint64_t{1} << 60);  // long varints in the header
  all.push_back(stamped);
  for (const proto::Envelope& envelope : all) {
    auto [header, body_only] = Split(envelope);
    auto body = EncodedBody::Create(body_only);
    ASSERT_TRUE(body.ok()) << body.status();
    EXPECT_EQ(static_cast<int>((*body)->type()), envelope.body_case());
    auto whole = EncodeEnvelopeFrame(envelope, FrameCaps::Default());
    auto shared = EncodeEnvelopeFrame(header, **body, FrameCaps::Default());
    ASSERT_TRUE(whole.ok()) << whole.status();
    ASSERT_TRUE(shared.ok()) << shared.status();
    EXPECT_EQ(*shared, *whole) << envelope.body_case();
    EXPECT_EQ(EncodedFrameBytes(header, **body), whole->size());
    // The body alone is the serialized body-only envelope.
    const std::string alone = body_only.SerializeAsString();
    EXPECT_EQ(std::string((*body)->bytes().begin(), (*body)->bytes().end()), alone);
  }
}

TEST(EncodedBodyTest, CreateTakesOnlyABody) {
  proto::Envelope none;
  EXPECT_EQ(EncodedBody::Create(none).status().code(), StatusCode::kInvalidArgument);
  // Header fields belong to each send, not to the shared body.
  for (auto set : std::vector<void (*)(proto::Envelope&)>{
           [](proto::Envelope& e) { e.set_run_id(1); },
           [](proto::Envelope& e) { e.set_sequence(1); },
           [](proto::Envelope& e) { e.set_sender_id("alice"); },
           [](proto::Envelope& e) { e.set_round_id(2); },
           [](proto::Envelope& e) { e.set_protocol_version(1); }}) {
    proto::Envelope envelope;
    envelope.mutable_heartbeat()->set_nonce(1);
    set(envelope);
    EXPECT_EQ(EncodedBody::Create(envelope).status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(EncodedBodyTest, EncodingChecksTheHeaderAndTheCapsOfTheWholeFrame) {
  FrameCaps caps;
  ASSERT_TRUE(caps.Set(MessageType::kHeartbeat, 64).ok());
  proto::Envelope body_only;
  body_only.mutable_heartbeat()->set_nonce(1);
  auto body = EncodedBody::Create(body_only);
  ASSERT_TRUE(body.ok());
  proto::Envelope header;
  header.set_sequence(1);
  EXPECT_TRUE(EncodeEnvelopeFrame(header, **body, caps).ok());
  // A header with a body of its own is a mistake.
  proto::Envelope with_body = testing::Heartbeat(2);
  EXPECT_EQ(EncodeEnvelopeFrame(with_body, **body, caps).status().code(),
            StatusCode::kInvalidArgument);
  // The cap is on header + body: a header that pushes the frame over it is refused.
  header.set_sender_id(std::string(64, 'a'));
  EXPECT_EQ(EncodeEnvelopeFrame(header, **body, caps).status().code(),
            StatusCode::kResourceExhausted);
  // A type the receiver does not take.
  EXPECT_EQ(EncodeEnvelopeFrame(proto::Envelope(), **body, FrameCaps()).status().code(),
            StatusCode::kInvalidArgument);
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
