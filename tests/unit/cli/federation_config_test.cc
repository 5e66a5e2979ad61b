#include "federation_config.h"

#include <fcntl.h>
#include <gmock/gmock.h>
#include <google/protobuf/struct.pb.h>
#include <google/protobuf/util/json_util.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "sotto/core/learn/federated_data.h"
#include "sotto/net/frame.h"
#include "sotto/proto/compress_convert.h"

namespace sotto::cli {
namespace {

using ::testing::HasSubstr;

// A coordinator config that sets every section the coordinator reads.
constexpr char kCoordinatorJson[] = R"json({
  "run_name": "unit",
  "coordinator": {"listen_address": "0.0.0.0", "port": 7443, "server_name": "localhost",
                  "seed": 5, "eval_data": {"dataset": "synthetic", "seed": 3},
                  "evaluate_every": 2, "heartbeat_interval_ms": 5000, "threads": 2,
                  "hello_timeout_ms": 4000},
  "tls": {"ca_file": "pki/ca.pem"},
  "net": {"max_connections": 64, "handshake_timeout_ms": 3000, "idle_timeout_ms": 0,
          "max_model_frame_bytes": 1000000, "max_update_frame_bytes": 500000},
  "rounds": {"num_rounds": 4, "fraction": 0.5, "min_clients": 3, "max_clients": 8,
             "over_selection": 0.25, "train_timeout_ms": 20000, "unmask_timeout_ms": 7000},
  "model": {"kind": "mlp", "input_dim": 20, "num_classes": 2, "hidden": [32], "init_seed": 9},
  "strategy": {"name": "fedadam", "server_lr": 0.1, "beta1": 0.8, "beta2": 0.95, "tau": 0.01},
  "compression": {"sparsifier": "SPARSIFIER_TOP_K", "density": 0.01,
                  "error_feedback": "ERROR_FEEDBACK_CLASSIC"},
  "secure_aggregation": {"enabled": true, "support_policy": "SUPPORT_POLICY_SHARED_RANDOM",
                         "support_density": 0.2, "exploration": 0.25, "clip": 2.0,
                         "ring_bits": 64, "degree": 4, "threshold": 3, "max_weight": 1000,
                         "mask_indexing": "MASK_INDEXING_COORDINATE"},
  "checkpoint": {"directory": "/tmp/sotto-unit-ckpt", "every_rounds": 2, "keep": 5},
  "metrics": {"listen_address": "127.0.0.2", "port": 9464}
})json";

// A client config: the client, model, tls and net sections.
constexpr char kClientJson[] = R"json({
  "client": {"coordinator_host": "10.0.0.1", "coordinator_port": 7443,
             "server_name": "coordinator.example", "client_id": "client-1", "seed": 11,
             "threads": 2,
             "capabilities": {"memory_budget_bytes": 100000000,
                              "uplink_bytes_per_second": 1000000, "cpu_threads": 4},
             "reconnect": {"initial_backoff_ms": 100, "max_backoff_ms": 2000, "jitter": 0.25,
                           "max_attempts": 7},
             "welcome_timeout_ms": 5000, "idle_timeout_ms": 60000,
             "state_file": "state/{client_id}/{client_id}.state",
             "data": {"dataset": "synthetic", "num_parts": 3, "part": 1, "partition": "iid",
                      "seed": 3},
             "local": {"learning_rate": 0.2, "momentum": 0.5, "batch_size": 16, "epochs": 2}},
  "model": {"kind": "mlp", "input_dim": 20, "num_classes": 2, "hidden": [32], "init_seed": 9},
  "tls": {"ca_file": "pki/ca.pem"},
  "net": {"max_model_frame_bytes": 1000000, "max_update_frame_bytes": 500000}
})json";

std::string JsonOf(const google::protobuf::Message& message) {
  std::string out;
  EXPECT_TRUE(google::protobuf::util::MessageToJsonString(message, &out).ok());
  return out;
}

google::protobuf::Struct StructOf(std::string_view json) {
  google::protobuf::Struct object;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  google::protobuf::StringPiece(json.data(), json.size()), &object)
                  .ok())
      << json;
  return object;
}

std::vector<std::string> Split(std::string_view path) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t dot = path.find('.', start);
    parts.emplace_back(path.substr(start, dot == std::string_view::npos ? path.npos : dot - start));
    if (dot == std::string_view::npos) return parts;
    start = dot + 1;
  }
}

// `json` with the member at dotted `path` set to `value_json` (objects on the way are made).
std::string Edit(std::string_view json, std::string_view path, std::string_view value_json) {
  google::protobuf::Struct root = StructOf(json);
  google::protobuf::Value value;
  EXPECT_TRUE(google::protobuf::util::JsonStringToMessage(
                  google::protobuf::StringPiece(value_json.data(), value_json.size()), &value)
                  .ok())
      << value_json;
  const std::vector<std::string> parts = Split(path);
  google::protobuf::Struct* object = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    google::protobuf::Value& next = (*object->mutable_fields())[parts[i]];
    object = next.mutable_struct_value();
  }
  (*object->mutable_fields())[parts.back()] = value;
  return JsonOf(root);
}

// `json` without the member at dotted `path`.
std::string Erase(std::string_view json, std::string_view path) {
  google::protobuf::Struct root = StructOf(json);
  const std::vector<std::string> parts = Split(path);
  google::protobuf::Struct* object = &root;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    object = (*object->mutable_fields())[parts[i]].mutable_struct_value();
  }
  object->mutable_fields()->erase(parts.back());
  return JsonOf(root);
}

