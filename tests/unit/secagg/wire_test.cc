// The fuzzing byte format (sotto/secagg/wire.h): round trips and refusals (BAD_INPUTS row 3).

#include "sotto/secagg/wire.h"

#include <gtest/gtest.h>

namespace sotto::secagg {
namespace {

std::vector<ClientMessage> SampleClientMessages() {
  std::vector<ClientMessage> out;
  out.push_back(AdvertiseKeys{
      std::vector<uint8_t>(32, 1), std::vector<uint8_t>(32, 2), std::vector<uint8_t>(32, 3), {}});
  out.push_back(ShareKeysResponse{{{5, std::vector<uint8_t>(152, 9)}, {7, {}}}});
  out.push_back(MaskedInput{{1, 2, 0xffffffff, 0}, 17});
  UnmaskResponse unmask;
  unmask.self_mask_seed_shares.push_back({3, crypto::SecretBytes(48)});
  unmask.mask_key_shares.push_back({4, crypto::SecretBytes(2)});
  out.push_back(std::move(unmask));
  out.push_back(MaskedInput{});
  return out;
}

std::vector<ServerMessage> SampleServerMessages() {
  return {ShareKeysRequest{{{1, std::vector<uint8_t>(32, 1), std::vector<uint8_t>(32, 2)}}},
          MaskedInputRequest{{{9, std::vector<uint8_t>(3, 4)}}}, UnmaskRequest{{1, 2}, {3}},
          AbortRound{"too few"}, UnmaskRequest{}};
}

TEST(WireTest, ClientMessagesRoundTrip) {
  for (const auto& m : SampleClientMessages()) {
    const auto bytes = SerializeClientMessage(m);
    auto parsed = ParseClientMessage(bytes);
    ASSERT_TRUE(parsed.ok()) << MessageName(m) << ": " << parsed.status();
    EXPECT_TRUE(*parsed == m) << MessageName(m);
    EXPECT_EQ(SerializeClientMessage(*parsed), bytes);
  }
}

TEST(WireTest, ServerMessagesRoundTrip) {
  for (const auto& m : SampleServerMessages()) {
    const auto bytes = SerializeServerMessage(m);
    auto parsed = ParseServerMessage(bytes);
    ASSERT_TRUE(parsed.ok()) << MessageName(m) << ": " << parsed.status();
    EXPECT_TRUE(*parsed == m) << MessageName(m);
  }
}

TEST(WireTest, RefusesTruncationTrailingBytesUnknownTagsAndHugeCounts) {
  for (const auto& m : SampleClientMessages()) {
    auto bytes = SerializeClientMessage(m);
    for (size_t cut = 0; cut < bytes.size(); ++cut) {
      EXPECT_EQ(ParseClientMessage(std::span(bytes).first(cut)).status().code(),
                StatusCode::kInvalidArgument)
          << MessageName(m) << " cut at " << cut;
    }
    bytes.push_back(0);
    EXPECT_EQ(ParseClientMessage(bytes).status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(ParseClientMessage(std::vector<uint8_t>{0x11}).status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseServerMessage(std::vector<uint8_t>{0x01}).status().code(),
            StatusCode::kInvalidArgument);
  // A MaskedInput claiming 2^32 - 1 values in 13 bytes.
  const std::vector<uint8_t> huge = {0x03, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0};
  EXPECT_EQ(ParseClientMessage(huge).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace sotto::secagg
