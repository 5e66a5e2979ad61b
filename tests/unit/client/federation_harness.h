#pragma once

// A whole federation in one process over the in-memory transport: one Coordinator driven by the
// test thread (which also pumps the MemoryNetwork), and N Clients, each on its own thread, with
// the stock trainer on a part of a seeded logistic-regression problem.
//
// Deterministic in its results (the model after each round), not in its timing: clients run on
// real threads against a real clock, like deployed ones.

#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <numeric>
#include <string>
#include <thread>
#include <vector>

#include "sotto/base/check.h"
#include "sotto/base/clock.h"
#include "sotto/base/status_macros.h"
#include "sotto/base/statusor.h"
#include "sotto/client/client.h"
#include "sotto/coordinator/coordinator.h"
#include "sotto/coordinator/metrics.h"
#include "sotto/core/learn/model.h"
#include "sotto/core/learn/partition.h"
#include "sotto/core/learn/synthetic.h"
#include "sotto/core/trainer.h"
#include "sotto/net/memory_transport.h"

namespace sotto::testing {

constexpr size_t kFeatures = 20;

// An MLP with one hidden layer of 32: 738 parameters.
inline learn::ModelSpec LogisticSpec() {
  return learn::ModelSpec{learn::ModelKind::kMlp, kFeatures, 2, {32}, 0.0};
}

// Coordinator options for a small federation: 3 rounds, every client selected.
inline coordinator::CoordinatorOptions SmallFederation(size_t clients) {
  coordinator::CoordinatorOptions o;
  o.seed = 7;
  o.num_rounds = 3;
  o.selection.min_clients = static_cast<uint32_t>(clients);
  auto model = learn::MakeModel(LogisticSpec());
  o.initial_model.resize((*model)->NumParameters());
  (*model)->Initialize(11, o.initial_model);
  o.compression.set_sparsifier(proto::SPARSIFIER_TOP_K);
  o.compression.set_density(0.25);
  o.compression.set_error_feedback(proto::ERROR_FEEDBACK_CLASSIC);
  o.deadlines.train = std::chrono::seconds(60);
  return o;
}

inline coordinator::CoordinatorOptions SecureSmallFederation(size_t clients) {
  coordinator::CoordinatorOptions o = SmallFederation(clients);
  o.secure_aggregation.enabled = true;
  o.secure_aggregation.policy = secagg::SupportPolicy::kGlobalTopK;
  o.secure_aggregation.density = 0.5;
  o.secure_aggregation.clip = 8.0;
  return o;
}

// A connection that breaks itself when the client sends a given message type in a given round,
// instead of sending it (the client disappears mid-round, as if its process died) or right
// after it (the message arrives, the client never hears back). With hold_redials, the dials
// after the break wait until ReleaseRedials(): the client stays away as long as a test wants.
class BreakingDialer final : public net::Dialer {
 public:
  enum class Break { kInsteadOfSending, kAfterSending };

  BreakingDialer(std::shared_ptr<net::Dialer> inner, net::MemoryNetwork* network,
                 proto::Envelope::BodyCase body, uint64_t round,
                 Break when = Break::kInsteadOfSending, bool hold_redials = false)
      : inner_(std::move(inner)),
        network_(network),
        body_(body),
        round_(round),
        when_(when),
        hold_redials_(hold_redials) {}

  void Dial(net::DialHandler on_done) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (hold_redials_ && broken_ && !released_) {
        held_ = std::move(on_done);
        return;
      }
    }
    DialInner(std::move(on_done));
  }
  bool broken() const { return broken_; }
  void ReleaseRedials() {
    net::DialHandler held;
    {
      std::lock_guard<std::mutex> lock(mu_);
      released_ = true;
      held = std::move(held_);
    }
    if (held) DialInner(std::move(held));
  }

 private:
  void DialInner(net::DialHandler on_done) {
    inner_->Dial([this, on_done](StatusOr<std::shared_ptr<net::Connection>> c) {
      if (!c.ok()) {
        on_done(std::move(c));
        return;
      }
      on_done(std::shared_ptr<net::Connection>(
          std::make_shared<Breaking>(*std::move(c), network_, body_, round_, when_, &broken_)));
    });
  }

  class Breaking final : public net::Connection {
   public:
    Breaking(std::shared_ptr<net::Connection> inner, net::MemoryNetwork* network,
             proto::Envelope::BodyCase body, uint64_t round, Break when, std::atomic<bool>* broken)
        : inner_(std::move(inner)),
          network_(network),
          body_(body),
          round_(round),
          when_(when),
          broken_(broken) {}
    const std::string& peer_id() const override { return inner_->peer_id(); }
    uint64_t id() const override { return inner_->id(); }
    void Start(net::ConnectionCallbacks callbacks) override { inner_->Start(std::move(callbacks)); }
    Status Send(const proto::Envelope& envelope) override {
      if (!*broken_ && envelope.body_case() == body_ && envelope.round_id() == round_) {
        Status sent = when_ == Break::kAfterSending ? inner_->Send(envelope)
                                                    : UnavailableError("link broken by the test");
        *broken_ = true;
        network_->Disconnect(*inner_);
        return sent;
      }
      return inner_->Send(envelope);
    }
    void Close() override { inner_->Close(); }
    bool is_open() const override { return inner_->is_open(); }
    net::ConnectionStats stats() const override { return inner_->stats(); }

   private:
    std::shared_ptr<net::Connection> inner_;
    net::MemoryNetwork* network_;
    proto::Envelope::BodyCase body_;
    uint64_t round_;
    Break when_;
    std::atomic<bool>* broken_;
  };

  std::shared_ptr<net::Dialer> inner_;
  net::MemoryNetwork* network_;
  proto::Envelope::BodyCase body_;
  uint64_t round_;
  Break when_;
  bool hold_redials_;
  std::atomic<bool> broken_{false};
  std::mutex mu_;
  bool released_ = false;
  net::DialHandler held_;
};