StatusOr<CoordinatorSetup> Coordinator(std::string_view json) {
  StatusOr<FederationConfigFile> file = ParseFederationConfig(json);
  if (!file.ok()) return file.status();
  return BuildCoordinatorSetup(*file);
}

StatusOr<ClientSetup> Client(std::string_view json) {
  StatusOr<FederationConfigFile> file = ParseFederationConfig(json);
  if (!file.ok()) return file.status();
  return BuildClientSetup(*file);
}

std::string TempDir() {
  char pattern[] = "/tmp/sotto-config-test-XXXXXX";
  const char* dir = ::mkdtemp(pattern);
  EXPECT_NE(dir, nullptr);
  return dir == nullptr ? "/tmp" : dir;
}

void WriteText(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text;
}

// ---- Valid configs -------------------------------------------------------------------------

TEST(FederationConfigTest, FullCoordinatorConfig) {
  StatusOr<CoordinatorSetup> setup = Coordinator(kCoordinatorJson);
  ASSERT_TRUE(setup.ok()) << setup.status();
  const coordinator::CoordinatorOptions& o = setup->options;
  EXPECT_EQ(o.run_name, "unit");
  EXPECT_EQ(o.seed, 5u);
  EXPECT_EQ(o.num_rounds, 4u);
  EXPECT_DOUBLE_EQ(o.selection.fraction, 0.5);
  EXPECT_EQ(o.selection.min_clients, 3u);
  EXPECT_EQ(o.selection.max_clients, 8u);
  EXPECT_DOUBLE_EQ(o.selection.over_selection, 0.25);
  EXPECT_EQ(o.deadlines.train, std::chrono::milliseconds(20000));
  EXPECT_EQ(o.deadlines.unmask, std::chrono::milliseconds(7000));
  EXPECT_EQ(o.deadlines.share_keys, coordinator::RoundDeadlines().share_keys);  // default
  EXPECT_EQ(o.deadlines.hello, std::chrono::milliseconds(4000));
  // mlp 20 -> 32 -> 2: 20*32 + 32 + 32*2 + 2 parameters, initialised from init_seed.
  ASSERT_EQ(o.initial_model.size(), 738u);
  StatusOr<std::unique_ptr<learn::Model>> model =
      learn::MakeModel({learn::ModelKind::kMlp, 20, 2, {32}, 0.0});
  ASSERT_TRUE(model.ok());
  std::vector<float> expected(738);
  (*model)->Initialize(9, expected);
  EXPECT_EQ(o.initial_model, expected);
  EXPECT_EQ(o.strategy.kind, core::StrategyKind::kFedAdam);
  EXPECT_DOUBLE_EQ(o.strategy.server_lr, 0.1);
  EXPECT_DOUBLE_EQ(o.strategy.beta1, 0.8);
  EXPECT_DOUBLE_EQ(o.strategy.beta2, 0.95);
  EXPECT_DOUBLE_EQ(o.strategy.tau, 0.01);
  EXPECT_EQ(o.compression.sparsifier(), proto::SPARSIFIER_TOP_K);
  EXPECT_DOUBLE_EQ(o.compression.density(), 0.01);
  const coordinator::SecureAggregationOptions& a = o.secure_aggregation;
  EXPECT_TRUE(a.enabled);
  EXPECT_EQ(a.policy, secagg::SupportPolicy::kSharedRandom);
  EXPECT_DOUBLE_EQ(a.density, 0.2);
  EXPECT_DOUBLE_EQ(a.explore, 0.25);
  EXPECT_DOUBLE_EQ(a.clip, 2.0);
  EXPECT_EQ(a.ring_bits, 64);
  EXPECT_EQ(a.degree, 4);
  EXPECT_EQ(a.threshold, 3u);
  EXPECT_EQ(a.max_weight, 1000u);
  EXPECT_EQ(a.mask_indexing, secagg::MaskIndexing::kCoordinate);
  EXPECT_EQ(a.server_threads, 2);
  EXPECT_EQ(o.checkpoint_dir, "/tmp/sotto-unit-ckpt");
  EXPECT_EQ(o.checkpoint_every, 2u);
  EXPECT_EQ(o.checkpoint_keep, 5u);
  EXPECT_EQ(o.round_log_path, "/tmp/sotto-unit-ckpt/rounds.jsonl");
  EXPECT_EQ(o.heartbeat_interval_ms, 5000u);
  EXPECT_EQ(o.evaluate_every, 2u);
  EXPECT_EQ(o.config_fingerprint.size(), 32u);

  EXPECT_EQ(setup->listener.bind_address, "0.0.0.0");
  EXPECT_EQ(setup->listener.port, 7443);
  EXPECT_EQ(setup->listener.credentials.ca_file, "pki/ca.pem");
  EXPECT_EQ(setup->listener.credentials.cert_file, "pki/server.pem");
  EXPECT_EQ(setup->listener.credentials.key_file, "pki/server.key");
  EXPECT_EQ(setup->listener.max_connections, 64u);
  const net::ConnectionOptions& c = setup->listener.connection;
  EXPECT_EQ(c.deadlines.handshake, std::chrono::milliseconds(3000));
  EXPECT_EQ(c.deadlines.idle, std::chrono::milliseconds(0));  // 0: no idle deadline
  EXPECT_EQ(c.send_caps.Get(net::MessageType::kRoundStart), 1000000u);
  EXPECT_EQ(c.receive_caps.Get(net::MessageType::kUpdate), 500000u);
  EXPECT_EQ(c.receive_caps.Get(net::MessageType::kMaskedInput), 500000u);
  EXPECT_TRUE(setup->metrics_enabled);
  EXPECT_EQ(setup->metrics.host, "127.0.0.2");
  EXPECT_EQ(setup->metrics.port, 9464);

  // The evaluation set is the synthetic test split; the initial model scores on it.
  EXPECT_EQ(setup->eval_samples, 1000u);
  ASSERT_TRUE(static_cast<bool>(o.evaluate));
  StatusOr<std::pair<double, double>> eval = o.evaluate(o.initial_model);
  ASSERT_TRUE(eval.ok()) << eval.status();
  EXPECT_GT(eval->first, 0.0);
  EXPECT_GE(eval->second, 0.0);
  EXPECT_LE(eval->second, 1.0);
  EXPECT_FALSE(o.evaluate(std::vector<float>(3)).ok());  // wrong size: refused, not a crash
}

