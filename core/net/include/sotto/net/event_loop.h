#pragma once

// EventLoop: the thread that drives TLS connections (an Asio io_context), kept behind a small
// interface so that no code outside core/net includes Asio.
//
//   net::EventLoop loop;
//   ASSIGN_OR_RETURN(auto listener, net::TlsListener::Create(loop, options));
//   listener->Start(on_accept);
//   loop.Run();                     // until Stop(); the coordinator's only thread
//
// or, in a client SDK or a test, std::thread([&] { loop.Run(); }) and Stop() + join at the
// end. All transport callbacks of the objects created on a loop run on the thread calling
// Run/RunFor/Poll, one at a time. Exactly one thread should run a loop at a time: that is
// what makes callbacks single-threaded.
//
// Thread-safety: Post() and Stop() may be called from any thread; Run/RunFor/Poll from one.
// Lifetime: the loop must outlive every listener, dialer and connection created on it;
// destroying it destroys pending work without running it.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>

namespace boost::asio {
class io_context;
}  // namespace boost::asio

namespace sotto::net {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // Runs handlers on the calling thread until Stop() (it does not return when idle).
  void Run();
  // Runs handlers until Stop() or until `duration` has passed; returns the handlers run.
  size_t RunFor(std::chrono::nanoseconds duration);
  // Runs the handlers that are ready now, without waiting; returns how many ran.
  size_t Poll();
  // Makes Run/RunFor return soon; later Run calls return at once until Restart().
  void Stop();
  void Restart();
  bool stopped() const;

  // Runs `fn` on the loop's thread, after the handlers already queued.
  void Post(std::function<void()> fn);

  // For core/net and for Beast-based HTTP in the coordinator, which shares the loop.
  boost::asio::io_context& context();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sotto::net
