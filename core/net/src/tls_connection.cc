#include "tls_connection.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <exception>
#include <string>
#include <utility>

#include "openssl_util.h"
#include "sotto/base/logging.h"
#include "sotto/base/status_macros.h"
#include "sotto/net/envelope_codec.h"

namespace sotto::net::internal {
namespace {

// One read's worth: large enough for TLS records (16 KiB of plaintext each).
constexpr size_t kReadBufferBytes = 16 * 1024;

std::string Millis(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

}  // namespace

StatusOr<std::shared_ptr<TlsConnection>> TlsConnection::Create(
    boost::asio::io_context& context, std::shared_ptr<boost::asio::ssl::context> tls,
    boost::asio::ip::tcp::socket socket, bool server, const ConnectionOptions& options,
    uint64_t id) {
  // Asio reports a failed SSL_new by throwing; keep exceptions inside this adapter.
  try {
    return std::make_shared<TlsConnection>(context, std::move(tls), std::move(socket), server,
                                           options, id);
  } catch (const std::exception& e) {
    return InternalError(std::string("cannot create a TLS session: ") + e.what());
  }
}

TlsConnection::TlsConnection(boost::asio::io_context& context,
                             std::shared_ptr<boost::asio::ssl::context> tls,
                             boost::asio::ip::tcp::socket socket, bool server,
                             const ConnectionOptions& options, uint64_t id)
    : context_(context),
      tls_(std::move(tls)),
      stream_(std::move(socket), *tls_),
      resolver_(context),
      server_(server),
      options_(options),
      id_(id),
      decoder_(options.receive_caps),
      read_buffer_(kReadBufferBytes),
      handshake_timer_(context),
      read_timer_(context),
      write_timer_(context),
      shutdown_timer_(context) {}

TlsConnection::~TlsConnection() = default;

// ---- Handshake ----

void TlsConnection::ArmHandshakeTimer() {
  handshake_timer_.expires_after(options_.deadlines.handshake);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->handshake_done_ || self->finalized_) {
      return;
    }
    // Closing the socket makes the pending resolve/connect/handshake complete with an error.
    self->handshake_timed_out_ = true;
    self->resolver_.cancel();
    self->CloseSocket();
  });
}

void TlsConnection::ServerHandshake(HandshakeDone done) {
  handshake_done_callback_ = std::move(done);
  SetNoDelay();
  ArmHandshakeTimer();
  stream_.async_handshake(Stream::server,
                          [self = shared_from_this()](const boost::system::error_code& error) {
                            self->OnHandshake(error);
                          });
}

void TlsConnection::ClientConnect(const std::string& host, uint16_t port,
                                  const std::string& server_name, HandshakeDone done) {
  handshake_done_callback_ = std::move(done);
  peer_id_ = server_name;
  // Verify the server's certificate names `server_name` (an IP address or a DNS name).
  SSL* ssl = stream_.native_handle();
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(server_name, not_ip);
  bool configured = false;
  if (!not_ip) {
    configured = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), server_name.c_str()) == 1;
  } else {
    X509_VERIFY_PARAM_set_hostflags(SSL_get0_param(ssl), X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    configured = SSL_set_tlsext_host_name(ssl, server_name.c_str()) == 1 &&
                 SSL_set1_host(ssl, server_name.c_str()) == 1;
  }
  if (!configured) {
    const Status status =
        OpenSslError(StatusCode::kInvalidArgument, "cannot verify server name " + server_name);
    auto callback = std::move(handshake_done_callback_);
    Finalize(status);
    callback(status);
    return;
  }
  ArmHandshakeTimer();
  resolver_.async_resolve(
      host, std::to_string(port),
      [self = shared_from_this()](const boost::system::error_code& error,
                                  boost::asio::ip::tcp::resolver::results_type results) {
        if (self->finalized_) {
          return;
        }
        if (error) {
          self->OnHandshake(error);
          return;
        }
        boost::asio::async_connect(
            self->stream_.lowest_layer(), results,
            [self](const boost::system::error_code& error, const boost::asio::ip::tcp::endpoint&) {
              if (self->finalized_) {
                return;
              }
              if (error) {
                self->OnHandshake(error);
                return;
              }
              self->SetNoDelay();
              self->stream_.async_handshake(
                  Stream::client,
                  [self](const boost::system::error_code& error) { self->OnHandshake(error); });
            });
      });
}