TEST(FederationConfigTest, GdSecIsCarriedToTheCoordinator) {
  std::string json = Edit(kCoordinatorJson, "compression",
                          R"({"gdsec": {"beta": 0.25, "rule": "GD_SEC_RULE_THRESHOLD", "xi": 2,
                         "norm_threshold": true},
               "value_coding": "VALUE_CODING_FP16"})");
  json = Edit(json, "checkpoint.every_rounds", "1");
  StatusOr<CoordinatorSetup> setup = Coordinator(json);
  ASSERT_TRUE(setup.ok()) << setup.status();
  const proto::CompressionConfig& c = setup->options.compression;
  ASSERT_TRUE(proto::IsGdSec(c));
  EXPECT_FALSE(proto::IsDense(c));
  StatusOr<compress::GdSecOptions> g = proto::GdSecOptionsFromProto(c);
  ASSERT_TRUE(g.ok()) << g.status();
  EXPECT_DOUBLE_EQ(g->beta, 0.25);
  EXPECT_EQ(g->rule, compress::GdSecRule::kThreshold);
  EXPECT_DOUBLE_EQ(g->xi, 2.0);
  EXPECT_TRUE(g->norm_threshold);
  EXPECT_EQ(g->value_coding, compress::ValueCoding::kFp16);
  // The sparsifier conversion refuses it rather than ignoring the gdsec field.
  EXPECT_FALSE(proto::CompressorOptionsFromProto(c).ok());
}

TEST(FederationConfigTest, CoordinatorDefaults) {
  StatusOr<CoordinatorSetup> setup = Coordinator(R"({
    "model": {"kind": "logistic", "input_dim": 20},
    "tls": {"ca_file": "ca.pem", "cert_file": "c.pem", "key_file": "c.key"}})");
  ASSERT_TRUE(setup.ok()) << setup.status();
  const coordinator::CoordinatorOptions& o = setup->options;
  const coordinator::CoordinatorOptions defaults;
  EXPECT_EQ(o.run_name, "sotto");
  EXPECT_EQ(o.seed, 1u);
  EXPECT_EQ(o.num_rounds, 10u);
  EXPECT_DOUBLE_EQ(o.selection.fraction, 1.0);
  EXPECT_EQ(o.selection.min_clients, 1u);
  EXPECT_EQ(o.selection.max_clients, 0u);
  EXPECT_EQ(o.deadlines.train, defaults.deadlines.train);
  EXPECT_EQ(o.deadlines.hello, defaults.deadlines.hello);
  EXPECT_EQ(o.initial_model.size(), 21u);
  EXPECT_EQ(o.strategy.kind, core::StrategyKind::kFedAvg);
  EXPECT_DOUBLE_EQ(o.strategy.server_lr, 1.0);
  EXPECT_TRUE(proto::IsDense(o.compression));
  EXPECT_FALSE(o.secure_aggregation.enabled);
  EXPECT_EQ(o.secure_aggregation.server_threads, 1);
  EXPECT_TRUE(o.checkpoint_dir.empty());
  EXPECT_TRUE(o.round_log_path.empty());
  EXPECT_EQ(o.checkpoint_every, 1u);
  EXPECT_EQ(o.checkpoint_keep, 3u);
  EXPECT_EQ(o.evaluate_every, 1u);
  EXPECT_FALSE(static_cast<bool>(o.evaluate));
  EXPECT_EQ(setup->listener.bind_address, "127.0.0.1");
  EXPECT_EQ(setup->listener.port, 0);  // any free port
  EXPECT_EQ(setup->listener.credentials.cert_file, "c.pem");
  EXPECT_EQ(setup->listener.max_connections, net::TlsServerOptions().max_connections);
  EXPECT_EQ(setup->listener.connection.deadlines.idle, net::Deadlines().idle);
  EXPECT_FALSE(setup->metrics_enabled);
  EXPECT_EQ(setup->eval_samples, 0u);
}

TEST(FederationConfigTest, SecureAggregationDefaults) {
  // Sparse updates: the global top-k support; the recommended SecAgg+ degree when absent.
  std::string json =
      Edit(Edit(Erase(kCoordinatorJson, "secure_aggregation"), "rounds", R"({"min_clients": 3})"),
           "secure_aggregation.enabled", "true");
  StatusOr<CoordinatorSetup> setup = Coordinator(json);
  ASSERT_TRUE(setup.ok()) << setup.status();
  const coordinator::SecureAggregationOptions defaults;
  const coordinator::SecureAggregationOptions& a = setup->options.secure_aggregation;
  EXPECT_EQ(a.policy, secagg::SupportPolicy::kGlobalTopK);
  EXPECT_EQ(a.degree, -1);
  EXPECT_DOUBLE_EQ(a.density, defaults.density);
  EXPECT_DOUBLE_EQ(a.explore, defaults.explore);
  EXPECT_DOUBLE_EQ(a.clip, defaults.clip);
  EXPECT_EQ(a.ring_bits, 0);
  EXPECT_EQ(a.max_weight, defaults.max_weight);
  EXPECT_EQ(a.mask_indexing, secagg::MaskIndexing::kSupportPosition);
  // An explicit 0 is the complete graph.
  setup = Coordinator(Edit(json, "secure_aggregation.degree", "0"));
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_EQ(setup->options.secure_aggregation.degree, 0);
  // Dense updates: the dense support.
  setup = Coordinator(Erase(json, "compression"));
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_EQ(setup->options.secure_aggregation.policy, secagg::SupportPolicy::kDense);
}

