// Fuzz target for what a connection does with untrusted bytes (sotto/net): the frame decoder,
// the envelope parser, identity binding, and the dispatch of secure-aggregation bodies to
// their converters (sotto/proto/secagg_convert.h).
//
// Input: the first byte chooses how the rest is cut before it reaches the decoder (values
// below 0x80: pieces of (byte % 16) + 1 bytes, as a slow network would deliver them; 0x80 and
// above: all at once); the rest is the byte stream a peer sent.
// Properties checked (anything else aborts):
//   - every outcome is a Status with a documented code: the decoder answers OK,
//     InvalidArgument or ResourceExhausted, and Unavailable at the end only mid-frame; the
//     envelope parser InvalidArgument; identity binding Unauthenticated; converters
//     InvalidArgument;
//   - an accepted envelope re-encodes and decodes to the same bytes;
//   - a converted secure-aggregation message converts back to an equal one;
//   - a second decoder that takes payload bytes the way the TLS transport does (read straight
//     into PayloadSpace(), committed with CommitPayload(); Feed() between payloads) yields the
//     same frames, byte for byte, and the same final status.
//
// Built as a libFuzzer binary when SOTTO_FUZZ=ON with clang, and always as the corpus-replay
// test fuzz_frame_corpus (tests/fuzz/corpus_main.cc).

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "sotto/base/check.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"
#include "sotto/proto/secagg_convert.h"