void TlsConnection::SetNoDelay() {
  // Messages are whole frames written at once: Nagle's algorithm would only add latency.
  boost::system::error_code ignored;
  stream_.lowest_layer().set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

void TlsConnection::OnHandshake(const boost::system::error_code& error) {
  handshake_timer_.cancel();
  if (finalized_) {
    return;  // aborted (shutdown)
  }
  Status status;
  if (handshake_timed_out_) {
    status = DeadlineExceededError("TLS handshake not finished within " +
                                   Millis(options_.deadlines.handshake));
  } else if (error) {
    status = UnavailableError("TLS handshake failed: " + error.message());
  } else if (server_) {
    StatusOr<std::string> identity =
        CertificateIdentity(SSL_get0_peer_certificate(stream_.native_handle()));
    if (identity.ok()) {
      peer_id_ = *std::move(identity);
    } else {
      status = identity.status();
    }
  }
  auto callback = std::move(handshake_done_callback_);
  handshake_done_callback_ = nullptr;
  if (!status.ok()) {
    Finalize(status);
  } else {
    handshake_done_ = true;
  }
  if (callback) {
    callback(status);
  }
}

void TlsConnection::Abort(const Status& status) { Fail(status); }

// ---- Receiving ----

void TlsConnection::Start(ConnectionCallbacks callbacks) {
  boost::asio::post(context_,
                    [self = shared_from_this(), callbacks = std::move(callbacks)]() mutable {
                      self->DoStart(std::move(callbacks));
                    });
}

void TlsConnection::DoStart(ConnectionCallbacks callbacks) {
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
  if (open_.load() && handshake_done_) {
    StartRead();
  }
}

void TlsConnection::StartRead() {
  read_in_flight_ = true;
  ArmReadTimer();
  stream_.async_read_some(
      boost::asio::buffer(read_buffer_),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        self->OnRead(error, bytes);
      });
}

void TlsConnection::ArmReadTimer() {
  const uint64_t generation = ++read_timer_generation_;
  const bool mid_frame = decoder_.mid_frame();
  if (!mid_frame && options_.deadlines.idle.count() == 0) {
    read_timer_.cancel();
    return;
  }
  if (mid_frame) {
    read_timer_.expires_at(frame_deadline_);
  } else {
    read_timer_.expires_after(options_.deadlines.idle);
  }
  read_timer_.async_wait([self = shared_from_this(), generation,
                          mid_frame](const boost::system::error_code& error) {
    if (error || generation != self->read_timer_generation_ || self->finalized_ ||
        !self->read_in_flight_) {
      return;
    }
    self->Fail(mid_frame ? DeadlineExceededError("frame not received within the read deadline of " +
                                                 Millis(self->options_.deadlines.read))
                         : DeadlineExceededError("no frame within the idle deadline of " +
                                                 Millis(self->options_.deadlines.idle)));
  });
}

void TlsConnection::OnRead(const boost::system::error_code& error, size_t bytes) {
  read_in_flight_ = false;
  ++read_timer_generation_;
  read_timer_.cancel();
  if (finalized_) {
    return;
  }
  if (closing_) {
    ContinueClose();  // our own cancellation; anything read now is dropped
    return;
  }
  if (error) {
    const Status truncated = decoder_.Finish();
    if (!truncated.ok()) {
      Fail(truncated.WithContext("connection from " + peer_id_ + " ended: " + error.message()));
    } else if (error == boost::asio::error::eof) {
      Finalize(OkStatus());  // close_notify between frames
    } else {
      Fail(UnavailableError("connection lost: " + error.message()));
    }
    return;
  }
  bytes_received_ += bytes;
  const bool was_mid_frame = decoder_.mid_frame();
  std::vector<Frame> frames;
  const Status fed = decoder_.Feed(std::span<const uint8_t>(read_buffer_.data(), bytes), frames);
  if (decoder_.mid_frame() && (!was_mid_frame || !frames.empty())) {
    // A new frame began in these bytes: its whole budget starts now.
    frame_deadline_ = std::chrono::steady_clock::now() + options_.deadlines.read;
  }
  for (Frame& frame : frames) {
    if (!open_.load() || finalized_) {
      return;  // Close() from a callback: deliver nothing more
    }
    StatusOr<proto::Envelope> envelope = DecodeEnvelopeFrame(frame);
    if (!envelope.ok()) {
      Fail(envelope.status());
      return;
    }
    const Status bound = BindPeerIdentity(peer_id_, &*envelope);
    if (!bound.ok()) {
      Fail(bound);
      return;
    }
    ++messages_received_;
    if (callbacks_.on_message) {
      callbacks_.on_message(*std::move(envelope));
    }
  }
  if (!fed.ok()) {
    Fail(fed);
    return;
  }
  if (open_.load() && !finalized_) {
    StartRead();
  }
}

// ---- Sending ----

Status TlsConnection::Send(const proto::Envelope& envelope) {
  if (!open_.load()) {
    return FailedPreconditionError("connection " + std::to_string(id_) + " is closed");
  }
  ASSIGN_OR_RETURN(std::vector<uint8_t> frame, EncodeEnvelopeFrame(envelope, options_.send_caps));
  const uint64_t size = frame.size();
  const uint64_t messages = queued_messages_.fetch_add(1) + 1;
  const uint64_t bytes = queued_bytes_.fetch_add(size) + size;
  if (messages > options_.max_queued_messages || bytes > options_.max_queued_bytes) {
    queued_messages_.fetch_sub(1);
    queued_bytes_.fetch_sub(size);
    return ResourceExhaustedError("send queue of connection " + std::to_string(id_) + " is full (" +
                                  std::to_string(messages - 1) + " messages, " +
                                  std::to_string(bytes - size) + " bytes)");
  }
  boost::asio::post(context_, [self = shared_from_this(), frame = std::move(frame)]() mutable {
    self->Enqueue(std::move(frame));
  });
  return OkStatus();
}