TEST(FederationConfigTest, CamelCaseNamesAndNullsAreUnderstood) {
  // lowerCamelCase counts as present: an explicit 0 is still refused.
  StatusOr<CoordinatorSetup> setup =
      Coordinator(Edit(kCoordinatorJson, "rounds", R"({"numRounds": 7, "minClients": 3})"));
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_EQ(setup->options.num_rounds, 7u);
  EXPECT_EQ(setup->options.selection.min_clients, 3u);
  setup = Coordinator(Edit(kCoordinatorJson, "rounds", R"({"minClients": 0})"));
  ASSERT_FALSE(setup.ok());
  EXPECT_THAT(std::string(setup.status().message()), HasSubstr("rounds.min_clients"));
  // null is absent: the default.
  setup = Coordinator(Edit(kCoordinatorJson, "rounds.fraction", "null"));
  ASSERT_TRUE(setup.ok()) << setup.status();
  EXPECT_DOUBLE_EQ(setup->options.selection.fraction, 1.0);
}

TEST(FederationConfigTest, FullClientConfig) {
  StatusOr<ClientSetup> setup = Client(kClientJson);
  ASSERT_TRUE(setup.ok()) << setup.status();
  const client::ClientOptions& o = setup->options;
  EXPECT_EQ(o.client_id, "client-1");
  EXPECT_EQ(o.seed, 11u);
  EXPECT_EQ(o.threads, 2);
  EXPECT_EQ(o.capabilities.cpu_threads(), 4u);
  EXPECT_EQ(o.memory_budget_bytes, 100000000u);
  EXPECT_EQ(o.uplink_bytes_per_second, 1000000u);
  EXPECT_EQ(o.reconnect.initial, std::chrono::milliseconds(100));
  EXPECT_EQ(o.reconnect.max, std::chrono::milliseconds(2000));
  EXPECT_DOUBLE_EQ(o.reconnect.jitter, 0.25);
  EXPECT_EQ(o.reconnect.max_attempts, 7u);
  EXPECT_EQ(o.welcome_timeout, std::chrono::milliseconds(5000));
  EXPECT_EQ(o.idle_timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(o.state_file, "state/client-1/client-1.state");
  EXPECT_EQ(setup->dialer.host, "10.0.0.1");
  EXPECT_EQ(setup->dialer.port, 7443);
  EXPECT_EQ(setup->dialer.server_name, "coordinator.example");
  EXPECT_EQ(setup->dialer.credentials.ca_file, "pki/ca.pem");
  EXPECT_EQ(setup->dialer.credentials.cert_file, "pki/client-1.pem");
  EXPECT_EQ(setup->dialer.credentials.key_file, "pki/client-1.key");
  EXPECT_EQ(setup->dialer.connection.receive_caps.Get(net::MessageType::kRoundStart), 1000000u);
  EXPECT_EQ(setup->dialer.connection.send_caps.Get(net::MessageType::kUpdate), 500000u);
  ASSERT_NE(setup->trainer, nullptr);
  EXPECT_EQ(setup->trainer->NumParameters(), 738u);
  // Part 1 of an IID split of the 4000 training samples into 3.
  StatusOr<learn::Dataset> expected = learn::LoadFederatedPart(
      {"synthetic", learn::kFashionMnistDir, 0, 3, learn::PartitionKind::kIid, 0.5, 2, 3}, 1);
  ASSERT_TRUE(expected.ok()) << expected.status();
  EXPECT_EQ(setup->trainer->data().num_samples, expected->num_samples);
  EXPECT_EQ(setup->trainer->data().features, expected->features);
}

TEST(FederationConfigTest, ClientDefaults) {
  StatusOr<ClientSetup> setup = Client(R"({
    "client": {"coordinator_port": 9000, "client_id": "c", "data": {"dataset": "synthetic"}},
    "model": {"kind": "logistic", "input_dim": 20},
    "tls": {"ca_file": "ca.pem"}})");
  ASSERT_TRUE(setup.ok()) << setup.status();
  const client::ClientOptions& o = setup->options;
  const client::ClientOptions defaults;
  EXPECT_EQ(o.seed, 1u);
  EXPECT_EQ(o.threads, 1);
  EXPECT_EQ(o.memory_budget_bytes, 0u);
  EXPECT_EQ(o.reconnect.initial, defaults.reconnect.initial);
  EXPECT_EQ(o.reconnect.max, defaults.reconnect.max);
  EXPECT_DOUBLE_EQ(o.reconnect.jitter, defaults.reconnect.jitter);
  EXPECT_EQ(o.reconnect.max_attempts, 0u);
  EXPECT_EQ(o.welcome_timeout, defaults.welcome_timeout);
  EXPECT_EQ(o.idle_timeout, defaults.idle_timeout);
  EXPECT_TRUE(o.state_file.empty());
  EXPECT_EQ(setup->dialer.host, "127.0.0.1");
  EXPECT_EQ(setup->dialer.server_name, "");                 // the host
  EXPECT_EQ(setup->dialer.credentials.cert_file, "c.pem");  // next to a CA in the cwd
  EXPECT_EQ(setup->trainer->data().num_samples, learn::kSyntheticTrainSamples);  // one part
}

