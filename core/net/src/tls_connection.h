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
//
// I/O. OpenSSL reads and writes the (non-blocking) socket itself, through a small BIO of ours
// (send with MSG_NOSIGNAL, recv); Asio only reports readiness (socket.async_wait) and runs the
// timers. So decrypted bytes go from OpenSSL's record buffer straight into the frame decoder
// (FrameDecoder::PayloadSpace inside a payload), and encrypted records go from OpenSSL's write
// buffer straight to the kernel: no BIO pair and no staging copies in between (what Asio's
// ssl::stream does), no handler dispatch per 16 KiB record (one wakeup reads every record that
// has arrived, up to a budget), and, with read-ahead, one recv for several records. A frame
// that shares its body with other connections (SendEncoded) is written from the shared bytes.

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "openssl_util.h"
#include "outgoing_frame.h"
#include "sotto/net/frame.h"
#include "sotto/net/transport.h"

namespace sotto::net::internal {

using SslPtr = std::unique_ptr<SSL, OpenSslDeleter<SSL_free>>;

// What the connection's BIO reads and writes (owned by the connection, outlives its SSL).
struct SocketBioState {
  int fd = -1;       // -1 once the socket is closed: the BIO then fails instead of touching
                     // whatever the number is reused for
  bool eof = false;  // recv returned 0
};

class TlsConnection final : public Connection, public std::enable_shared_from_this<TlsConnection> {
 public:
  using HandshakeDone = std::function<void(const Status& status)>;

  // A server-side connection over an accepted socket, or (socket empty) a client-side one.
  // Internal if OpenSSL cannot make the session.
  static StatusOr<std::shared_ptr<TlsConnection>> Create(
      boost::asio::io_context& context, std::shared_ptr<boost::asio::ssl::context> tls,
      boost::asio::ip::tcp::socket socket, bool server, const ConnectionOptions& options,
      uint64_t id);
  // Use Create.
  TlsConnection(boost::asio::io_context& context, std::shared_ptr<boost::asio::ssl::context> tls,
                SslPtr ssl, boost::asio::ip::tcp::socket socket, bool server,
                const ConnectionOptions& options, uint64_t id);
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
  Status SendEncoded(const proto::Envelope& header,
                     std::shared_ptr<const EncodedBody> body) override;
  void Close() override;
  bool is_open() const override { return open_.load(); }
  ConnectionStats stats() const override;

 private:
  // What an OpenSSL call asked for next.
  enum class Next { kDone, kWantRead, kWantWrite, kClosedByPeer, kError };
  // Classifies the result `ok` (1 = success) of the last SSL call; on kError/kClosedByPeer,
  // `*error` says why.
  Next Classify(int ok, std::string* error);
  // Waits until the socket is readable / writable, as OpenSSL asked (`want`), then calls
  // `retry` on the loop thread; when the wait fails (an error, or a cancel or close),
  // `on_error` gets its message instead. Nothing runs once the connection is finalized.
  void AwaitSocket(Next want, void (TlsConnection::*retry)(),
                   void (*on_error)(TlsConnection& self, const std::string& message));

  void AttachSocket();
  void SetNoDelay();
  void ArmHandshakeTimer();
  void DoHandshake();
  void OnHandshake(const std::string& failure);
  void DoStart(ConnectionCallbacks callbacks);
  void StartRead();
  void DoRead();
  // Decodes `bytes` just read (into the decoder when `direct`) and delivers the frames they
  // complete. False when the connection stopped reading (closed, failed, Close() called).
  bool OnBytes(bool direct, size_t bytes);
  void OnReadEnd(Next next, const std::string& error);
  void ArmReadTimer();
  void WaitReadTimer(std::chrono::steady_clock::time_point expiry);
  void OnReadTimer();
  Status Queue(OutgoingFrame frame);
  void Enqueue(OutgoingFrame frame);
  void StartWrite();
  void DoWrite();
  void OnFrameWritten();
  void BeginClose();
  void ContinueClose();
  void DoShutdown();
  void Fail(const Status& status);
  void Finalize(const Status& status);
  void CloseSocket();

  boost::asio::io_context& context_;
  std::shared_ptr<boost::asio::ssl::context> tls_;  // the SSL_CTX behind ssl_
  SocketBioState bio_state_;                        // before ssl_: outlives its BIO
  SslPtr ssl_;
  boost::asio::ip::tcp::socket socket_;
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
  Status final_status_;           // for a Start() after the end
  bool read_in_flight_ = false;   // reading, or waiting to read
  bool write_in_flight_ = false;  // writing the front frame, or waiting to
  bool shutdown_started_ = false;
  bool close_notify_sent_ = false;
  std::deque<OutgoingFrame> write_queue_;
  // The front frame as written: at most two segments (see StartWrite), and progress.
  std::vector<uint8_t> write_staging_;
  std::span<const uint8_t> write_segments_[2];
  int write_segment_ = 0;
  FrameDecoder decoder_;
  std::vector<uint8_t> read_buffer_;
  std::chrono::steady_clock::time_point frame_deadline_;
  // The read deadline now in force (the frame's, or the idle one; max() when none), and the
  // expiry the read timer waits for. The timer is re-armed only when the deadline moves
  // earlier than that expiry; when it fires early it waits again for the deadline, so reads
  // within a frame do not touch it.
  std::chrono::steady_clock::time_point read_deadline_;
  std::chrono::steady_clock::time_point read_timer_expiry_;
  bool read_timer_pending_ = false;
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
