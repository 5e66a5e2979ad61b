#include "sotto/net/memory_transport.h"

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "outgoing_frame.h"
#include "sotto/base/status_macros.h"
#include "sotto/net/envelope_codec.h"
#include "sotto/net/frame.h"

namespace sotto::net {
namespace {
class MemoryListener;
}  // namespace

// Shared by the network object and everything created on it; the mutex guards the event
// queue, the address table, and every connection's inbox and in-flight counters.
struct MemoryNetwork::State {
  mutable std::mutex mu;
  std::deque<std::function<void()>> events;
  std::map<std::string, std::weak_ptr<MemoryListener>> listeners;
  std::atomic<uint64_t> next_connection_id{1};

  void Post(std::function<void()> event) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(std::move(event));
  }
};

namespace {

using State = MemoryNetwork::State;
using internal::OutgoingFrame;

// What travels from one end to the other.
enum class ChunkKind {
  kData,         // stream bytes
  kCloseNotify,  // the sender closed gracefully after its data
  kReset,        // the link broke or the sender failed the connection
};

class MemoryConnection;

struct Chunk {
  ChunkKind kind = ChunkKind::kData;
  OutgoingFrame bytes;  // for kData; a body shared with other connections is not copied
  std::weak_ptr<MemoryConnection> from;  // whose in-flight counters this chunk holds
  bool counted = false;                  // a frame from Send (raw test bytes are not counted)
};

class MemoryConnection final : public Connection,
                               public std::enable_shared_from_this<MemoryConnection> {
 public:
  MemoryConnection(std::shared_ptr<State> net, std::string peer_id, uint64_t id,
                   const ConnectionOptions& options)
      : net_(std::move(net)),
        peer_id_(std::move(peer_id)),
        id_(id),
        options_(options),
        decoder_(options.receive_caps) {}

  void set_peer(const std::shared_ptr<MemoryConnection>& peer) { peer_ = peer; }
  void set_on_finished(std::function<void(uint64_t)> on_finished) {
    on_finished_ = std::move(on_finished);
  }

  const std::string& peer_id() const override { return peer_id_; }
  uint64_t id() const override { return id_; }

  void Start(ConnectionCallbacks callbacks) override {
    net_->Post([self = shared_from_this(), callbacks = std::move(callbacks)]() mutable {
      self->DoStart(std::move(callbacks));
    });
  }

  Status Send(const proto::Envelope& envelope) override {
    if (!open_.load()) {
      return FailedPreconditionError("connection " + std::to_string(id_) + " is closed");
    }
    ASSIGN_OR_RETURN(OutgoingFrame frame,
                     internal::EncodeOutgoingFrame(envelope, options_.send_caps));
    return Transmit(std::move(frame), /*counted=*/true);
  }

  Status SendEncoded(const proto::Envelope& header,
                     std::shared_ptr<const EncodedBody> body) override {
    if (!open_.load()) {
      return FailedPreconditionError("connection " + std::to_string(id_) + " is closed");
    }
    ASSIGN_OR_RETURN(OutgoingFrame frame,
                     internal::EncodeOutgoingFrame(header, std::move(body), options_.send_caps));
    return Transmit(std::move(frame), /*counted=*/true);
  }

  // Puts `bytes` into the peer's inbox and schedules the peer to process it.
  Status Transmit(OutgoingFrame bytes, bool counted) {
    std::shared_ptr<MemoryConnection> peer = peer_.lock();
    std::lock_guard<std::mutex> lock(net_->mu);
    if (!open_.load()) {
      return FailedPreconditionError("connection " + std::to_string(id_) + " is closed");
    }
    const uint64_t size = bytes.size();
    if (counted) {
      if (in_flight_messages_ + 1 > options_.max_queued_messages ||
          in_flight_bytes_ + size > options_.max_queued_bytes) {
        return ResourceExhaustedError("send queue of connection " + std::to_string(id_) +
                                      " is full (" + std::to_string(in_flight_messages_) +
                                      " messages, " + std::to_string(in_flight_bytes_) + " bytes)");
      }
      in_flight_messages_ += 1;
      in_flight_bytes_ += size;
      ++messages_sent_;
    }
    bytes_sent_ += size;
    if (peer) {
      peer->inbox_.push_back(Chunk{ChunkKind::kData, std::move(bytes), weak_from_this(), counted});
      net_->events.push_back([peer] { peer->Pump(); });
    }
    return OkStatus();
  }

  void Close() override {
    if (open_.exchange(false)) {
      net_->Post(
          [self = shared_from_this()] { self->Finalize(OkStatus(), ChunkKind::kCloseNotify); });
    }
  }

  void Break() {
    net_->Post([self = shared_from_this()] {
      self->Finalize(UnavailableError("link broken (MemoryNetwork::Disconnect)"),
                     ChunkKind::kReset);
    });
  }

  bool is_open() const override { return open_.load(); }

  ConnectionStats stats() const override {
    ConnectionStats stats;
    stats.messages_sent = messages_sent_.load();
    stats.messages_received = messages_received_.load();
    stats.bytes_sent = bytes_sent_.load();
    stats.bytes_received = bytes_received_.load();
    std::lock_guard<std::mutex> lock(net_->mu);
    stats.queued_messages = in_flight_messages_;
    stats.queued_bytes = in_flight_bytes_;
    return stats;
  }

 private:
  void DoStart(ConnectionCallbacks callbacks) {
    if (started_) {
      return;
    }
    started_ = true;
    if (finalized_) {
      if (callbacks.on_closed) {
        callbacks.on_closed(final_status_);
      }
      return;
    }
    callbacks_ = std::move(callbacks);
    Pump();
  }

  // Processes the inbox (driving thread).
  void Pump() {
    while (started_ && !finalized_) {
      Chunk chunk;
      {
        std::lock_guard<std::mutex> lock(net_->mu);
        if (inbox_.empty()) {
          return;
        }
        chunk = std::move(inbox_.front());
        inbox_.pop_front();
        if (chunk.counted) {
          if (auto from = chunk.from.lock()) {
            from->in_flight_messages_ -= 1;
            from->in_flight_bytes_ -= chunk.bytes.size();
          }
        }
      }
      Process(chunk);
    }
  }

  void Process(const Chunk& chunk) {
    if (chunk.kind != ChunkKind::kData) {
      const Status truncated = decoder_.Finish();
      if (!truncated.ok()) {
        Finalize(truncated, ChunkKind::kReset);
      } else if (chunk.kind == ChunkKind::kCloseNotify) {
        Finalize(OkStatus(), ChunkKind::kCloseNotify);
      } else {
        Finalize(UnavailableError("connection reset by the peer"), ChunkKind::kReset);
      }
      return;
    }
    bytes_received_ += chunk.bytes.size();
    if (!open_.load()) {
      return;  // closing: nothing more is delivered
    }
    std::vector<Frame> frames;
    Status fed = decoder_.Feed(chunk.bytes.owned_bytes(), frames);
    if (fed.ok()) {
      fed = decoder_.Feed(chunk.bytes.shared_bytes(), frames);
    }
    for (Frame& frame : frames) {
      if (!open_.load() || finalized_) {
        return;
      }
      StatusOr<proto::Envelope> envelope = DecodeEnvelopeFrame(frame);
      if (!envelope.ok()) {
        Finalize(envelope.status(), ChunkKind::kReset);
        return;
      }
      const Status bound = BindPeerIdentity(peer_id_, &*envelope);
      if (!bound.ok()) {
        Finalize(bound, ChunkKind::kReset);
        return;
      }
      ++messages_received_;
      if (callbacks_.on_message) {
        callbacks_.on_message(*std::move(envelope));
      }
    }
    if (!fed.ok()) {
      Finalize(fed, ChunkKind::kReset);
    }
  }

  // Ends this side once (driving thread) and tells the peer with `notify`.
  void Finalize(const Status& status, ChunkKind notify) {
    if (finalized_) {
      return;
    }
    finalized_ = true;
    open_.store(false);
    std::shared_ptr<MemoryConnection> peer = peer_.lock();
    {
      std::lock_guard<std::mutex> lock(net_->mu);
      inbox_.clear();
      if (peer) {
        peer->inbox_.push_back(Chunk{notify, {}, {}, false});
        net_->events.push_back([peer] { peer->Pump(); });
      }
    }
    final_status_ = status;
    if (on_finished_) {
      auto on_finished = std::move(on_finished_);
      on_finished_ = nullptr;
      on_finished(id_);
    }
    if (started_) {
      ConnectionCallbacks callbacks = std::move(callbacks_);
      callbacks_ = ConnectionCallbacks();
      if (callbacks.on_closed) {
        callbacks.on_closed(status);
      }
    }
  }

  const std::shared_ptr<State> net_;
  const std::string peer_id_;
  const uint64_t id_;
  const ConnectionOptions options_;
  std::weak_ptr<MemoryConnection> peer_;

  std::atomic<bool> open_{true};
  std::atomic<uint64_t> messages_sent_{0};
  std::atomic<uint64_t> messages_received_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};

