// The frame codec (sotto/net/frame.h): layout, caps per type, every malformed header, the cap
// checked before any allocation (BAD_INPUTS row 1; a child process with a capped address space
// proves that no claimed length is allocated up front), truncation (row 2), unknown types (row 3),
// and incremental decoding of arbitrarily split streams, fed or read straight into the
// decoder's pieces (whose size stays bounded by what arrived).

#include "sotto/net/frame.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <span>
#include <vector>

#include "sotto/base/random.h"

namespace sotto::net {
namespace {

std::vector<uint8_t> Header(uint8_t magic, uint8_t type, uint32_t length) {
  return {magic,
          type,
          static_cast<uint8_t>(length),
          static_cast<uint8_t>(length >> 8),
          static_cast<uint8_t>(length >> 16),
          static_cast<uint8_t>(length >> 24)};
}

std::vector<uint8_t> Payload(size_t n, uint8_t seed = 1) {
  std::vector<uint8_t> out(n);
  for (size_t i = 0; i < n; ++i) {
    out[i] = static_cast<uint8_t>(seed + 31 * i);
  }
  return out;
}

std::vector<uint8_t> MustEncode(MessageType type, const std::vector<uint8_t>& payload) {
  auto frame = EncodeFrame(type, payload, FrameCaps::Default());
  EXPECT_TRUE(frame.ok()) << frame.status();
  return *frame;
}

TEST(FrameLayoutTest, HeaderIsMagicTypeAndLittleEndianLength) {
  const auto frame = MustEncode(MessageType::kUpdate, Payload(0x0102));
  ASSERT_EQ(frame.size(), kFrameHeaderBytes + 0x0102);
  EXPECT_EQ(frame[0], kFrameMagicVersion);
  EXPECT_EQ(frame[1], 22);  // Update is Envelope field 22
  EXPECT_EQ(frame[2], 0x02);
  EXPECT_EQ(frame[3], 0x01);
  EXPECT_EQ(frame[4], 0x00);
  EXPECT_EQ(frame[5], 0x00);
}

TEST(FrameDecoderTest, DecodesOneFrame) {
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  const auto payload = Payload(100);
  ASSERT_TRUE(decoder.Feed(MustEncode(MessageType::kHello, payload), frames).ok());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].type, MessageType::kHello);
  EXPECT_EQ(frames[0].payload, payload);
  EXPECT_FALSE(decoder.mid_frame());
  EXPECT_TRUE(decoder.Finish().ok());
}

