#pragma once

// Inbox: a blocking view of a connection's incoming side, for code that would rather wait for
// a message than be called back (a client SDK's session thread, tests).
//
//   auto inbox = net::Inbox::Create();
//   connection->Start(inbox->Callbacks());
//   ASSIGN_OR_RETURN(proto::Envelope welcome, inbox->Receive(std::chrono::seconds(30)));
//
// The callbacks only queue (they never block the transport's thread). Receive and WaitClosed
// wait on a condition variable with a real-time timeout (std::chrono::steady_clock): the
// timeout is a protocol deadline or a test's guard against hanging, never a measurement.
//
// Thread-safety: every method may be called from any thread; the callbacks hold the inbox
// alive (shared_ptr).

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>

#include "sotto/base/status.h"
#include "sotto/base/statusor.h"
#include "sotto/net/transport.h"

namespace sotto::net {

class Inbox : public std::enable_shared_from_this<Inbox> {
 public:
  static std::shared_ptr<Inbox> Create();

  // Callbacks for Connection::Start that queue into this inbox.
  ConnectionCallbacks Callbacks();

  // The oldest queued envelope. When none is queued: waits up to `timeout`, then
  // DeadlineExceeded; once the connection has ended (and the queue is empty), its close
  // status, or Unavailable when it closed cleanly.
  StatusOr<proto::Envelope> Receive(std::chrono::nanoseconds timeout);

  // The connection's close status once it has ended; nullopt if it has not within `timeout`.
  std::optional<Status> WaitClosed(std::chrono::nanoseconds timeout);

  // Envelopes queued now; whether the connection has ended.
  size_t size() const;
  bool closed() const;

 protected:
  Inbox() = default;  // use Create

 private:
  mutable std::mutex mu_;
  std::condition_variable changed_;
  std::deque<proto::Envelope> queue_;
  std::optional<Status> closed_;
};

}  // namespace sotto::net