void TlsConnection::Enqueue(std::vector<uint8_t> frame) {
  if (finalized_ || shutdown_started_) {
    // Raced with a close: the frame is dropped (the connection is ending anyway).
    if (!finalized_) {
      queued_messages_.fetch_sub(1);
      queued_bytes_.fetch_sub(frame.size());
    }
    return;
  }
  write_queue_.push_back(std::move(frame));
  if (!write_in_flight_) {
    StartWrite();
  }
}

void TlsConnection::StartWrite() {
  write_in_flight_ = true;
  const uint64_t generation = ++write_timer_generation_;
  write_timer_.expires_after(options_.deadlines.write);
  write_timer_.async_wait(
      [self = shared_from_this(), generation](const boost::system::error_code& error) {
        if (error || generation != self->write_timer_generation_ || self->finalized_ ||
            !self->write_in_flight_) {
          return;
        }
        self->Fail(DeadlineExceededError("write not finished within the write deadline of " +
                                         Millis(self->options_.deadlines.write)));
      });
  boost::asio::async_write(
      stream_, boost::asio::buffer(write_queue_.front()),
      [self = shared_from_this()](const boost::system::error_code& error, size_t bytes) {
        self->OnWrite(error, bytes);
      });
}

void TlsConnection::OnWrite(const boost::system::error_code& error, size_t /*bytes*/) {
  write_in_flight_ = false;
  ++write_timer_generation_;
  write_timer_.cancel();
  if (finalized_) {
    return;
  }
  if (error) {
    Fail(UnavailableError("write failed: " + error.message()));
    return;
  }
  const uint64_t size = write_queue_.front().size();
  write_queue_.pop_front();
  queued_messages_.fetch_sub(1);
  queued_bytes_.fetch_sub(size);
  ++messages_sent_;
  bytes_sent_ += size;
  if (!write_queue_.empty()) {
    StartWrite();
  } else if (closing_) {
    ContinueClose();
  }
}

// ---- Closing ----

void TlsConnection::Close() {
  if (open_.exchange(false)) {
    boost::asio::post(context_, [self = shared_from_this()] { self->BeginClose(); });
  }
}

void TlsConnection::BeginClose() {
  if (finalized_ || closing_) {
    return;
  }
  if (!handshake_done_) {
    Fail(CancelledError("closed during the TLS handshake"));
    return;
  }
  closing_ = true;
  ContinueClose();
}

void TlsConnection::ContinueClose() {
  if (finalized_ || shutdown_started_) {
    return;
  }
  if (write_in_flight_ || !write_queue_.empty()) {
    return;  // OnWrite comes back here once the queue is drained
  }
  if (read_in_flight_) {
    boost::system::error_code ignored;
    stream_.lowest_layer().cancel(ignored);  // OnRead comes back here
    return;
  }
  shutdown_started_ = true;
  shutdown_timer_.expires_after(options_.deadlines.shutdown);
  shutdown_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (!error && !self->finalized_) {
      self->CloseSocket();  // the peer did not answer close_notify in time
    }
  });
  stream_.async_shutdown([self = shared_from_this()](const boost::system::error_code&) {
    self->Finalize(OkStatus());
  });
}

void TlsConnection::Fail(const Status& status) {
  if (!finalized_) {
    Finalize(status);
  }
}

void TlsConnection::CloseSocket() {
  boost::system::error_code ignored;
  stream_.lowest_layer().close(ignored);
}

void TlsConnection::Finalize(const Status& status) {
  if (finalized_) {
    return;
  }
  finalized_ = true;
  open_.store(false);
  CloseSocket();
  resolver_.cancel();
  ++read_timer_generation_;
  ++write_timer_generation_;
  handshake_timer_.cancel();
  read_timer_.cancel();
  write_timer_.cancel();
  shutdown_timer_.cancel();
  write_queue_.clear();
  queued_messages_.store(0);
  queued_bytes_.store(0);
  final_status_ = status;
  handshake_done_callback_ = nullptr;
  if (handshake_done_ && !status.ok()) {
    SOTTO_LOG(kInfo, "net_connection_closed")
        .With("connection", id_)
        .With("peer", peer_id_)
        .With("status", status);
  }
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

ConnectionStats TlsConnection::stats() const {
  ConnectionStats stats;
  stats.messages_sent = messages_sent_.load();
  stats.messages_received = messages_received_.load();
  stats.bytes_sent = bytes_sent_.load();
  stats.bytes_received = bytes_received_.load();
  stats.queued_messages = queued_messages_.load();
  stats.queued_bytes = queued_bytes_.load();
  return stats;
}

}  // namespace sotto::net::internal
