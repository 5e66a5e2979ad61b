// Strict parsing of untrusted bytes, the JSON config schema (unknown fields refused), and
// deterministic serialization (sotto/proto/parse.h).

#include "sotto/proto/parse.h"

#include <google/protobuf/stubs/logging.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "sotto/proto/sotto.pb.h"

namespace sotto::proto {
namespace {

std::vector<uint8_t> Bytes(const std::string& s) {
  return std::vector<uint8_t>(s.begin(), s.end());
}

Envelope SampleEnvelope() {
  Envelope envelope;
  envelope.set_protocol_version(1);
  envelope.set_run_id(77);
  envelope.set_round_id(3);
  envelope.set_phase(PHASE_HANDSHAKE);
  envelope.set_sequence(1);
  Hello* hello = envelope.mutable_hello();
  hello->set_min_protocol_version(1);
  hello->set_max_protocol_version(1);
  hello->set_client_id("alice");
  hello->mutable_capabilities()->set_has_gpu(true);
  hello->mutable_capabilities()->set_memory_budget_bytes(uint64_t{8} << 30);
  hello->mutable_capabilities()->set_uplink_bytes_per_second(1'000'000);
  return envelope;
}

TEST(ParseStrictTest, RoundTripsAnEnvelope) {
  const Envelope envelope = SampleEnvelope();
  Envelope parsed;
  ASSERT_TRUE(ParseStrict(Bytes(envelope.SerializeAsString()), &parsed).ok());
  EXPECT_EQ(parsed.SerializeAsString(), envelope.SerializeAsString());
  EXPECT_EQ(parsed.hello().client_id(), "alice");
  EXPECT_TRUE(parsed.hello().capabilities().has_gpu());
}

TEST(ParseStrictTest, RefusesGarbage) {
  Envelope parsed;
  // A field header for field 16 (length-delimited) that claims more bytes than follow.
  const std::vector<uint8_t> truncated = {0x82, 0x01, 0x10, 0x01};
  const Status status = ParseStrict(truncated, &parsed);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status;
  // Wire type 7 does not exist.
  EXPECT_EQ(ParseStrict(std::vector<uint8_t>{0x0f}, &parsed).code(), StatusCode::kInvalidArgument);
}

TEST(ParseStrictTest, RefusesUnknownTopLevelField) {
  std::string bytes = SampleEnvelope().SerializeAsString();
  bytes += std::string("\xf8\x06\x01", 3);  // field 111, varint 1
  Envelope parsed;
  const Status status = ParseStrict(Bytes(bytes), &parsed);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("unknown field 111"), std::string_view::npos) << status;
}

TEST(ParseStrictTest, RefusesUnknownNestedFieldAndNamesItsPath) {
  Envelope envelope = SampleEnvelope();
  // An unknown field inside Hello.capabilities.
  envelope.mutable_hello()
      ->mutable_capabilities()
      ->GetReflection()
      ->MutableUnknownFields(envelope.mutable_hello()->mutable_capabilities())
      ->AddVarint(42, 7);
  Envelope parsed;
  const Status status = ParseStrict(Bytes(envelope.SerializeAsString()), &parsed);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("hello.capabilities"), std::string_view::npos) << status;
  EXPECT_NE(status.message().find("42"), std::string_view::npos) << status;
}

TEST(ParseStrictTest, RefusesUnknownFieldInsideARepeatedMessage) {
  Envelope envelope;
  ShareKeysRequest* request = envelope.mutable_share_keys_request();
  request->add_peers()->set_id(1);
  PeerKeys* second = request->add_peers();
  second->set_id(2);
  second->GetReflection()->MutableUnknownFields(second)->AddFixed32(9, 1);
  Envelope parsed;
  const Status status = ParseStrict(Bytes(envelope.SerializeAsString()), &parsed);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("peers[1]"), std::string_view::npos) << status;
}

int g_protobuf_log_lines = 0;

void CountProtobufLog(google::protobuf::LogLevel, const char*, int, const std::string&) {
  ++g_protobuf_log_lines;
}

TEST(ParseStrictTest, RefusesInvalidUtf8InAStringWithoutLogging) {
  Envelope envelope;
  envelope.set_sender_id("x");
  std::string bytes = envelope.SerializeAsString();
  ASSERT_EQ(bytes.size(), 3u);  // tag, length, 'x'
  bytes[2] = static_cast<char>(0xff);
  Envelope parsed;
  g_protobuf_log_lines = 0;
  google::protobuf::LogHandler* previous = google::protobuf::SetLogHandler(&CountProtobufLog);
  const Status status = ParseStrict(Bytes(bytes), &parsed);
  const int lines_from_parse_strict = g_protobuf_log_lines;
  // Protobuf itself logs this case (a peer could flood the log with it): the handler sees it.
  const bool raw_parse_failed = !parsed.ParseFromString(bytes);
  const int lines_from_raw_parse = g_protobuf_log_lines - lines_from_parse_strict;
  google::protobuf::SetLogHandler(previous);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(lines_from_parse_strict, 0);
  EXPECT_TRUE(raw_parse_failed);
  EXPECT_GT(lines_from_raw_parse, 0);
}

