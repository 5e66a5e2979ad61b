#pragma once

// The configuration files of `sotto coordinator` and `sotto client`: JSON read strictly into
// proto::FederationConfig (sotto/proto/sotto.proto), then turned into the options of
// coordinator::Coordinator, client::Client and the TLS transport (BAD_INPUTS row 25).
//
//   ASSIGN_OR_RETURN(FederationConfigFile file, LoadFederationConfig("coordinator.json"));
//   ASSIGN_OR_RETURN(CoordinatorSetup setup, BuildCoordinatorSetup(file));
//
// Reading. A field the schema does not know, at any depth, a value of the wrong JSON type and
// a syntax error are refused with InvalidArgument naming the field (protobuf's JSON parser).
// Field names may be written as in the .proto (snake_case, as in examples/federation/) or in
// lowerCamelCase. The file must be at most kMaxConfigFileBytes. (Protobuf's JSON mapping also
// accepts numbers written as strings, "0.5", and its parser accepts "true"/"yes" for a bool and
// a single value for a repeated field; those are not errors.)
//
// Values. Each builder checks the sections its side uses and refuses an impossible value with
// InvalidArgument naming the field by its path in the file, as in the .proto:
// "rounds.fraction: must be in (0, 1]". Whether a field is present is known (not only its
// value), so an explicit 0 is refused where 0 is impossible, while an absent field takes the
// default below. Seeds default to 1 wherever they appear.
//
// Coordinator (BuildCoordinatorSetup) reads run_name, coordinator, rounds, model, strategy,
// compression, secure_aggregation, checkpoint, metrics, tls and net:
//   run_name                         "sotto"
//   coordinator.listen_address       "127.0.0.1" (set "0.0.0.0" to serve other hosts)
//   coordinator.port                 0: any free port (`sotto coordinator` prints it)
//   coordinator.seed                 1
//   coordinator.eval_data            unset: no evaluation; else dataset (required),
//                                    directory, seed (1) of the test split to evaluate on
//   coordinator.evaluate_every       1
//   coordinator.round_log            <checkpoint.directory>/rounds.jsonl, none without one
//   coordinator.heartbeat_interval_ms 0 (none)
//   coordinator.threads              1
//   coordinator.hello_timeout_ms     30000
//   rounds.num_rounds 10, fraction 1, min_clients 1, max_clients 0 (no cap),
//   over_selection 0; train_timeout_ms 300000, advertise_keys 30000, share_keys 30000,
//   masked_input 60000, unmask 30000
//   model.kind and model.input_dim   required; num_classes required for softmax/mlp (2 for
//                                    logistic, 0 for linear); hidden: mlp only, 1 or 2 widths
//   model.init_seed                  1
//   strategy.name "fedavg", server_lr 1, beta1 0.9, beta2 0.99, tau 0.001
//   compression                      unset sparsifier: dense updates; checked by
//                                    proto::ValidateCompressionConfig; gdsec is refused
//   secure_aggregation               enabled false (the other fields are then not read);
//                                    support_policy GLOBAL_TOP_K, or DENSE with dense
//                                    updates (which refuse a sparse policy); support_density
//                                    0.1; exploration 0.5; clip 4; ring_bits 0 (automatic) /
//                                    32 / 64; degree absent: the recommended SecAgg+ degree,
//                                    0: the complete graph, else even; threshold 0 (majority),
//                                    at most rounds.max_clients and degree + 1 when those are
//                                    set; max_weight 65536; mask_indexing SUPPORT_POSITION.
//                                    scale, union_threshold and sign_advertisements are not
//                                    supported by the coordinator yet and are refused when set.
//   checkpoint.directory             none (no checkpoints, no resume); every_rounds 1, keep 3
//   metrics.listen_address           "127.0.0.1"; metrics.port 0: no HTTP endpoint
//   tls.ca_file                      required; cert_file and key_file default to the files
//                                    `sotto certs issue --server` writes next to it:
//                                    DIR/server.pem and DIR/server.key
//   net                              the transport's defaults (sotto/net/transport.h);
//                                    max_connections 1024; idle_timeout_ms 0 disables the
//                                    idle deadline; frame caps at most 1 GiB
// The config fingerprint (CoordinatorOptions::config_fingerprint, checked against
// checkpoints) is BLAKE2b-256 over the deterministic serialization of what defines the run,
// with defaults filled in: run_name, coordinator.seed, rounds (without the timeouts), model,
// strategy, compression, secure_aggregation. Paths, addresses, ports, TLS, net, deadlines,
// metrics and evaluation are not part of it: a coordinator restarted with another port or
// certificate resumes its run.
//
// Client (BuildClientSetup) reads client, model, tls and net:
//   client.coordinator_host          "127.0.0.1"
//   client.coordinator_port          required (1..65535)
//   client.server_name               coordinator_host
//   client.client_id                 required: the CN of the client certificate
//   client.capabilities              sent in Hello; memory_budget_bytes and
//                                    uplink_bytes_per_second are also the client's budgets
//   client.reconnect                 initial_backoff_ms 200, max_backoff_ms 10000, jitter 0.5,
//                                    max_attempts 0 (retry forever)
//   client.welcome_timeout_ms        30000
//   client.idle_timeout_ms           0 (wait for the coordinator forever)
//   client.seed                      1
//   client.threads                   1
//   client.data.dataset              required ("synthetic" or "fashion-mnist")
//   client.data.directory            /usr/share/datasets/fashion-mnist
//   client.data.num_parts 1, part 0 (< num_parts), partition "iid" (or "dirichlet",
//   "shards": 2 shards per part), dirichlet_alpha 0.5, seed 1 (equal on every client),
//   max_samples 0 (all)
//   client.local                     learning_rate 0.05, momentum 0, batch_size 32, epochs 1
//   model                            as for the coordinator: the same section on both sides
//   tls.ca_file                      required; cert_file and key_file default to the files
//                                    `sotto certs issue --client ID` writes next to it:
//                                    DIR/<client_id>.pem and DIR/<client_id>.key
// Sections a side does not read are parsed (unknown fields are still refused) but not checked,
// so one file can serve both sides.
//
// Thread-safety: pure functions; the returned objects are thread-compatible.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "sotto/base/statusor.h"
#include "sotto/client/client.h"
#include "sotto/coordinator/coordinator.h"
#include "sotto/coordinator/http_server.h"
#include "sotto/core/trainer.h"
#include "sotto/net/tls.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::cli {