  // Guarded by net_->mu.
  std::deque<Chunk> inbox_;
  uint64_t in_flight_messages_ = 0;
  uint64_t in_flight_bytes_ = 0;

  // Driving thread only.
  bool started_ = false;
  bool finalized_ = false;
  Status final_status_;
  ConnectionCallbacks callbacks_;
  FrameDecoder decoder_;
  std::function<void(uint64_t)> on_finished_;
};

class MemoryListener final : public Listener, public std::enable_shared_from_this<MemoryListener> {
 public:
  MemoryListener(std::shared_ptr<State> net, std::string address, std::string server_id,
                 const MemoryListenerOptions& options)
      : net_(std::move(net)),
        address_(std::move(address)),
        server_id_(std::move(server_id)),
        options_(options) {}

  void Start(AcceptHandler on_accept) override {
    net_->Post([self = shared_from_this(), on_accept = std::move(on_accept)]() mutable {
      if (self->started_ || self->shut_down_) {
        return;
      }
      self->started_ = true;
      self->on_accept_ = std::move(on_accept);
      // Dials that arrived before Start waited as in a TCP backlog.
      auto pending = std::move(self->pending_);
      for (auto& dial : pending) {
        self->Connect(dial.client_id, dial.options, std::move(dial.on_done));
      }
    });
  }

