#include "sotto/client/c_api.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <string>
#include <thread>

#include "sotto/client/client.h"
#include "sotto/net/event_loop.h"
#include "sotto/net/tls.h"

namespace {

using sotto::Status;
using sotto::StatusOr;

int Fail(const Status& status, char* error, size_t error_len) {
  if (error != nullptr && error_len > 0) {
    const std::string text = status.ToString();
    const size_t n = std::min(text.size(), error_len - 1);
    std::memcpy(error, text.data(), n);
    error[n] = '\0';
  }
  return static_cast<int>(status.code());
}

// Adapts the C callback to core::Trainer.
class CTrainer final : public sotto::core::Trainer {
 public:
  explicit CTrainer(const sotto_trainer& t) : t_(t) {}
  size_t NumParameters() const override { return t_.num_parameters; }
  StatusOr<sotto::core::TrainOutput> Train(std::span<const float> global,
                                           const sotto::core::RoundContext& context,
                                           std::span<float> update) override {
    uint64_t examples = 0;
    double loss = 0.0;
    const int rc = t_.train(t_.user, global.data(), update.data(), global.size(), context.round,
                            context.seed, &examples, &loss);
    if (rc != 0) {
      return sotto::FailedPreconditionError("the application's train callback returned " +
                                            std::to_string(rc));
    }
    return sotto::core::TrainOutput{examples, loss};
  }
  StatusOr<sotto::learn::EvalResult> Evaluate(std::span<const float>) override {
    return sotto::UnimplementedError("the C trainer does not evaluate");
  }

 private:
  sotto_trainer t_;
};

}  // namespace

struct sotto_client {
  std::unique_ptr<sotto::net::EventLoop> loop;
  std::thread io;
  std::unique_ptr<CTrainer> trainer;
  std::unique_ptr<sotto::client::Client> client;

  ~sotto_client() {
    if (client) client->Stop();
    if (loop) loop->Stop();
    if (io.joinable()) io.join();
    client.reset();  // before the loop its connections live on
  }
};

extern "C" {

void sotto_client_config_init(sotto_client_config* config) {
  if (config == nullptr) return;
  std::memset(config, 0, sizeof *config);
  config->initial_backoff_ms = 200;
  config->max_backoff_ms = 10'000;
  config->jitter = 0.5;
  config->threads = 1;
}

int sotto_client_create(const sotto_client_config* config, const sotto_trainer* trainer,
                        sotto_client** out, char* error, size_t error_len) {
  if (out == nullptr) return Fail(sotto::InvalidArgumentError("out is NULL"), error, error_len);
  *out = nullptr;
  if (config == nullptr) {
    return Fail(sotto::InvalidArgumentError("config is NULL"), error, error_len);
  }
  if (trainer == nullptr || trainer->train == nullptr || trainer->num_parameters == 0) {
    return Fail(
        sotto::InvalidArgumentError("trainer: needs a train callback and num_parameters >= 1"),
        error, error_len);
  }
  auto str = [](const char* s) { return s == nullptr ? std::string() : std::string(s); };
  sotto::client::ClientOptions options;
  options.client_id = str(config->client_id);
  options.seed = config->seed;
  options.memory_budget_bytes = config->memory_budget_bytes;
  options.uplink_bytes_per_second = config->uplink_bytes_per_second;
  options.reconnect.initial = std::chrono::milliseconds(config->initial_backoff_ms);
  options.reconnect.max = std::chrono::milliseconds(config->max_backoff_ms);
  options.reconnect.jitter = config->jitter;
  options.reconnect.max_attempts = config->max_attempts;
  options.threads = config->threads;
  options.state_file = str(config->state_file);
  if (Status valid = sotto::client::ValidateClientOptions(options); !valid.ok()) {
    return Fail(valid, error, error_len);
  }
  if (config->coordinator_port == 0) {
    return Fail(sotto::InvalidArgumentError("coordinator_port: must be set"), error, error_len);
  }
  sotto::net::TlsClientOptions tls;
  tls.host = config->coordinator_host != nullptr ? config->coordinator_host : "127.0.0.1";
  tls.port = config->coordinator_port;
  tls.server_name = str(config->server_name);
  tls.credentials.ca_file = str(config->ca_file);
  tls.credentials.cert_file = str(config->cert_file);
  tls.credentials.key_file = str(config->key_file);

  auto c = std::make_unique<sotto_client>();
  c->loop = std::make_unique<sotto::net::EventLoop>();
  StatusOr<std::shared_ptr<sotto::net::TlsDialer>> dialer =
      sotto::net::TlsDialer::Create(*c->loop, tls);
  if (!dialer.ok()) return Fail(dialer.status(), error, error_len);
  c->trainer = std::make_unique<CTrainer>(*trainer);
  StatusOr<std::unique_ptr<sotto::client::Client>> client =
      sotto::client::Client::Create(std::move(options), c->trainer.get(), *std::move(dialer));
  if (!client.ok()) return Fail(client.status(), error, error_len);
  c->client = *std::move(client);
  sotto::net::EventLoop* loop = c->loop.get();
  c->io = std::thread([loop] { loop->Run(); });
  *out = c.release();
  return SOTTO_OK;
}

int sotto_client_run(sotto_client* client, char* error, size_t error_len) {
  if (client == nullptr) {
    return Fail(sotto::InvalidArgumentError("client is NULL"), error, error_len);
  }
  Status done = client->client->Run();
  if (!done.ok()) return Fail(done, error, error_len);
  return SOTTO_OK;
}

void sotto_client_stop(sotto_client* client) {
  if (client != nullptr) client->client->Stop();
}

void sotto_client_get_stats(const sotto_client* client, sotto_client_stats* stats) {
  if (client == nullptr || stats == nullptr) return;
  const sotto::client::ClientStats s = client->client->stats();
  stats->rounds_completed = s.rounds_completed;
  stats->rounds_dropped = s.rounds_dropped;
  stats->rounds_declined = s.rounds_declined;
  stats->connections = s.connections;
  stats->bytes_sent = s.bytes_sent;
  stats->bytes_received = s.bytes_received;
}

void sotto_client_destroy(sotto_client* client) { std::unique_ptr<sotto_client> owned(client); }

}  // extern "C"