// ---- Impossible values ----------------------------------------------------------------------

struct BadValue {
  const char* path;     // dotted path to set ("" with erase)
  const char* value;    // JSON value; nullptr: erase the path
  const char* message;  // expected in the error
};

void PrintTo(const BadValue& b, std::ostream* os) {
  *os << b.path << "=" << (b.value ? b.value : "(erased)");
}

class CoordinatorBadValueTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(CoordinatorBadValueTest, IsRefusedNamingTheField) {
  const BadValue& b = GetParam();
  const std::string json = b.value == nullptr ? Erase(kCoordinatorJson, b.path)
                                              : Edit(kCoordinatorJson, b.path, b.value);
  StatusOr<CoordinatorSetup> setup = Coordinator(json);
  ASSERT_FALSE(setup.ok()) << json;
  EXPECT_EQ(setup.status().code(), StatusCode::kInvalidArgument) << setup.status();
  EXPECT_THAT(std::string(setup.status().message()), HasSubstr(b.message));
}

INSTANTIATE_TEST_SUITE_P(
    Sections, CoordinatorBadValueTest,
    ::testing::Values(
        BadValue{"run_name", R"("")", "run_name: "},
        BadValue{"rounds.fraction", "2", "rounds.fraction: must be in (0, 1]"},
        BadValue{"rounds.fraction", "0", "rounds.fraction: must be in (0, 1]"},
        BadValue{"rounds.fraction", "-0.5", "rounds.fraction"},
        BadValue{"rounds.fraction", R"("NaN")", "rounds.fraction"},
        BadValue{"rounds.num_rounds", "0", "rounds.num_rounds"},
        BadValue{"rounds.min_clients", "0", "rounds.min_clients"},
        BadValue{"rounds.max_clients", "1", "rounds.max_clients"},
        BadValue{"rounds.over_selection", "-1", "rounds.over_selection"},
        BadValue{"rounds.over_selection", "11", "rounds.over_selection"},
        BadValue{"rounds.train_timeout_ms", "0", "rounds.train_timeout_ms"},
        BadValue{"rounds.unmask_timeout_ms", "999999999999", "rounds.unmask_timeout_ms"},
        BadValue{"model.kind", R"("cnn")", "model.kind"},
        BadValue{"model.kind", nullptr, "model.kind: required"},
        BadValue{"model.input_dim", "0", "model.input_dim"},
        BadValue{"model.input_dim", nullptr, "model.input_dim"},
        BadValue{"model.input_dim", "100000000", "model.input_dim"},
        BadValue{"model.num_classes", "1", "model.num_classes"},
        BadValue{"model.hidden", "[]", "model.hidden"},
        BadValue{"model.hidden", "[0]", "model.hidden[0]"},
        BadValue{"model.hidden", "[4, 4, 4]", "model.hidden"},
        BadValue{"model.hidden", "[1000000, 1000000]", "model:"},
        BadValue{"model", R"({"kind": "logistic", "input_dim": 20, "num_classes": 3})",
                 "model.num_classes"},
        BadValue{"model", R"({"kind": "linear", "input_dim": 20, "hidden": [3]})", "model.hidden"},
        BadValue{"strategy.name", R"("fedprox")", "strategy.name"},
        BadValue{"strategy.server_lr", "0", "strategy.server_lr"},
        BadValue{"strategy.server_lr", "-1", "strategy.server_lr"},
        BadValue{"strategy.beta1", "1", "strategy.beta1"},
        BadValue{"strategy.beta2", "-0.1", "strategy.beta2"},
        BadValue{"strategy.tau", "0", "strategy.tau"},
        BadValue{"compression.density", "0", "compression.density"},
        BadValue{"compression.density", "1.5", "compression.density"},
        BadValue{"compression.averaging_period", "-1", "compression.averaging_period"},
        // GD-SEC: not with a sparsifier; beta required; its rule's parameters.
        BadValue{"compression.gdsec", R"({"beta": 0.5, "density": 0.1})",
                 "compression.gdsec: GD-SEC selects its own coordinates"},
        BadValue{"compression", R"({"gdsec": {"density": 0.1}})", "compression.gdsec.beta"},
        BadValue{"compression", R"({"gdsec": {"beta": 1.5, "density": 0.1}})",
                 "compression.gdsec.beta"},
        BadValue{"compression", R"({"gdsec": {"beta": 0.5}})", "compression.gdsec.density"},
        BadValue{"compression",
                 R"({"gdsec": {"beta": 0.5, "rule": "GD_SEC_RULE_THRESHOLD", "xi": -1}})",
                 "compression.gdsec.xi"},
        BadValue{"compression",
                 R"({"gdsec": {"beta": 0.5, "density": 0.1},
                     "error_feedback": "ERROR_FEEDBACK_CLASSIC"})",
                 "compression.gdsec: GD-SEC has its own error correction"},
        // A GD-SEC config whose checkpoints would lag its h (every_rounds is 2 here).
        BadValue{"compression", R"({"gdsec": {"beta": 0.5, "density": 0.1}})",
                 "checkpoint.every_rounds: GD-SEC"},
        BadValue{"secure_aggregation.ring_bits", "16", "secure_aggregation.ring_bits"},
        BadValue{"secure_aggregation.clip", "0", "secure_aggregation.clip"},
        BadValue{"secure_aggregation.clip", "1e9", "secure_aggregation.clip"},
        BadValue{"secure_aggregation.support_density", "0", "secure_aggregation.support_density"},
        BadValue{"secure_aggregation.support_density", "2", "secure_aggregation.support_density"},
        BadValue{"secure_aggregation.exploration", "1", "secure_aggregation.exploration"},
        BadValue{"secure_aggregation.degree", "3", "secure_aggregation.degree"},
        BadValue{"secure_aggregation.threshold", "9", "secure_aggregation.threshold"},  // > 8
        BadValue{"secure_aggregation.threshold", "6", "secure_aggregation.threshold"},  // > 4+1
        BadValue{"secure_aggregation.max_weight", "0", "secure_aggregation.max_weight"},
        BadValue{"secure_aggregation.scale", "1024", "secure_aggregation.scale"},
        BadValue{"secure_aggregation.union_threshold", "2", "secure_aggregation.union_threshold"},
        BadValue{"secure_aggregation.sign_advertisements", "true",
                 "secure_aggregation.sign_advertisements"},
        BadValue{"secure_aggregation.support_policy", "9", "secure_aggregation.support_policy"},
        BadValue{"compression", nullptr, "secure_aggregation.support_policy"},  // dense + sparse S
        BadValue{"checkpoint.every_rounds", "0", "checkpoint.every_rounds"},
        BadValue{"checkpoint.keep", "0", "checkpoint.keep"},
        BadValue{"coordinator.port", "70000", "coordinator.port"},
        BadValue{"coordinator.evaluate_every", "0", "coordinator.evaluate_every"},
        BadValue{"coordinator.threads", "0", "coordinator.threads"},
        BadValue{"coordinator.threads", "5000", "coordinator.threads"},
        BadValue{"coordinator.hello_timeout_ms", "0", "coordinator.hello_timeout_ms"},
        BadValue{"coordinator.round_log", R"("")", "coordinator.round_log"},
        BadValue{"coordinator.eval_data", R"({"dataset": "cifar"})",
                 "coordinator.eval_data.dataset"},
        BadValue{"coordinator.eval_data", R"({"directory": "/x"})",
                 "coordinator.eval_data.dataset"},
        BadValue{"metrics.port", "70000", "metrics.port"},
        BadValue{"tls.ca_file", nullptr, "tls.ca_file"},
        BadValue{"net.max_connections", "0", "net.max_connections"},
        BadValue{"net.max_queued_messages", "0", "net.max_queued_messages"},
        BadValue{"net.max_queued_bytes", "0", "net.max_queued_bytes"},
        BadValue{"net.handshake_timeout_ms", "0", "net.handshake_timeout_ms"},
        BadValue{"net.max_update_frame_bytes", "2000000000", "net.max_update_frame_bytes"},
        BadValue{"net.max_model_frame_bytes", "0", "net.max_model_frame_bytes"}));

