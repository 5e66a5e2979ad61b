// The client's state file (sotto/client/state_file.h): round trips, and every refusal of a file
// that is damaged, someone else's, or inconsistent (BAD_INPUTS row 22).

#include "sotto/client/state_file.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <span>
#include <string>
#include <vector>

#include "sotto/crypto/hash.h"

namespace sotto::client {
namespace {

constexpr uint64_t kDim = 5;

std::string Floats(std::vector<float> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
}

std::string Ints(std::vector<int64_t> v) {
  return std::string(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(int64_t));
}

proto::ClientState GdSecState() {
  proto::ClientState s;
  s.set_client_id("alice");
  s.set_run_id(42);
  s.set_dimension(kDim);
  s.mutable_compression()->mutable_gdsec()->set_beta(0.5);
  s.mutable_compression()->mutable_gdsec()->set_density(0.2);
  s.set_pending_round(3);
  s.mutable_committed()->set_error_fp32_le(Floats({0, 1, 2, 3, 4}));
  s.mutable_committed()->set_gdsec_h_le(Ints({-1, 0, 1, 1 << 30, -(int64_t{1} << 40)}));
  s.mutable_pending()->set_error_fp32_le(Floats({0, 1, 2, 3, 5}));
  s.mutable_pending()->set_gdsec_h_le(Ints({-1, 0, 2, 1 << 30, 7}));
  s.mutable_pending()->set_gdsec_model_fp32_le(Floats({0.5f, 0, 0, 0, 0}));
  return s;
}

proto::ClientState TopKState() {
  proto::ClientState s;
  s.set_client_id("alice");
  s.set_run_id(42);
  s.set_dimension(kDim);
  s.mutable_compression()->set_sparsifier(proto::SPARSIFIER_TOP_K);
  s.mutable_compression()->set_density(0.2);
  s.mutable_committed()->set_error_fp32_le(Floats({0, -1, 0, 0.25f, 0}));
  return s;
}

TEST(ClientStateFileTest, RoundTripsBitForBit) {
  for (const proto::ClientState& state : {GdSecState(), TopKState()}) {
    const std::string bytes = EncodeClientState(state);
    EXPECT_LE(bytes.size(), MaxClientStateBytes(kDim));
    StatusOr<proto::ClientState> back = DecodeClientState(bytes, "alice", kDim);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->committed().SerializeAsString(), state.committed().SerializeAsString());
    EXPECT_EQ(back->pending().SerializeAsString(), state.pending().SerializeAsString());
    EXPECT_EQ(back->pending_round(), state.pending_round());
    EXPECT_EQ(back->run_id(), 42u);
    EXPECT_EQ(back->format_version(), kClientStateFormat);
    // The same state encodes to the same bytes.
    EXPECT_EQ(EncodeClientState(state), bytes);
  }
}

TEST(ClientStateFileTest, DamagedBytesAreDataLoss) {
  const std::string bytes = EncodeClientState(GdSecState());
  // Every single-byte change is caught (by the checksum, or by the parser before it).
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string damaged = bytes;
    damaged[i] = static_cast<char>(damaged[i] ^ 0x40);
    StatusOr<proto::ClientState> decoded = DecodeClientState(damaged, "alice", kDim);
    ASSERT_FALSE(decoded.ok()) << "byte " << i;
    EXPECT_TRUE(decoded.status().code() == StatusCode::kDataLoss ||
                decoded.status().code() == StatusCode::kFailedPrecondition)
        << decoded.status();
  }
  for (size_t cut : {size_t{0}, size_t{1}, bytes.size() / 2, bytes.size() - 1}) {
    StatusOr<proto::ClientState> decoded =
        DecodeClientState(std::string_view(bytes).substr(0, cut), "alice", kDim);
    EXPECT_EQ(decoded.status().code(), StatusCode::kDataLoss) << "cut at " << cut;
  }
}

