// The frame codec (sotto/net/frame.h): layout, caps per type, every malformed header, the cap
// checked before any allocation (BAD_INPUTS row 1; a child process with a capped address space
// proves that no claimed length is allocated up front), truncation (row 2), unknown types (row 3),
// and incremental decoding of arbitrarily split streams.

#include "sotto/net/frame.h"

#include <gtest/gtest.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