  void Shutdown() override {
    net_->Post([self = shared_from_this()] { self->DoShutdown(); });
  }

  ListenerStats stats() const override {
    ListenerStats stats;
    stats.accepted = accepted_.load();
    stats.open = open_.load();
    stats.refused_over_cap = refused_over_cap_.load();
    return stats;
  }

  // A dial arriving (driving thread).
  void Connect(const std::string& client_id, const ConnectionOptions& client_options,
               DialHandler on_done) {
    if (shut_down_) {
      on_done(UnavailableError("connection refused: " + address_ + " is shut down"));
      return;
    }
    if (!started_) {
      pending_.push_back({client_id, client_options, std::move(on_done)});
      return;
    }
    if (connections_.size() >= options_.max_connections) {
      ++refused_over_cap_;
      on_done(UnavailableError("connection refused: " + address_ + " is at its cap of " +
                               std::to_string(options_.max_connections) + " connections"));
      return;
    }
    auto server_end = std::make_shared<MemoryConnection>(
        net_, client_id, net_->next_connection_id.fetch_add(1), options_.connection);
    auto client_end = std::make_shared<MemoryConnection>(
        net_, server_id_, net_->next_connection_id.fetch_add(1), client_options);
    server_end->set_peer(client_end);
    client_end->set_peer(server_end);
    connections_.emplace(server_end->id(), server_end);
    open_.store(connections_.size());
    std::weak_ptr<MemoryListener> weak_self = weak_from_this();
    server_end->set_on_finished([weak_self](uint64_t id) {
      if (auto self = weak_self.lock()) {
        self->connections_.erase(id);
        self->open_.store(self->connections_.size());
      }
    });
    ++accepted_;
    if (on_accept_) {
      on_accept_(server_end);
    }
    on_done(std::shared_ptr<Connection>(client_end));
  }

 private:
  struct PendingDial {
    std::string client_id;
    ConnectionOptions options;
    DialHandler on_done;
  };

  void DoShutdown() {
    if (shut_down_) {
      return;
    }
    shut_down_ = true;
    {
      std::lock_guard<std::mutex> lock(net_->mu);
      auto it = net_->listeners.find(address_);
      if (it != net_->listeners.end() && it->second.lock().get() == this) {
        net_->listeners.erase(it);
      }
    }
    auto pending = std::move(pending_);
    for (auto& dial : pending) {
      dial.on_done(UnavailableError("connection refused: " + address_ + " is shut down"));
    }
    auto all = connections_;
    for (auto& [id, connection] : all) {
      connection->Close();
    }
  }