class Federation {
 public:
  struct ClientSlot {
    std::string id;
    std::unique_ptr<core::ModelTrainer> trainer;
    std::unique_ptr<client::Client> client;
    std::thread thread;
    Status result = UnknownError("not finished");
    std::atomic<bool> done{false};
  };

  // `customize(i, options)` may change client i's options before it is created.
  Federation(coordinator::CoordinatorOptions options, size_t num_clients,
             std::function<void(size_t, client::ClientOptions&)> customize = {})
      : options_(std::move(options)) {
    if (num_clients == 0) return;
    auto problem = learn::MakeLogisticRegression(600, kFeatures, 1e-3, 5);
    SOTTO_CHECK(problem.ok());
    data_ = problem->data;
    auto parts = learn::PartitionIid(problem->data.num_samples, num_clients, 9);
    SOTTO_CHECK(parts.ok());
    for (size_t i = 0; i < num_clients; ++i) {
      auto slot = std::make_unique<ClientSlot>();
      slot->id = "client-" + std::to_string(i);
      auto model = learn::MakeModel(LogisticSpec());
      SOTTO_CHECK(model.ok());
      learn::SgdOptions sgd{0.1, 0.0, 0.0, 16, 1.0, true};
      auto trainer =
          core::ModelTrainer::Create(*std::move(model), problem->data.Subset((*parts)[i]), sgd);
      SOTTO_CHECK(trainer.ok());
      slot->trainer = *std::move(trainer);
      client::ClientOptions co;
      co.client_id = slot->id;
      co.seed = 100 + i;
      co.reconnect.initial = std::chrono::milliseconds(20);
      co.reconnect.max = std::chrono::milliseconds(200);
      if (customize) customize(i, co);
      clients_.push_back(std::move(slot));
      client_options_.push_back(std::move(co));
    }
  }

  ~Federation() {
    for (auto& c : clients_) {
      if (c->client) c->client->Stop();
    }
    for (auto& c : clients_) {
      if (c->thread.joinable()) c->thread.join();
    }
  }

  Status StartCoordinator() {
    ASSIGN_OR_RETURN(listener_, network_.Listen("coordinator", "coordinator"));
    ASSIGN_OR_RETURN(coordinator_,
                     coordinator::Coordinator::Create(options_, Clock::Real(), &metrics_));
    listener_->Start(
        [this](std::shared_ptr<net::Connection> c) { coordinator_->Accept(std::move(c)); });
    return OkStatus();
  }

  // A crash: every connection breaks at once, the coordinator's state is gone.
  void CrashCoordinator() {
    listener_->Shutdown();
    network_.RunUntilIdle();
    coordinator_.reset();
    listener_.reset();
    network_.RunUntilIdle();
  }

  // `wrap(i, dialer)` may replace client i's dialer (e.g. by a BreakingDialer).
  Status StartClients(
      const std::function<std::shared_ptr<net::Dialer>(size_t, std::shared_ptr<net::Dialer>)>&
          wrap = {}) {
    for (size_t i = 0; i < clients_.size(); ++i) {
      ASSIGN_OR_RETURN(std::shared_ptr<net::Dialer> dialer,
                       network_.NewDialer("coordinator", clients_[i]->id));
      if (wrap) dialer = wrap(i, std::move(dialer));
      RETURN_IF_ERROR(StartClient(i, std::move(dialer)));
    }
    return OkStatus();
  }