TEST(FrameDecoderTest, DecodesByteByByteAndTracksMidFrame) {
  std::vector<uint8_t> stream;
  for (int i = 0; i < 3; ++i) {
    const auto frame = MustEncode(MessageType::kHeartbeat, Payload(5 + i, i));
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  for (size_t i = 0; i < stream.size(); ++i) {
    ASSERT_TRUE(decoder.Feed({&stream[i], 1}, frames).ok());
    const bool at_boundary = frames.size() == 3 || decoder.buffered_bytes() == 0;
    if (i + 1 < stream.size()) {
      EXPECT_TRUE(decoder.mid_frame() || at_boundary) << i;
    }
  }
  ASSERT_EQ(frames.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(frames[i].payload, Payload(5 + i, i));
  }
  EXPECT_FALSE(decoder.mid_frame());
}

TEST(FrameDecoderTest, DecodesManyFramesInOneFeed) {
  std::vector<uint8_t> stream;
  for (int i = 0; i < 10; ++i) {
    const auto frame = MustEncode(MessageType::kMaskedInput, Payload(i * 7, i));
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  ASSERT_TRUE(decoder.Feed(stream, frames).ok());
  ASSERT_EQ(frames.size(), 10u);
  EXPECT_TRUE(frames[0].payload.empty());
  EXPECT_EQ(frames[9].payload, Payload(63, 9));
}

TEST(FrameDecoderTest, EmitsAnEmptyPayloadFrameAtOnce) {
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  ASSERT_TRUE(decoder.Feed(Header(kFrameMagicVersion, 18, 0), frames).ok());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload.empty());
  EXPECT_FALSE(decoder.mid_frame());
}

TEST(FrameDecoderTest, RandomSplitsGiveTheSameFrames) {
  const uint64_t seed = 0x5eed'f4a3;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  Prng prng(seed);
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> payloads;
  for (int i = 0; i < 50; ++i) {
    payloads.push_back(Payload(prng.UniformInt(3000), static_cast<uint8_t>(i)));
    const auto frame = MustEncode(MessageType::kUpdate, payloads.back());
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  for (int trial = 0; trial < 20; ++trial) {
    FrameDecoder decoder(FrameCaps::Default());
    std::vector<Frame> frames;
    size_t at = 0;
    while (at < stream.size()) {
      const size_t n = std::min<size_t>(stream.size() - at, 1 + prng.UniformInt(5000));
      ASSERT_TRUE(decoder.Feed({stream.data() + at, n}, frames).ok()) << "seed " << seed;
      at += n;
    }
    ASSERT_EQ(frames.size(), payloads.size()) << "seed " << seed;
    for (size_t i = 0; i < frames.size(); ++i) {
      EXPECT_EQ(frames[i].payload, payloads[i]) << "seed " << seed << " frame " << i;
    }
    EXPECT_TRUE(decoder.Finish().ok());
  }
}

// What the decoder may hold for a frame whose payload has `received` bytes so far.
size_t ReserveBound(size_t received) { return 2 * received + 64 * 1024; }

TEST(FrameDecoderTest, LargePayloadsGrowInPiecesBoundedByWhatArrived) {
  const auto payload = Payload(1'500'000, 9);
  const auto frame = MustEncode(MessageType::kRoundStart, payload);
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  for (size_t at = 0; at < frame.size(); at += 4000) {
    const size_t n = std::min<size_t>(4000, frame.size() - at);
    ASSERT_TRUE(decoder.Feed({frame.data() + at, n}, frames).ok());
    if (frames.empty()) {
      EXPECT_LE(decoder.reserved_bytes(), ReserveBound(decoder.buffered_bytes())) << at;
      EXPECT_GE(decoder.reserved_bytes(), decoder.buffered_bytes());
    }
  }
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, payload);
  EXPECT_EQ(frames[0].payload.ToVector(), payload);
  // Each piece is at most as large as what came before it (or 64 KiB); none is empty.
  const FramePayload& pieces = frames[0].payload;
  ASSERT_GT(pieces.piece_count(), 1u);
  size_t before = 0;
  for (size_t i = 0; i < pieces.piece_count(); ++i) {
    EXPECT_GT(pieces.piece(i).size(), 0u);
    EXPECT_LE(pieces.piece(i).size(), std::max<size_t>(before, 64 * 1024)) << i;
    before += pieces.piece(i).size();
  }
  EXPECT_EQ(decoder.reserved_bytes(), 0u);  // nothing held between frames
}

TEST(FrameDecoderTest, AFrameFedWholeIsHeldInOnePiece) {
  // What arrives in one Feed has arrived: the decoder may hold it in one piece.
  const auto payload = Payload(700'000, 4);
  const auto frame = MustEncode(MessageType::kUpdate, payload);
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  ASSERT_TRUE(decoder.Feed(frame, frames).ok());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload.piece_count(), 1u);
  EXPECT_EQ(frames[0].payload, payload);
}

TEST(FrameDecoderTest, PayloadSpaceTakesReadsStraightIntoThePayload) {
  const uint64_t seed = 0x5eed'0d1c;
  std::printf("seed %llu\n", static_cast<unsigned long long>(seed));
  Prng prng(seed);
  // Frames of assorted sizes, back to back, as a transport would read them: into its own
  // buffer outside a payload, straight into the decoder inside one.
  std::vector<uint8_t> stream;
  std::vector<std::vector<uint8_t>> payloads;
  for (int i = 0; i < 12; ++i) {
    const size_t n = i % 3 == 0 ? 0 : prng.UniformInt(i % 2 == 0 ? 300'000 : 500);
    payloads.push_back(Payload(n, static_cast<uint8_t>(i)));
    const auto frame = MustEncode(MessageType::kUpdate, payloads.back());
    stream.insert(stream.end(), frame.begin(), frame.end());
  }
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  size_t at = 0;
  size_t direct = 0;
  while (at < stream.size()) {
    const size_t want = 1 + prng.UniformInt(20'000);
    const std::span<uint8_t> space = decoder.PayloadSpace();
    if (space.empty()) {
      const size_t n = std::min(want, stream.size() - at);
      ASSERT_TRUE(decoder.Feed({stream.data() + at, n}, frames).ok()) << "seed " << seed;
      at += n;
      continue;
    }
    // Never more room than the frame still misses: a read cannot run into the next frame.
    EXPECT_LE(decoder.buffered_bytes() + space.size(), payloads[frames.size()].size());
    EXPECT_LE(decoder.reserved_bytes(), ReserveBound(decoder.buffered_bytes()));
    const size_t n = std::min({want, space.size(), stream.size() - at});
    std::memcpy(space.data(), stream.data() + at, n);
    decoder.CommitPayload(n, frames);
    at += n;
    direct += n;
  }
  ASSERT_EQ(frames.size(), payloads.size()) << "seed " << seed;
  for (size_t i = 0; i < frames.size(); ++i) {
    EXPECT_EQ(frames[i].payload, payloads[i]) << "seed " << seed << " frame " << i;
  }
  EXPECT_GT(direct, stream.size() / 2);
  EXPECT_TRUE(decoder.Finish().ok());
  EXPECT_TRUE(decoder.PayloadSpace().empty());  // between frames
}

TEST(FrameDecoderTest, PayloadSpaceIsEmptyOutsideAPayloadAndAfterAnError) {
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  EXPECT_TRUE(decoder.PayloadSpace().empty());
  ASSERT_TRUE(decoder.Feed(std::vector<uint8_t>{kFrameMagicVersion, 22, 10}, frames).ok());
  EXPECT_TRUE(decoder.PayloadSpace().empty());  // inside the header
  ASSERT_TRUE(decoder.Feed(std::vector<uint8_t>{0, 0, 0}, frames).ok());
  const std::span<uint8_t> space = decoder.PayloadSpace();
  ASSERT_EQ(space.size(), 10u);  // exactly the payload, however large a piece would be
  EXPECT_EQ(decoder.reserved_bytes(), 10u);
  decoder.CommitPayload(0, frames);
  EXPECT_TRUE(frames.empty());

  FrameDecoder failed(FrameCaps::Default());
  EXPECT_FALSE(failed.Feed(Header(0x00, 22, 10), frames).ok());
  EXPECT_TRUE(failed.PayloadSpace().empty());
}

TEST(FramePayloadTest, CopiesComparesAndFlattens) {
  const auto bytes = Payload(100, 3);
  FramePayload payload(bytes);
  EXPECT_EQ(payload.size(), 100u);
  EXPECT_EQ(payload.piece_count(), 1u);
  FramePayload copy = payload;
  EXPECT_EQ(copy, bytes);
  EXPECT_EQ(copy.ToVector(), bytes);
  auto other = bytes;
  other[99] ^= 1;
  EXPECT_FALSE(copy == other);
  EXPECT_FALSE(copy == Payload(99, 3));
  FramePayload empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.piece_count(), 0u);
  EXPECT_EQ(FramePayload(std::vector<uint8_t>()).piece_count(), 0u);
}

TEST(FrameDecoderTest, RefusesBadMagicAndStaysFailed) {
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  for (uint8_t magic : {0x00, 0xA0, 0xA2, 0xB1, 0x16 /* a TLS record */, 0x47 /* "GET" */}) {
    FrameDecoder fresh(FrameCaps::Default());
    const Status status = fresh.Feed(Header(magic, 18, 1), frames);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << int(magic);
    EXPECT_TRUE(fresh.failed());
  }
  ASSERT_EQ(decoder.Feed(Header(0x00, 18, 0), frames).code(), StatusCode::kInvalidArgument);
  // Sticky: a good frame afterwards is not decoded, and Finish reports the error.
  EXPECT_EQ(decoder.Feed(MustEncode(MessageType::kHeartbeat, {}), frames).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(decoder.Finish().code(), StatusCode::kInvalidArgument);
}

TEST(FrameDecoderTest, RefusesUnknownTypes) {
  for (int type : {0, 1, 15, 31, 64, 255}) {
    FrameDecoder decoder(FrameCaps::Default());
    std::vector<Frame> frames;
    const Status status = decoder.Feed(Header(kFrameMagicVersion, type, 4), frames);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << type;
    EXPECT_NE(status.message().find("unknown message type"), std::string_view::npos) << status;
  }
}

TEST(FrameDecoderTest, RefusesTypesNotAcceptedOnThisSide) {
  // A coordinator accepts no RoundStart; a client no Hello.
  FrameDecoder server(FrameCaps::ClientToServer());
  FrameDecoder client(FrameCaps::ServerToClient());
  std::vector<Frame> frames;
  EXPECT_EQ(server.Feed(Header(kFrameMagicVersion, 20, 1), frames).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(client.Feed(Header(kFrameMagicVersion, 16, 1), frames).code(),
            StatusCode::kInvalidArgument);
}

TEST(FrameDecoderTest, RefusesOverCapLengthAndAcceptsTheCapItself) {
  FrameCaps caps;
  ASSERT_TRUE(caps.Set(MessageType::kHello, 100).ok());
  std::vector<Frame> frames;
  FrameDecoder at_cap(caps);
  ASSERT_TRUE(at_cap.Feed(Header(kFrameMagicVersion, 16, 100), frames).ok());
  EXPECT_TRUE(at_cap.mid_frame());
  FrameDecoder over_cap(caps);
  const Status status = over_cap.Feed(Header(kFrameMagicVersion, 16, 101), frames);
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(over_cap.reserved_bytes(), 0u);
}

TEST(FrameDecoderTest, AHeaderClaiming4GiBAllocatesNothingForIt) {
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  const auto header = Header(kFrameMagicVersion, 22, 0xFFFFFFFFu);
  const Status status = decoder.Feed(header, frames);
  EXPECT_EQ(status.code(), StatusCode::kResourceExhausted) << status;
  EXPECT_EQ(decoder.reserved_bytes(), 0u);
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SOTTO_NET_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SOTTO_NET_TEST_SANITIZED 1
#endif
#endif

#ifndef SOTTO_NET_TEST_SANITIZED
// Runs in a child process whose address space has only 256 MiB of room left: a 4 GiB claim
// and a 512 MiB (allowed) claim must both be handled without allocating the claimed length
// (an up-front allocation throws std::bad_alloc and kills the child). Exits 0 on success.
[[noreturn]] void DecodeClaimsInACappedAddressSpace() {
  long pages = 0;
  if (FILE* statm = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(statm, "%ld", &pages) != 1) {
      pages = 0;
    }
    std::fclose(statm);
  }
  const rlim_t room =
      static_cast<rlim_t>(pages) * static_cast<rlim_t>(sysconf(_SC_PAGESIZE)) + (rlim_t{256} << 20);
  const struct rlimit limit = {room, room};
  if (pages == 0 || setrlimit(RLIMIT_AS, &limit) != 0) {
    std::_Exit(2);
  }
  std::vector<Frame> frames;
  FrameDecoder huge(FrameCaps::Default());
  if (huge.Feed(Header(kFrameMagicVersion, 22, 0xFFFFFFFFu), frames).code() !=
      StatusCode::kResourceExhausted) {
    std::_Exit(3);
  }
  FrameDecoder allowed(FrameCaps::Default());
  auto bytes = Header(kFrameMagicVersion, 20, 512u << 20);  // RoundStart's default cap
  bytes.resize(bytes.size() + 1000, 7);
  if (!allowed.Feed(bytes, frames).ok() || allowed.buffered_bytes() != 1000) {
    std::_Exit(4);
  }
  // Reading straight into the decoder: the room it offers stays bounded by what arrived.
  FrameDecoder direct(FrameCaps::Default());
  if (!direct.Feed(Header(kFrameMagicVersion, 20, 512u << 20), frames).ok()) {
    std::_Exit(5);
  }
  for (int i = 0; i < 4; ++i) {
    const std::span<uint8_t> space = direct.PayloadSpace();
    if (space.empty() || space.size() > (64u << 10) + direct.buffered_bytes()) {
      std::_Exit(6);
    }
    direct.CommitPayload(std::min<size_t>(space.size(), 5000), frames);
  }
  if (direct.reserved_bytes() > (64u << 10) + 2 * direct.buffered_bytes()) {
    std::_Exit(7);
  }
  std::_Exit(0);
}
#endif

TEST(FrameDecoderDeathTest, ClaimedLengthsAreNeverAllocatedUpFront) {
#ifdef SOTTO_NET_TEST_SANITIZED
  GTEST_SKIP() << "sanitizers reserve large address ranges; RLIMIT_AS cannot be used";
#else
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(DecodeClaimsInACappedAddressSpace(), ::testing::ExitedWithCode(0), "");
#endif
}

TEST(FrameDecoderTest, AnAllowedLargeClaimReservesOnlyWhatArrives) {
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  auto bytes = Header(kFrameMagicVersion, 22, 200u << 20);  // a 200 MiB Update: under its cap
  const auto some = Payload(1000);
  bytes.insert(bytes.end(), some.begin(), some.end());
  ASSERT_TRUE(decoder.Feed(bytes, frames).ok());
  EXPECT_TRUE(frames.empty());
  EXPECT_EQ(decoder.buffered_bytes(), 1000u);
  EXPECT_LE(decoder.reserved_bytes(), 64u * 1024);
}

TEST(FrameDecoderTest, DeliversFramesBeforeABadHeader) {
  auto stream = MustEncode(MessageType::kHeartbeat, Payload(3));
  const auto bad = Header(0x00, 18, 0);
  stream.insert(stream.end(), bad.begin(), bad.end());
  FrameDecoder decoder(FrameCaps::Default());
  std::vector<Frame> frames;
  EXPECT_EQ(decoder.Feed(stream, frames).code(), StatusCode::kInvalidArgument);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, Payload(3));
}

TEST(FrameDecoderTest, FinishReportsTruncationAsUnavailable) {
  std::vector<Frame> frames;
  FrameDecoder in_header(FrameCaps::Default());
  ASSERT_TRUE(in_header.Feed(std::vector<uint8_t>{kFrameMagicVersion, 18, 4}, frames).ok());
  EXPECT_TRUE(in_header.mid_frame());
  EXPECT_EQ(in_header.Finish().code(), StatusCode::kUnavailable);

  FrameDecoder in_payload(FrameCaps::Default());
  auto frame = MustEncode(MessageType::kUpdate, Payload(100));
  frame.resize(kFrameHeaderBytes + 40);
  ASSERT_TRUE(in_payload.Feed(frame, frames).ok());
  const Status status = in_payload.Finish();
  EXPECT_EQ(status.code(), StatusCode::kUnavailable);
  EXPECT_NE(status.message().find("40 of 100"), std::string_view::npos) << status;

  FrameDecoder clean(FrameCaps::Default());
  EXPECT_TRUE(clean.Finish().ok());
  EXPECT_TRUE(frames.empty());
}

TEST(FrameCapsTest, SetRefusesUnknownTypesAndHugeCaps) {
  FrameCaps caps;
  EXPECT_EQ(caps.Set(static_cast<MessageType>(3), 10).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(caps.Set(MessageType::kUpdate, kMaxFramePayloadBytes + 1).code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(caps.Set(MessageType::kUpdate, kMaxFramePayloadBytes).ok());
  EXPECT_FALSE(caps.Accepts(22 + 1));
}

TEST(FrameCapsTest, DirectionsSplitTheTypes) {
  const FrameCaps all = FrameCaps::Default();
  const FrameCaps to_server = FrameCaps::ClientToServer();
  const FrameCaps to_client = FrameCaps::ServerToClient();
  for (int type = 0; type < 256; ++type) {
    const auto t = static_cast<uint8_t>(type);
    EXPECT_EQ(all.Accepts(t), IsKnownMessageType(t)) << type;
    EXPECT_EQ(all.Accepts(t), to_server.Accepts(t) || to_client.Accepts(t)) << type;
    const bool both = to_server.Accepts(t) && to_client.Accepts(t);
    EXPECT_EQ(both, t == 18 || t == 19) << type;  // Heartbeat and Error go both ways
    EXPECT_LE(all.Get(t), kMaxFramePayloadBytes);
  }
}

TEST(EncodeFrameTest, SenderHonoursTheCaps) {
  FrameCaps caps;
  ASSERT_TRUE(caps.Set(MessageType::kUpdate, 10).ok());
  EXPECT_TRUE(EncodeFrame(MessageType::kUpdate, Payload(10), caps).ok());
  EXPECT_EQ(EncodeFrame(MessageType::kUpdate, Payload(11), caps).status().code(),
            StatusCode::kResourceExhausted);
  EXPECT_EQ(EncodeFrame(MessageType::kHello, Payload(1), caps).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(FrameHeaderTest, DecodeHeaderDirectly) {
  const auto header = Header(kFrameMagicVersion, 27, 12345);
  auto decoded = DecodeFrameHeader(std::span<const uint8_t, kFrameHeaderBytes>(header.data(), 6),
                                   FrameCaps::Default());
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->type, MessageType::kMaskedInput);
  EXPECT_EQ(decoded->payload_bytes, 12345u);
  EXPECT_STREQ(MessageTypeName(decoded->type), "MaskedInput");
}

}  // namespace
}  // namespace sotto::net