constexpr char kConfigJson[] = R"({
  "runName": "demo",
  "coordinator": {"listenAddress": "0.0.0.0", "port": 7443, "serverName": "coordinator"},
  "tls": {"caFile": "ca.pem", "certFile": "server.pem", "keyFile": "server.key"},
  "net": {"maxConnections": 100, "handshakeTimeoutMs": "5000", "idleTimeoutMs": "60000"},
  "rounds": {"numRounds": 20, "fraction": 0.5, "minClients": 3},
  "strategy": {"name": "fedavg", "server_lr": 1.0},
  "compression": {"sparsifier": "SPARSIFIER_TOP_K", "density": 0.01,
                  "errorFeedback": "ERROR_FEEDBACK_CLASSIC"},
  "secureAggregation": {"enabled": true, "supportPolicy": "SUPPORT_POLICY_SHARED_RANDOM",
                        "ringBits": 32},
  "checkpoint": {"directory": "/var/lib/sotto", "everyRounds": 1}
})";

TEST(ParseJsonTest, ReadsAFederationConfig) {
  FederationConfig config;
  const Status status = ParseJson(kConfigJson, &config);
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(config.run_name(), "demo");
  EXPECT_EQ(config.coordinator().port(), 7443u);
  EXPECT_EQ(config.net().handshake_timeout_ms(), 5000u);
  EXPECT_EQ(config.rounds().num_rounds(), 20u);
  EXPECT_DOUBLE_EQ(config.strategy().server_lr(), 1.0);  // snake_case names work too
  EXPECT_EQ(config.compression().sparsifier(), SPARSIFIER_TOP_K);
  EXPECT_EQ(config.secure_aggregation().support_policy(), SUPPORT_POLICY_SHARED_RANDOM);
}

TEST(ParseJsonTest, RefusesAnUnknownFieldNamingIt) {
  FederationConfig config;
  const Status status = ParseJson(R"({"rounds": {"numRounds": 3, "numRoundz": 4}})", &config);
  EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(status.message().find("numRoundz"), std::string_view::npos) << status;
}

TEST(ParseJsonTest, RefusesWrongTypesAndSyntax) {
  FederationConfig config;
  EXPECT_EQ(ParseJson(R"({"rounds": {"numRounds": "many"}})", &config).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJson(R"({"rounds": {"numRounds": -1}})", &config).code(),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJson(R"({"compression": {"sparsifier": "TOP_K"}})", &config).code(),
            StatusCode::kInvalidArgument);
  // (protobuf's parser tolerates a trailing comma; these are real syntax errors)
  EXPECT_EQ(ParseJson(R"({"runName": })", &config).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJson(R"({"runName": "x")", &config).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseJson("", &config).code(), StatusCode::kInvalidArgument);
}

TEST(ParseJsonTest, PrintsWhatItParses) {
  FederationConfig config;
  ASSERT_TRUE(ParseJson(kConfigJson, &config).ok());
  std::string json;
  ASSERT_TRUE(PrintJson(config, &json).ok());
  FederationConfig again;
  ASSERT_TRUE(ParseJson(json, &again).ok()) << json;
  EXPECT_EQ(SerializeDeterministic(again), SerializeDeterministic(config));
}

TEST(CheckpointTest, SerializesDeterministically) {
  Checkpoint checkpoint;
  checkpoint.set_format_version(1);
  checkpoint.set_run_id(5);
  checkpoint.set_round(12);
  checkpoint.mutable_model()->set_dimension(2);
  checkpoint.mutable_model()->set_fp32_le(std::string(8, '\x01'));
  checkpoint.mutable_strategy()->set_name("fedadam");
  checkpoint.mutable_gdsec()->set_beta(0.5);
  const std::string a = SerializeDeterministic(checkpoint);
  const std::string b = SerializeDeterministic(checkpoint);
  EXPECT_EQ(a, b);
  EXPECT_FALSE(a.empty());
  Checkpoint parsed;
  ASSERT_TRUE(ParseStrict(Bytes(a), &parsed).ok());
  EXPECT_EQ(parsed.round(), 12u);
  EXPECT_EQ(parsed.strategy().name(), "fedadam");
}

}  // namespace
}  // namespace sotto::proto