// A config file larger than this is refused (ResourceExhausted) before it is parsed.
inline constexpr size_t kMaxConfigFileBytes = size_t{1} << 20;
// The largest model a config may describe (parameters): a RoundStart of fp32 values stays
// under the default 512 MiB frame cap.
inline constexpr uint64_t kMaxModelParameters = uint64_t{1} << 27;
// The longest timeout a config may set: 7 days.
inline constexpr uint64_t kMaxTimeoutMs = uint64_t{7} * 24 * 3600 * 1000;

// A parsed config file and which fields it sets.
struct FederationConfigFile {
  proto::FederationConfig config;
  // The dotted .proto-name paths of the fields present in the file ("rounds.fraction"; a
  // repeated field counts as present when it is given at all). A JSON null counts as absent.
  std::set<std::string, std::less<>> present;

  bool Has(std::string_view path) const { return present.find(path) != present.end(); }
};

// Parses a config from JSON text. InvalidArgument for a syntax error, an unknown field or a
// value of the wrong type, naming it.
StatusOr<FederationConfigFile> ParseFederationConfig(std::string_view json);

// Reads and parses `path`. NotFound when it does not exist, PermissionDenied when it cannot be
// read, InvalidArgument for a directory or a file ParseFederationConfig refuses,
// ResourceExhausted over kMaxConfigFileBytes, Unavailable for other read errors; the message
// names the file.
StatusOr<FederationConfigFile> LoadFederationConfig(const std::string& path);

struct CoordinatorSetup {
  coordinator::CoordinatorOptions options;  // evaluate is set when coordinator.eval_data is
  net::TlsServerOptions listener;
  bool metrics_enabled = false;  // metrics.port != 0
  coordinator::HttpServerOptions metrics;
  size_t eval_samples = 0;  // the test split's size (0: no evaluation)
};

// Builds the coordinator's options (see the file comment). Loads the evaluation data when
// coordinator.eval_data is set: its errors (NotFound for missing Fashion-MNIST files, ...) are
// passed on with the field as context. Does not touch the TLS files or the checkpoint
// directory (TlsListener::Create and Coordinator::Create do).
StatusOr<CoordinatorSetup> BuildCoordinatorSetup(const FederationConfigFile& file);

struct ClientSetup {
  client::ClientOptions options;  // on_round_end is left empty for the caller
  net::TlsClientOptions dialer;
  // The stock trainer over this client's part of the data; pass trainer.get() to
  // client::Client::Create and keep the setup alive while the client runs.
  std::unique_ptr<core::ModelTrainer> trainer;
};

// Builds the client's options and loads its data part (see the file comment). Data errors
// are passed on with "client.data" as context.
StatusOr<ClientSetup> BuildClientSetup(const FederationConfigFile& file);

}  // namespace sotto::cli