TEST(FederationConfigTest, EvaluationDataMustFitTheModel) {
  // Fashion-MNIST would not fit a 20-feature model either; the synthetic split does not fit
  // a 784-feature model.
  const std::string json = Edit(kCoordinatorJson, "model.input_dim", "784");
  StatusOr<CoordinatorSetup> setup = Coordinator(json);
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.status().code(), StatusCode::kInvalidArgument) << setup.status();
  EXPECT_THAT(std::string(setup.status().message()), HasSubstr("coordinator.eval_data"));
}

TEST(FederationConfigTest, MissingEvaluationFilesAreNotFound) {
  const std::string json = Edit(kCoordinatorJson, "coordinator.eval_data",
                                R"({"dataset": "fashion-mnist", "directory": "/nonexistent"})");
  StatusOr<CoordinatorSetup> setup = Coordinator(json);
  ASSERT_FALSE(setup.ok());
  EXPECT_EQ(setup.status().code(), StatusCode::kNotFound) << setup.status();
  EXPECT_THAT(std::string(setup.status().message()), HasSubstr("coordinator.eval_data"));
}

class ClientBadValueTest : public ::testing::TestWithParam<BadValue> {};

TEST_P(ClientBadValueTest, IsRefusedNamingTheField) {
  const BadValue& b = GetParam();
  const std::string json =
      b.value == nullptr ? Erase(kClientJson, b.path) : Edit(kClientJson, b.path, b.value);
  StatusOr<ClientSetup> setup = Client(json);
  ASSERT_FALSE(setup.ok()) << json;
  EXPECT_EQ(setup.status().code(), StatusCode::kInvalidArgument) << setup.status();
  EXPECT_THAT(std::string(setup.status().message()), HasSubstr(b.message));
}

INSTANTIATE_TEST_SUITE_P(
    Sections, ClientBadValueTest,
    ::testing::Values(
        BadValue{"client.client_id", nullptr, "client.client_id: required"},
        BadValue{"client.client_id", R"("bad id!")", "client.client_id"},
        BadValue{"client.coordinator_port", nullptr, "client.coordinator_port"},
        BadValue{"client.coordinator_port", "70000", "client.coordinator_port"},
        BadValue{"client.threads", "0", "client.threads"},
        BadValue{"client.reconnect.jitter", "2", "client.reconnect.jitter"},
        BadValue{"client.welcome_timeout_ms", "0", "client.welcome_timeout_ms"},
        BadValue{"client.state_file", R"("")", "client.state_file"},
        BadValue{"client.reconnect.initial_backoff_ms", "0", "client.reconnect.initial_backoff_ms"},
        BadValue{"client.reconnect.max_backoff_ms", "50", "client.reconnect.max_backoff_ms"},
        BadValue{"client.data.dataset", nullptr, "client.data.dataset: required"},
        BadValue{"client.data.dataset", R"("cifar")", "client.data.dataset"},
        BadValue{"client.data.num_parts", "0", "client.data.num_parts"},
        BadValue{"client.data.part", "3", "client.data.part"},
        BadValue{"client.data.partition", R"("random")", "client.data.partition"},
        BadValue{"client.data.dirichlet_alpha", "0", "client.data.dirichlet_alpha"},
        BadValue{"client.data.num_parts", "5000", "client.data"},  // more parts than samples
        BadValue{"client.local.learning_rate", "0", "client.local.learning_rate"},
        BadValue{"client.local.momentum", "1", "client.local.momentum"},
        BadValue{"client.local.batch_size", "0", "client.local.batch_size"},
        BadValue{"client.local.epochs", "0", "client.local.epochs"},
        BadValue{"model.input_dim", "784", "client.data"},  // the data has 20 features
        BadValue{"model.kind", nullptr, "model.kind"},
        BadValue{"tls.ca_file", nullptr, "tls.ca_file"},
        BadValue{"net.read_timeout_ms", "0", "net.read_timeout_ms"}));