  const std::shared_ptr<State> net_;
  const std::string address_;
  const std::string server_id_;
  const MemoryListenerOptions options_;

  // Driving thread.
  bool started_ = false;
  bool shut_down_ = false;
  AcceptHandler on_accept_;
  std::vector<PendingDial> pending_;
  std::map<uint64_t, std::shared_ptr<MemoryConnection>> connections_;

  std::atomic<uint64_t> accepted_{0};
  std::atomic<uint64_t> open_{0};
  std::atomic<uint64_t> refused_over_cap_{0};
};

class MemoryDialer final : public Dialer {
 public:
  MemoryDialer(std::shared_ptr<State> net, std::string address, std::string client_id,
               const ConnectionOptions& options)
      : net_(std::move(net)),
        address_(std::move(address)),
        client_id_(std::move(client_id)),
        options_(options) {}

  void Dial(DialHandler on_done) override {
    net_->Post([net = net_, address = address_, client_id = client_id_, options = options_,
                on_done = std::move(on_done)]() mutable {
      std::shared_ptr<MemoryListener> listener;
      {
        std::lock_guard<std::mutex> lock(net->mu);
        auto it = net->listeners.find(address);
        if (it != net->listeners.end()) {
          listener = it->second.lock();
        }
      }
      if (!listener) {
        on_done(UnavailableError("connection refused: nobody listens at " + address));
        return;
      }
      listener->Connect(client_id, options, std::move(on_done));
    });
  }

 private:
  const std::shared_ptr<State> net_;
  const std::string address_;
  const std::string client_id_;
  const ConnectionOptions options_;
};

}  // namespace

MemoryNetwork::MemoryNetwork() : state_(std::make_shared<State>()) {}

MemoryNetwork::~MemoryNetwork() {
  // Events hold connections, which hold the state: drop them to break the cycle.
  std::deque<std::function<void()>> events;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    events.swap(state_->events);
  }
}

StatusOr<std::shared_ptr<Listener>> MemoryNetwork::Listen(const std::string& address,
                                                          const std::string& server_id,
                                                          const MemoryListenerOptions& options) {
  RETURN_IF_ERROR(ValidatePeerId(server_id).WithContext("server id"));
  RETURN_IF_ERROR(ValidateConnectionOptions(options.connection));
  if (options.max_connections == 0) {
    return InvalidArgumentError("max_connections must be at least 1");
  }
  auto listener = std::make_shared<MemoryListener>(state_, address, server_id, options);
  std::lock_guard<std::mutex> lock(state_->mu);
  auto& slot = state_->listeners[address];
  if (slot.lock()) {
    return AlreadyExistsError("address " + address + " is taken");
  }
  slot = listener;
  return std::shared_ptr<Listener>(std::move(listener));
}

StatusOr<std::shared_ptr<Dialer>> MemoryNetwork::NewDialer(const std::string& address,
                                                           const std::string& client_id,
                                                           const ConnectionOptions& options) {
  RETURN_IF_ERROR(ValidatePeerId(client_id).WithContext("client id"));
  RETURN_IF_ERROR(ValidateConnectionOptions(options));
  return std::shared_ptr<Dialer>(
      std::make_shared<MemoryDialer>(state_, address, client_id, options));
}

bool MemoryNetwork::RunOne() {
  std::function<void()> event;
  {
    std::lock_guard<std::mutex> lock(state_->mu);
    if (state_->events.empty()) {
      return false;
    }
    event = std::move(state_->events.front());
    state_->events.pop_front();
  }
  event();
  return true;
}

size_t MemoryNetwork::RunUntilIdle() {
  size_t count = 0;
  while (RunOne()) {
    ++count;
  }
  return count;
}

size_t MemoryNetwork::pending_events() const {
  std::lock_guard<std::mutex> lock(state_->mu);
  return state_->events.size();
}

Status MemoryNetwork::SendRawForTesting(Connection& from, std::vector<uint8_t> bytes) {
  auto* connection = dynamic_cast<MemoryConnection*>(&from);
  if (connection == nullptr) {
    return InvalidArgumentError("not a memory connection");
  }
  return connection->Transmit(internal::RawOutgoingFrame(bytes), /*counted=*/false);
}

void MemoryNetwork::Disconnect(Connection& connection) {
  if (auto* memory = dynamic_cast<MemoryConnection*>(&connection)) {
    memory->Break();
  }
}

}  // namespace sotto::net