// A state that is well formed and correctly summed but wrong for this client.
void ExpectRefused(const proto::ClientState& state, StatusCode code, const std::string& what,
                   const std::string& id = "alice", uint64_t dim = kDim) {
  StatusOr<proto::ClientState> decoded = DecodeClientState(EncodeClientState(state), id, dim);
  ASSERT_FALSE(decoded.ok()) << what;
  EXPECT_EQ(decoded.status().code(), code) << decoded.status();
  EXPECT_NE(std::string(decoded.status().message()).find(what), std::string::npos)
      << decoded.status();
}

TEST(ClientStateFileTest, SomeoneElsesOrInconsistentStateIsRefused) {
  ExpectRefused(GdSecState(), StatusCode::kFailedPrecondition, "client 'alice'", "bob");
  ExpectRefused(GdSecState(), StatusCode::kFailedPrecondition, "5 parameters", "alice", 6);

  proto::ClientState s = TopKState();
  s.mutable_compression()->Clear();
  ExpectRefused(s, StatusCode::kFailedPrecondition, "no compression config");
  s = TopKState();
  s.mutable_compression()->set_density(2);
  ExpectRefused(s, StatusCode::kFailedPrecondition, "compression.density");
  s = TopKState();
  s.set_run_id(0);
  ExpectRefused(s, StatusCode::kDataLoss, "run_id");
  s = TopKState();
  s.mutable_committed()->set_error_fp32_le(Floats({0, 1, 2, 3}));
  ExpectRefused(s, StatusCode::kDataLoss, "committed.error holds 16 bytes");
  s = TopKState();
  s.mutable_committed()->set_error_fp32_le(
      Floats({0, 1, std::numeric_limits<float>::quiet_NaN(), 3, 4}));
  ExpectRefused(s, StatusCode::kDataLoss, "non-finite");
  s = TopKState();
  s.mutable_committed()->set_gdsec_h_le(Ints({1, 2, 3, 4, 5}));
  ExpectRefused(s, StatusCode::kDataLoss, "GD-SEC state for a sparsifier");
  s = TopKState();
  s.set_pending_round(4);  // no pending state
  ExpectRefused(s, StatusCode::kDataLoss, "pending");

  s = GdSecState();
  s.mutable_committed()->set_gdsec_h_le(Ints({1, 2}));
  ExpectRefused(s, StatusCode::kDataLoss, "committed.gdsec_h");
  s = GdSecState();
  s.mutable_pending()->set_gdsec_model_fp32_le(Floats({1, 2}));
  ExpectRefused(s, StatusCode::kDataLoss, "pending.gdsec_model");
  s = GdSecState();
  s.mutable_pending()->set_gdsec_model_fp32_le(
      Floats({0, std::numeric_limits<float>::infinity(), 0, 0, 0}));
  ExpectRefused(s, StatusCode::kDataLoss, "non-finite");
  s = GdSecState();
  s.clear_pending();
  ExpectRefused(s, StatusCode::kDataLoss, "pending");

  // Another format version, correctly summed (as a newer client would write it).
  s = GdSecState();
  s.set_format_version(2);
  s.clear_checksum();
  std::string body;
  {
    google::protobuf::io::StringOutputStream raw(&body);
    google::protobuf::io::CodedOutputStream coded(&raw);
    coded.SetSerializationDeterministic(true);
    ASSERT_TRUE(s.SerializeToCodedStream(&coded));
  }
  crypto::Blake2b256Hasher hasher;
  hasher.Update(std::span(reinterpret_cast<const uint8_t*>(body.data()), body.size()));
  const crypto::Blake2b256Digest digest = hasher.Final();
  s.set_checksum(std::string(reinterpret_cast<const char*>(digest.data()), digest.size()));
  StatusOr<proto::ClientState> decoded = DecodeClientState(s.SerializeAsString(), "alice", kDim);
  EXPECT_EQ(decoded.status().code(), StatusCode::kFailedPrecondition) << decoded.status();
  EXPECT_NE(std::string(decoded.status().message()).find("format_version 2"), std::string::npos)
      << decoded.status();
}

}  // namespace
}  // namespace sotto::client
