#pragma once

// The edge client SDK: a Client takes part in a federation on behalf of an application that
// implements core::Trainer (sotto/core/trainer.h).
//
//   net::EventLoop loop;  std::thread io([&] { loop.Run(); });
//   ASSIGN_OR_RETURN(auto dialer, net::TlsDialer::Create(loop, tls_options));
//   ASSIGN_OR_RETURN(auto client, client::Client::Create(options, &my_trainer, dialer));
//   Status done = client->Run();   // blocks until the run finishes, Stop(), or a fatal error
//   loop.Stop(); io.join();
//
// What Run() does (docs/PROTOCOL.md):
//   - dials the coordinator, sends Hello (protocol versions, client id, capabilities), waits
//     for Welcome;
//   - for each RoundStart: trains from the global model (Trainer::Train with a seed derived
//     from options.seed and the round), compresses the pseudo-gradient as the round says
//     (compress::Compressor: top-k / Gaussian-k / threshold / random-k with error feedback;
//     or GD-SEC, compress::GdSecClient: the difference from h_m, with its own error memory;
//     its threshold rule scales by the model's movement since this client's last counted round),
//     and answers with a plain Update or plays the secure-aggregation client role
//     (secagg::SecAggClient: error feedback runs on the round's support, and what the ring
//     encoding clipped or rounded away goes back into the error memory);
//   - keeps the compression state across rounds and across reconnects: a round's change to
//     the error memory is pending until RoundEnd says the input is in the sum (COMPLETED);
//     DROPPED, ABORTED, or a new RoundStart for the same round (the coordinator restarted)
//     roll it back, so a client's state never holds an update the model did not receive;
//   - reconnects after a lost connection with jittered exponential backoff
//     (initial_backoff * 2^attempt, capped at max_backoff; `jitter` of each wait is random);
//   - respects its budgets: a round whose working set (sotto/client: EstimateRoundMemory) is
//     over memory_budget_bytes is declined with an Error (ResourceExhausted) and the state is
//     untouched; uplink sends are paced to uplink_bytes_per_second;
//   - returns OK when the coordinator's RoundEnd carries run_finished.
//
// Errors from Run(): Cancelled after Stop(); FailedPrecondition when the coordinator refuses
// the client for good (unsupported version, unknown client) or reconnect attempts run out
// (Unavailable); errors of the trainer (its Status, with context).
//
// Thread-safety: Run() on one thread; Stop() and stats() from any thread. The trainer is
// called only from Run's thread. Transport callbacks only queue (net::Inbox).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "sotto/base/clock.h"
#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/core/trainer.h"
#include "sotto/net/transport.h"
#include "sotto/proto/sotto.pb.h"

namespace sotto::client {

struct BackoffOptions {
  std::chrono::milliseconds initial{200};
  std::chrono::milliseconds max{10'000};
  double jitter = 0.5;        // in [0, 1]
  uint32_t max_attempts = 0;  // consecutive failed dials before giving up; 0: never give up
};

struct ClientOptions {
  std::string client_id;  // must equal the identity the dialer authenticates as
  proto::Capabilities capabilities;
  BackoffOptions reconnect;
  uint64_t seed = 1;                     // local randomness: training shuffles, stochastic rounding
  uint64_t memory_budget_bytes = 0;      // 0: no limit
  uint64_t uplink_bytes_per_second = 0;  // 0: no pacing
  std::chrono::milliseconds welcome_timeout{30'000};
  // Longest wait for any message from the coordinator while connected (between rounds too)
  // before the connection is treated as lost; 0: wait forever.
  std::chrono::milliseconds idle_timeout{0};
  int threads = 1;  // compression and secure-aggregation masks
  // Where the compression state (error memory, GD-SEC's h_m and e_m, a round whose outcome is
  // not known yet) is kept between processes (sotto/client/state_file.h); empty: in memory
  // only. With it, a client restarted after a crash rejoins its run where it left; without it,
  // a restarted client starts afresh (and under GD-SEC is refused until the run ends).
  std::string state_file;
  // Called after each round this client took part in (may be empty), on Run's thread.
  std::function<void(uint64_t round, proto::RoundOutcome outcome)> on_round_end;
};

// InvalidArgument naming the field.
Status ValidateClientOptions(const ClientOptions& options);

// Bytes a client needs for a round beyond the trainer's own: the global model, the update,
// the error memory and the encoded message, for a model of `dimension` parameters.
uint64_t EstimateRoundMemory(uint64_t dimension, const proto::CompressionConfig& compression,
                             uint64_t support_size);

// Waits `bytes` / `rate` seconds of a clock so that sends stay under a bandwidth budget
// (a token bucket with a one-second burst). Thread-compatible.
class Pacer {
 public:
  Pacer(uint64_t bytes_per_second, Clock* clock);
  // Blocks (Clock::SleepFor) until `bytes` may be sent; returns at once when unlimited.
  void Acquire(uint64_t bytes);

 private:
  uint64_t rate_;
  Clock* clock_;
  Clock::TimePoint next_free_{};
  bool started_ = false;
};

struct ClientStats {
  uint64_t rounds_completed = 0;  // RoundEnd COMPLETED with this client's input in the sum
  uint64_t rounds_dropped = 0;    // DROPPED or ABORTED, or abandoned on a lost connection
  uint64_t rounds_declined = 0;   // over the memory budget
  uint64_t connections = 0;       // successful handshakes (the first and every reconnect)
  uint64_t failed_dials = 0;
  uint64_t bytes_sent = 0;  // frame bytes, all connections
  uint64_t bytes_received = 0;
  uint64_t last_round = 0;
};

class Client {
 public:
  // `trainer` is not owned and must outlive the client. InvalidArgument for bad options.
  static StatusOr<std::unique_ptr<Client>> Create(ClientOptions options, core::Trainer* trainer,
                                                  std::shared_ptr<net::Dialer> dialer,
                                                  Clock* clock = Clock::Real());
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Status Run();
  void Stop();
  ClientStats stats() const;
  // The error memory of the compressor or of GD-SEC (empty before the first compressed
  // round), for tests: call it when Run() is not running.
  std::vector<float> error_memory() const;
  // GD-SEC's h_m in fixed point (compress::GdSecClient::h_fixed; empty without GD-SEC), for
  // tests: the coordinator's h is the sum of its members'. Call it when Run() is not running.
  std::vector<int64_t> gdsec_h() const;

  struct State;

 private:
  Client(ClientOptions options, core::Trainer* trainer, std::shared_ptr<net::Dialer> dialer,
         Clock* clock);

  std::unique_ptr<State> state_;
};

}  // namespace sotto::client