// ---- Unknown fields, wrong types, syntax -------------------------------------------------

TEST(FederationConfigTest, UnknownFieldsAreRefusedAtEveryDepth) {
  for (const char* path : {"bogus_top", "rounds.bogus_rounds", "client.data.bogus_data",
                           "client.reconnect.bogus_reconnect", "secure_aggregation.bogus_secagg",
                           "coordinator.eval_data.bogus_eval", "compression.gdsec.bogus_gdsec"}) {
    const std::string json = Edit(kCoordinatorJson, path, "1");
    StatusOr<FederationConfigFile> file = ParseFederationConfig(json);
    ASSERT_FALSE(file.ok()) << path;
    EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument) << file.status();
    const std::string name = std::string(path).substr(std::string(path).rfind('.') + 1);
    EXPECT_THAT(std::string(file.status().message()), HasSubstr(name)) << path;
  }
}

TEST(FederationConfigTest, WrongTypesAreRefusedNamingTheField) {
  struct Case {
    const char* path;
    const char* value;
    const char* field;  // as protobuf's JSON parser names it
  };
  for (const Case& c : std::vector<Case>{
           {"rounds.fraction", R"("half")", "fraction"},
           {"rounds.num_rounds", "-1", "num_rounds"},
           {"rounds.num_rounds", "1.5", "num_rounds"},
           {"rounds.num_rounds", "5000000000", "num_rounds"},
           {"model.hidden", R"(["x"])", "hidden"},
           {"model.hidden", R"({"a": 1})", "hidden"},
           {"model", "[1]", "model"},
           {"secure_aggregation.enabled", "3", "enabled"},
           {"secure_aggregation.enabled", R"("x")", "enabled"},
           {"compression.sparsifier", R"("TOPK")", "sparsifier"},
           {"run_name", "7", "run_name"},
       }) {
    const std::string json = Edit(kCoordinatorJson, c.path, c.value);
    StatusOr<FederationConfigFile> file = ParseFederationConfig(json);
    ASSERT_FALSE(file.ok()) << c.path << " = " << c.value;
    EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument) << file.status();
    EXPECT_THAT(std::string(file.status().message()), HasSubstr(c.field))
        << c.path << " = " << c.value;
  }
}

TEST(FederationConfigTest, SyntaxErrorsAreRefused) {
  for (const char* json : {"", "{", "[]", "{\"run_name\": }", "{} trailing", "null"}) {
    StatusOr<FederationConfigFile> file = ParseFederationConfig(json);
    ASSERT_FALSE(file.ok()) << json;
    EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument) << file.status();
  }
}

// ---- Files ---------------------------------------------------------------------------------

TEST(FederationConfigTest, LoadsAFileAndNamesItInErrors) {
  const std::string dir = TempDir();
  const std::string good = dir + "/good.json";
  WriteText(good, kCoordinatorJson);
  StatusOr<FederationConfigFile> file = LoadFederationConfig(good);
  ASSERT_TRUE(file.ok()) << file.status();
  EXPECT_TRUE(file->Has("rounds.fraction"));
  EXPECT_TRUE(file->Has("coordinator.eval_data.seed"));
  EXPECT_FALSE(file->Has("rounds.share_keys_timeout_ms"));

  const std::string bad = dir + "/bad.json";
  WriteText(bad, Edit(kCoordinatorJson, "rounds.bogus", "1"));
  file = LoadFederationConfig(bad);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(file.status().message()), HasSubstr(bad));

  file = LoadFederationConfig(dir + "/missing.json");
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kNotFound) << file.status();
  EXPECT_THAT(std::string(file.status().message()), HasSubstr("missing.json"));

  file = LoadFederationConfig(dir);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kInvalidArgument) << file.status();

  const std::string big = dir + "/big.json";
  WriteText(big, "{\"run_name\": \"" + std::string(kMaxConfigFileBytes, 'x') + "\"}");
  file = LoadFederationConfig(big);
  ASSERT_FALSE(file.ok());
  EXPECT_EQ(file.status().code(), StatusCode::kResourceExhausted) << file.status();

  if (::geteuid() != 0) {  // root reads anything
    const std::string locked = dir + "/locked.json";
    WriteText(locked, kCoordinatorJson);
    ASSERT_EQ(::chmod(locked.c_str(), 0), 0);
    file = LoadFederationConfig(locked);
    ASSERT_FALSE(file.ok());
    EXPECT_EQ(file.status().code(), StatusCode::kPermissionDenied) << file.status();
    std::remove(locked.c_str());
  }
  for (const std::string& f : {good, bad, big}) std::remove(f.c_str());
  ::rmdir(dir.c_str());
}