  // Starts the clients with client `who`'s link breaking at its `body` message of `round`
  // (BreakingDialer); returns that dialer.
  std::shared_ptr<BreakingDialer> StartClientsBreaking(
      size_t who, proto::Envelope::BodyCase body, uint64_t round,
      BreakingDialer::Break when = BreakingDialer::Break::kInsteadOfSending,
      bool hold_redials = false) {
    std::shared_ptr<BreakingDialer> breaking;
    const Status started = StartClients([&](size_t i, std::shared_ptr<net::Dialer> d) {
      if (i != who) return d;
      breaking = std::make_shared<BreakingDialer>(std::move(d), &network_, body, round, when,
                                                  hold_redials);
      return std::shared_ptr<net::Dialer>(breaking);
    });
    SOTTO_CHECK(started.ok()) << started;
    return breaking;
  }

  // A client process restart: client i stops (as if killed: nothing is sent on its way out)
  // and a new Client with the same options (state file included) and trainer takes its place.
  Status RestartClient(size_t i) {
    ClientSlot& slot = *clients_[i];
    slot.client->Stop();
    slot.thread.join();
    slot.client.reset();
    slot.done = false;
    ASSIGN_OR_RETURN(std::shared_ptr<net::Dialer> dialer,
                     network_.NewDialer("coordinator", slot.id));
    return StartClient(i, std::move(dialer));
  }

  // Creates client i on `dialer` and runs it on its own thread.
  Status StartClient(size_t i, std::shared_ptr<net::Dialer> dialer) {
    ClientSlot& slot = *clients_[i];
    ASSIGN_OR_RETURN(slot.client, client::Client::Create(client_options_[i], slot.trainer.get(),
                                                         std::move(dialer)));
    slot.thread = std::thread([&slot] {
      slot.result = slot.client->Run();
      slot.done = true;
    });
    return OkStatus();
  }

  // Pumps the network and ticks the coordinator until `until()` holds (or a hang guard of
  // `guard` passes: then false). Coordinator errors end the pump too (returned in *error).
  // With tick = false the coordinator only sees messages (no round starts, no deadlines).
  bool PumpUntil(const std::function<bool()>& until,
                 std::chrono::seconds guard = std::chrono::seconds(120), bool tick = true) {
    const auto give_up = std::chrono::steady_clock::now() + guard;
    while (!until()) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      network_.RunUntilIdle();
      if (coordinator_ && tick) {
        Status ticked = coordinator_->Tick();
        if (!ticked.ok()) {
          tick_error_ = ticked;
          return false;
        }
      }
      network_.RunUntilIdle();
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }

  // Pumps until `rounds` rounds have finished, ticking only while fewer have, so that the next
  // round has not been started yet when this returns (false after `guard`, or on an error).
  bool PumpUntilRoundsFinished(size_t rounds,
                               std::chrono::seconds guard = std::chrono::seconds(120)) {
    const auto give_up = std::chrono::steady_clock::now() + guard;
    while (coordinator_->history().size() < rounds) {
      if (std::chrono::steady_clock::now() > give_up) return false;
      network_.RunUntilIdle();
      if (coordinator_->history().size() >= rounds) break;
      Status ticked = coordinator_->Tick();
      if (!ticked.ok()) {
        tick_error_ = ticked;
        return false;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return true;
  }

  // Runs to the end: the coordinator finished and every client returned.
  bool RunToEnd() {
    return PumpUntil([this] {
      if (!coordinator_ || !coordinator_->finished()) return false;
      for (auto& c : clients_) {
        if (!c->done) return false;
      }
      return true;
    });
  }

  coordinator::Coordinator& coordinator() { return *coordinator_; }
  coordinator::Metrics& metrics() { return metrics_; }
  net::MemoryNetwork& network() { return network_; }
  ClientSlot& client(size_t i) { return *clients_[i]; }
  size_t num_clients() const { return clients_.size(); }
  const Status& tick_error() const { return tick_error_; }
  coordinator::CoordinatorOptions& options() { return options_; }
  // The whole problem the clients' parts come from (all of it: for evaluations).
  const learn::Dataset& data() const { return data_; }

 private:
  coordinator::CoordinatorOptions options_;
  net::MemoryNetwork network_;
  coordinator::Metrics metrics_;
  std::shared_ptr<net::Listener> listener_;
  std::unique_ptr<coordinator::Coordinator> coordinator_;
  std::vector<std::unique_ptr<ClientSlot>> clients_;
  std::vector<client::ClientOptions> client_options_;
  learn::Dataset data_;
  Status tick_error_;
};

}  // namespace sotto::testing
