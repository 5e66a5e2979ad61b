#pragma once

// One TLS connection (either side) as a sotto::net::Connection. Private to core/net: the
// listener and the dialer in tls.cc create these.
//
// Everything but the thread-safe Connection methods runs on the io_context's thread. The
// object is owned through shared_ptr: each pending Asio operation holds one, so it lives until
// its last operation has completed. States:
//
//   handshaking --(handshake ok)--> open --(Close)--> closing --(drained, close_notify)--> done
//        |                            |                                                   ^
//        +--(failure / deadline)------+--(peer EOF, error, deadline, bad frame)-----------+
//
// "done" (Finalize) happens once: the socket is closed, timers are cancelled, the listener is
// told, and on_closed runs (if the connection was handed out and started).

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "sotto/net/frame.h"
#include "sotto/net/transport.h"

namespace sotto::net::internal {

class TlsConnection final : public Connection, public std::enable_shared_from_this<TlsConnection> {
 public:
  using Stream = boost::asio::ssl::stream<boost::asio::ip::tcp::socket>;
  using HandshakeDone = std::function<void(const Status& status)>;

  // A server-side connection over an accepted socket, or (socket empty) a client-side one.
  // Internal if OpenSSL cannot make the session.
  static StatusOr<std::shared_ptr<TlsConnection>> Create(
      boost::asio::io_context& context, std::shared_ptr<boost::asio::ssl::context> tls,
      boost::asio::ip::tcp::socket socket, bool server, const ConnectionOptions& options,
      uint64_t id);
  // Use Create (which keeps Asio's exceptions inside core/net).
  TlsConnection(boost::asio::io_context& context, std::shared_ptr<boost::asio::ssl::context> tls,
                boost::asio::ip::tcp::socket socket, bool server, const ConnectionOptions& options,
                uint64_t id);
  ~TlsConnection() override;

  // Server side: the TLS handshake on the accepted socket, then the identity from the client
  // certificate. `done` gets OK (the connection is open), DeadlineExceeded, Unavailable (the
  // handshake failed) or Unauthenticated (no valid identity in the certificate).
  void ServerHandshake(HandshakeDone done);
  // Client side: resolve `host`, connect, handshake verifying `server_name`.
  void ClientConnect(const std::string& host, uint16_t port, const std::string& server_name,
                     HandshakeDone done);
  // Called once the connection is finished (loop thread), e.g. to leave a listener's table.
  void set_on_finished(std::function<void(uint64_t id)> on_finished) {
    on_finished_ = std::move(on_finished);
  }
  // Aborts the connection at once with `status` (loop thread), e.g. during a shutdown.
  void Abort(const Status& status);
  bool handshake_done() const { return handshake_done_; }

  // Connection.
  const std::string& peer_id() const override { return peer_id_; }
  uint64_t id() const override { return id_; }
  void Start(ConnectionCallbacks callbacks) override;
  Status Send(const proto::Envelope& envelope) override;
  void Close() override;
  bool is_open() const override { return open_.load(); }
  ConnectionStats stats() const override;

 private:
  void SetNoDelay();
  void ArmHandshakeTimer();
  void OnHandshake(const boost::system::error_code& error);
  void DoStart(ConnectionCallbacks callbacks);
  void StartRead();
  void ArmReadTimer();
  void OnRead(const boost::system::error_code& error, size_t bytes);
  void Enqueue(std::vector<uint8_t> frame);
  void StartWrite();
  void OnWrite(const boost::system::error_code& error, size_t bytes);
  void BeginClose();
  void ContinueClose();
  void Fail(const Status& status);
  void Finalize(const Status& status);
  void CloseSocket();

  boost::asio::io_context& context_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // outlives stream_
  Stream stream_;
  boost::asio::ip::tcp::resolver resolver_;
  const bool server_;
  const ConnectionOptions options_;
  const uint64_t id_;
  std::string peer_id_;  // set before the connection is handed out, then immutable

  // Thread-safe state.
  std::atomic<bool> open_{true};
  std::atomic<uint64_t> queued_messages_{0};
  std::atomic<uint64_t> queued_bytes_{0};
  std::atomic<uint64_t> messages_sent_{0};
  std::atomic<uint64_t> messages_received_{0};
  std::atomic<uint64_t> bytes_sent_{0};
  std::atomic<uint64_t> bytes_received_{0};

  // Loop-thread state.
  HandshakeDone handshake_done_callback_;
  std::function<void(uint64_t)> on_finished_;
  ConnectionCallbacks callbacks_;
  bool handshake_done_ = false;
  bool handshake_timed_out_ = false;
  bool started_ = false;
  bool closing_ = false;  // graceful close in progress
  bool finalized_ = false;
  Status final_status_;  // for a Start() after the end
  bool read_in_flight_ = false;
  bool write_in_flight_ = false;
  bool shutdown_started_ = false;
  std::deque<std::vector<uint8_t>> write_queue_;
  FrameDecoder decoder_;
  std::vector<uint8_t> read_buffer_;
  std::chrono::steady_clock::time_point frame_deadline_;
  boost::asio::steady_timer handshake_timer_;
  boost::asio::steady_timer read_timer_;
  boost::asio::steady_timer write_timer_;
  boost::asio::steady_timer shutdown_timer_;
  // Each arming of a timer gets a new generation; a handler whose generation is stale (the
  // timer was re-armed or cancelled after it fired) does nothing.
  uint64_t read_timer_generation_ = 0;
  uint64_t write_timer_generation_ = 0;
};

}  // namespace sotto::net::internal