// ---- Fingerprint ---------------------------------------------------------------------------

std::vector<uint8_t> FingerprintOf(const std::string& json) {
  StatusOr<CoordinatorSetup> setup = Coordinator(json);
  EXPECT_TRUE(setup.ok()) << setup.status();
  return setup.ok() ? setup->options.config_fingerprint : std::vector<uint8_t>{};
}

TEST(FederationConfigTest, FingerprintCoversTheRunNotTheDeployment) {
  const std::vector<uint8_t> base = FingerprintOf(kCoordinatorJson);
  ASSERT_EQ(base.size(), 32u);
  // Moved, re-keyed, re-tuned deployments resume the same run.
  for (const auto& [path, value] : std::vector<std::pair<const char*, const char*>>{
           {"coordinator.port", "9999"},
           {"coordinator.listen_address", R"("127.0.0.1")"},
           {"tls.ca_file", R"("/etc/sotto/ca.pem")"},
           {"checkpoint.directory", R"("/var/lib/sotto")"},
           {"checkpoint.keep", "9"},
           {"metrics.port", "0"},
           {"net.max_connections", "10"},
           {"rounds.train_timeout_ms", "1000"},
           {"coordinator.evaluate_every", "1"},
           {"coordinator.hello_timeout_ms", "1000"},
           {"rounds.fraction", "0.5"},  // the same value written again
       }) {
    EXPECT_EQ(FingerprintOf(Edit(kCoordinatorJson, path, value)), base) << path;
  }
  EXPECT_EQ(FingerprintOf(Erase(kCoordinatorJson, "coordinator.eval_data")), base);
  // What defines the run changes it.
  for (const auto& [path, value] : std::vector<std::pair<const char*, const char*>>{
           {"run_name", R"("other")"},
           {"coordinator.seed", "6"},
           {"rounds.num_rounds", "5"},
           {"rounds.fraction", "0.75"},
           {"model.init_seed", "10"},
           {"model.hidden", "[16]"},
           {"strategy.server_lr", "0.2"},
           {"compression.density", "0.02"},
           {"secure_aggregation.clip", "3"},
           {"secure_aggregation.degree", "0"},
       }) {
    EXPECT_NE(FingerprintOf(Edit(kCoordinatorJson, path, value)), base) << path;
  }
  // Absent and explicitly default are the same run.
  const std::string minimal = R"({"model": {"kind": "logistic", "input_dim": 20},
                                  "tls": {"ca_file": "ca.pem"}})";
  const std::string explicit_defaults =
      Edit(Edit(Edit(minimal, "rounds", R"({"num_rounds": 10, "fraction": 1, "min_clients": 1})"),
                "strategy", R"({"name": "fedavg", "server_lr": 1})"),
           "coordinator.seed", "1");
  EXPECT_EQ(FingerprintOf(minimal), FingerprintOf(explicit_defaults));
  // An absent degree (the recommended one) is not the complete graph.
  const std::string secure =
      Edit(Edit(minimal, "secure_aggregation.enabled", "true"), "rounds.min_clients", "3");
  EXPECT_NE(FingerprintOf(secure), FingerprintOf(Edit(secure, "secure_aggregation.degree", "0")));
}

// ---- The examples --------------------------------------------------------------------------

TEST(FederationConfigTest, ExampleConfigsAreValid) {
  const std::string dir = std::string(SOTTO_SOURCE_DIR) + "/examples/federation";
  StatusOr<FederationConfigFile> coordinator_file = LoadFederationConfig(dir + "/coordinator.json");
  ASSERT_TRUE(coordinator_file.ok()) << coordinator_file.status();
  StatusOr<CoordinatorSetup> coordinator = BuildCoordinatorSetup(*coordinator_file);
  ASSERT_TRUE(coordinator.ok()) << coordinator.status();
  EXPECT_TRUE(coordinator->options.secure_aggregation.enabled);
  EXPECT_NE(coordinator->options.secure_aggregation.policy, secagg::SupportPolicy::kDense);
  EXPECT_EQ(coordinator->options.compression.sparsifier(), proto::SPARSIFIER_TOP_K);
  EXPECT_TRUE(static_cast<bool>(coordinator->options.evaluate));

  StatusOr<FederationConfigFile> client_file = LoadFederationConfig(dir + "/client.json");
  ASSERT_TRUE(client_file.ok()) << client_file.status();
  StatusOr<ClientSetup> client = BuildClientSetup(*client_file);
  ASSERT_TRUE(client.ok()) << client.status();
  // Both sides describe the same model.
  EXPECT_EQ(client->trainer->NumParameters(), coordinator->options.initial_model.size());
  EXPECT_EQ(client->dialer.port, coordinator->listener.port);
  EXPECT_EQ(client->options.state_file, "client-state/client-0.state");

  // The README's GD-SEC section: its compression stanza in place of the example's.
  FederationConfigFile gdsec = *coordinator_file;
  *gdsec.config.mutable_compression() = proto::CompressionConfig();
  gdsec.config.mutable_compression()->mutable_gdsec()->set_beta(0.5);
  gdsec.config.mutable_compression()->mutable_gdsec()->set_rule(proto::GD_SEC_RULE_TOP_K);
  gdsec.config.mutable_compression()->mutable_gdsec()->set_density(0.01);
  StatusOr<CoordinatorSetup> gdsec_setup = BuildCoordinatorSetup(gdsec);
  ASSERT_TRUE(gdsec_setup.ok()) << gdsec_setup.status();
  EXPECT_TRUE(proto::IsGdSec(gdsec_setup->options.compression));
}

}  // namespace
}  // namespace sotto::cli