namespace sotto::net {
namespace {

constexpr char kPeer[] = "fuzz-client";

void CheckCode(const Status& status, std::initializer_list<StatusCode> allowed) {
  if (status.ok()) {
    return;
  }
  for (StatusCode code : allowed) {
    if (status.code() == code) {
      return;
    }
  }
  SOTTO_CHECK(false) << "unexpected status " << status;
}

void CheckRoundConfig(const proto::SecAggRoundConfig& message) {
  StatusOr<secagg::RoundConfig> config = proto::FromProto(message);
  CheckCode(config.status(), {StatusCode::kInvalidArgument});
  if (!config.ok()) {
    return;
  }
  proto::SecAggRoundConfig again;
  proto::ToProto(*config, &again);
  StatusOr<secagg::RoundConfig> back = proto::FromProto(again);
  SOTTO_CHECK(back.ok()) << back.status();
  SOTTO_CHECK(back->client_ids == config->client_ids);
  SOTTO_CHECK(back->support == config->support);
  SOTTO_CHECK(back->threshold == config->threshold && back->degree == config->degree);
  SOTTO_CHECK(back->support_policy == config->support_policy);
  SOTTO_CHECK(back->mask_indexing == config->mask_indexing);
}

// What a coordinator or a client would do with the envelope next.
void Dispatch(const proto::Envelope& envelope) {
  StatusOr<secagg::ClientMessage> client = proto::ClientMessageFromEnvelope(envelope);
  CheckCode(client.status(), {StatusCode::kInvalidArgument});
  if (client.ok()) {
    proto::Envelope again;
    proto::ClientMessageToEnvelope(*client, &again);
    StatusOr<secagg::ClientMessage> back = proto::ClientMessageFromEnvelope(again);
    SOTTO_CHECK(back.ok()) << back.status();
    SOTTO_CHECK(*back == *client) << secagg::MessageName(*client);
    proto::WipeSecrets(&again);
  }
  StatusOr<secagg::ServerMessage> server = proto::ServerMessageFromEnvelope(envelope);
  CheckCode(server.status(), {StatusCode::kInvalidArgument});
  if (server.ok()) {
    proto::Envelope again;
    proto::ServerMessageToEnvelope(*server, &again);
    StatusOr<secagg::ServerMessage> back = proto::ServerMessageFromEnvelope(again);
    SOTTO_CHECK(back.ok()) << back.status();
    SOTTO_CHECK(*back == *server) << secagg::MessageName(*server);
  }
  SOTTO_CHECK(!(client.ok() && server.ok()));
  if (envelope.has_round_start() && envelope.round_start().has_secure_aggregation()) {
    CheckRoundConfig(envelope.round_start().secure_aggregation());
  }
}

void HandleFrame(const Frame& frame) {
  StatusOr<proto::Envelope> envelope = DecodeEnvelopeFrame(frame);
  CheckCode(envelope.status(), {StatusCode::kInvalidArgument});
  if (!envelope.ok()) {
    return;
  }
  SOTTO_CHECK(envelope->body_case() == static_cast<int>(frame.type));
  const Status bound = BindPeerIdentity(kPeer, &*envelope);
  CheckCode(bound, {StatusCode::kUnauthenticated});
  if (!bound.ok()) {
    return;
  }
  SOTTO_CHECK(envelope->sender_id() == kPeer);

  // Re-encoding: the stamped id may push it over its cap; otherwise it must round-trip.
  StatusOr<std::vector<uint8_t>> bytes = EncodeEnvelopeFrame(*envelope, FrameCaps::Default());
  CheckCode(bytes.status(), {StatusCode::kResourceExhausted});
  if (bytes.ok()) {
    FrameDecoder decoder(FrameCaps::Default());
    std::vector<Frame> frames;
    SOTTO_CHECK_OK(decoder.Feed(*bytes, frames));
    SOTTO_CHECK(frames.size() == 1);
    StatusOr<proto::Envelope> again = DecodeEnvelopeFrame(frames[0]);
    SOTTO_CHECK(again.ok()) << again.status();
    SOTTO_CHECK(again->SerializeAsString() == envelope->SerializeAsString());
  }
  Dispatch(*envelope);
}

// The same stream through PayloadSpace/CommitPayload where a payload is in progress.
sotto::Status DecodeDirect(std::span<const uint8_t> stream, size_t piece,
                           std::vector<Frame>& frames) {
  FrameDecoder decoder(FrameCaps::Default());
  sotto::Status status;
  while (!stream.empty() && status.ok()) {
    std::span<uint8_t> space = decoder.PayloadSpace();
    if (!space.empty()) {
      const size_t n = std::min({space.size(), piece, stream.size()});
      std::copy_n(stream.begin(), n, space.begin());
      decoder.CommitPayload(n, frames);
      stream = stream.subspan(n);
      continue;
    }
    const size_t n = std::min(piece, stream.size());
    status = decoder.Feed(stream.first(n), frames);
    stream = stream.subspan(n);
  }
  return status.ok() ? decoder.Finish() : status;
}

}  // namespace
}  // namespace sotto::net

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace sotto::net;
  if (size == 0) {
    return 0;
  }
  const uint8_t mode = data[0];
  std::span<const uint8_t> stream(data + 1, size - 1);
  const size_t piece = mode < 0x80 ? (mode % 16) + 1 : std::max<size_t>(stream.size(), 1);

  const std::span<const uint8_t> all = stream;
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  std::vector<Frame> accepted;
  sotto::Status status;
  while (!stream.empty() && status.ok()) {
    const size_t n = std::min(piece, stream.size());
    frames.clear();
    status = decoder.Feed(stream.first(n), frames);
    CheckCode(status, {sotto::StatusCode::kInvalidArgument, sotto::StatusCode::kResourceExhausted});
    for (Frame& frame : frames) {
      HandleFrame(frame);
      accepted.push_back(std::move(frame));
    }
    stream = stream.subspan(n);
  }
  const sotto::Status end = decoder.Finish();
  if (status.ok()) {
    CheckCode(end, {sotto::StatusCode::kUnavailable});
    SOTTO_CHECK(end.ok() == !decoder.mid_frame());
  } else {
    SOTTO_CHECK(end == status);
  }

  std::vector<Frame> direct;
  const sotto::Status direct_end = DecodeDirect(all, piece, direct);
  SOTTO_CHECK(direct_end == end) << direct_end << " vs " << end;
  SOTTO_CHECK(direct.size() == accepted.size());
  for (size_t i = 0; i < direct.size(); ++i) {
    SOTTO_CHECK(direct[i].type == accepted[i].type);
    SOTTO_CHECK(direct[i].payload.ToVector() == accepted[i].payload.ToVector());
  }
  return 0;
}
