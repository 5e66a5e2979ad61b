#include "tls_connection.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <cerrno>
#include <cstring>
#include <exception>
#include <string>
#include <utility>

#include "sotto/base/logging.h"
#include "sotto/base/status_macros.h"
#include "sotto/net/envelope_codec.h"

namespace sotto::net::internal {
namespace {

// One read's worth outside a payload (headers, small frames): SSL_read returns at most one
// record, which holds at most 16 KiB of plaintext. Inside a payload, bytes are read straight
// into the frame decoder's buffer (FrameDecoder::PayloadSpace), so they are not copied again.
constexpr size_t kReadBufferBytes = 16 * 1024;
// OpenSSL's read-ahead buffer: one recv brings in several records. It exists only while it
// holds bytes (SSL_MODE_RELEASE_BUFFERS, set on the context, frees it once drained), so an
// idle connection costs nothing for it.
constexpr int kReadAheadBytes = 64 * 1024;
// Plaintext a connection reads in one wakeup before letting its loop's other work run.
constexpr size_t kReadBudgetBytes = size_t{1} << 20;
// The plaintext of a full TLS record. A frame whose body is shared (SendEncoded) starts with a
// few dozen bytes of its own; they go out in one full record with the start of the body
// rather than alone in a tiny one.
constexpr size_t kRecordPlaintextBytes = 16 * 1024;

using SteadyClock = std::chrono::steady_clock;
constexpr SteadyClock::time_point kNoDeadline = SteadyClock::time_point::max();

std::string Millis(std::chrono::milliseconds duration) {
  return std::to_string(duration.count()) + " ms";
}

// ---- The socket BIO: OpenSSL reads and writes the socket itself ----
//
// Not OpenSSL's own socket BIO: it writes with write(2), which raises SIGPIPE on a peer that
// went away; this one sends with MSG_NOSIGNAL. The socket is non-blocking; "would block" is
// reported to OpenSSL as a retry, which SSL_get_error turns into WANT_READ / WANT_WRITE.

SocketBioState* StateOf(BIO* bio) { return static_cast<SocketBioState*>(BIO_get_data(bio)); }

// The BIO's state for one read or write, its retry flags cleared; null (errno = EBADF) when the
// BIO has no open socket.
SocketBioState* BeginIo(BIO* bio) {
  BIO_clear_retry_flags(bio);
  SocketBioState* state = StateOf(bio);
  if (state == nullptr || state->fd < 0) {
    errno = EBADF;
    return nullptr;
  }
  return state;
}

int BioWrite(BIO* bio, const char* data, int size) {
  const SocketBioState* state = BeginIo(bio);
  if (state == nullptr) return -1;
  ssize_t n = 0;
  do {
    n = ::send(state->fd, data, static_cast<size_t>(size), MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_write(bio);
    }
    return -1;
  }
  return static_cast<int>(n);
}

int BioRead(BIO* bio, char* data, int size) {
  SocketBioState* state = BeginIo(bio);
  if (state == nullptr) return -1;
  ssize_t n = 0;
  do {
    n = ::recv(state->fd, data, static_cast<size_t>(size), 0);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) {
      BIO_set_retry_read(bio);
    }
    return -1;
  }
  if (n == 0) {
    state->eof = true;
  }
  return static_cast<int>(n);
}

long BioCtrl(BIO* bio, int command, long /*arg*/, void* /*ptr*/) {
  switch (command) {
    case BIO_CTRL_FLUSH:
      return 1;  // nothing is buffered here
    case BIO_CTRL_EOF:
      return StateOf(bio) != nullptr && StateOf(bio)->eof ? 1 : 0;
    default:
      return 0;
  }
}

int BioCreate(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

// Made once, for the life of the process (it is shared by every connection).
const BIO_METHOD* SocketBioMethod() {
  static BIO_METHOD* const method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK, "sotto socket");
    if (m != nullptr &&
        (BIO_meth_set_write(m, BioWrite) != 1 || BIO_meth_set_read(m, BioRead) != 1 ||
         BIO_meth_set_ctrl(m, BioCtrl) != 1 || BIO_meth_set_create(m, BioCreate) != 1)) {
      BIO_meth_free(m);
      m = nullptr;
    }
    return m;
  }();
  return method;
}

boost::asio::socket_base::wait_type WaitTypeFor(bool want_write) {
  return want_write ? boost::asio::socket_base::wait_write : boost::asio::socket_base::wait_read;
}

}  // namespace

StatusOr<std::shared_ptr<TlsConnection>> TlsConnection::Create(
    boost::asio::io_context& context, std::shared_ptr<boost::asio::ssl::context> tls,
    boost::asio::ip::tcp::socket socket, bool server, const ConnectionOptions& options,
    uint64_t id) {
  SslPtr ssl(SSL_new(tls->native_handle()));
  if (!ssl) {
    return OpenSslError(StatusCode::kInternal, "cannot create a TLS session");
  }
  // A write interrupted by a full socket is retried from the same frame buffer; whole
  // writes (no SSL_MODE_ENABLE_PARTIAL_WRITE) let one SSL_write emit every record it can.
  SSL_set_mode(ssl.get(), SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_set_read_ahead(ssl.get(), 1);
  SSL_set_default_read_buffer_len(ssl.get(), kReadAheadBytes);
  if (server) {
    SSL_set_accept_state(ssl.get());
  } else {
    SSL_set_connect_state(ssl.get());
  }
  // Asio reports failures (e.g. of a timer's construction) by throwing; keep exceptions
  // inside this adapter.
  try {
    return std::make_shared<TlsConnection>(context, std::move(tls), std::move(ssl),
                                           std::move(socket), server, options, id);
  } catch (const std::exception& e) {
    return InternalError(std::string("cannot create a TLS connection: ") + e.what());
  }
}

TlsConnection::TlsConnection(boost::asio::io_context& context,
                             std::shared_ptr<boost::asio::ssl::context> tls, SslPtr ssl,
                             boost::asio::ip::tcp::socket socket, bool server,
                             const ConnectionOptions& options, uint64_t id)
    : context_(context),
      tls_(std::move(tls)),
      ssl_(std::move(ssl)),
      socket_(std::move(socket)),
      resolver_(context),
      server_(server),
      options_(options),
      id_(id),
      decoder_(options.receive_caps),
      read_buffer_(kReadBufferBytes),
      read_deadline_(kNoDeadline),
      handshake_timer_(context),
      read_timer_(context),
      write_timer_(context),
      shutdown_timer_(context) {}

TlsConnection::~TlsConnection() = default;

TlsConnection::Next TlsConnection::Classify(int result, std::string* error) {
  const int saved_errno = errno;
  if (result == 1) {
    return Next::kDone;
  }
  switch (SSL_get_error(ssl_.get(), result)) {
    case SSL_ERROR_WANT_READ:
      return Next::kWantRead;
    case SSL_ERROR_WANT_WRITE:
      return Next::kWantWrite;
    case SSL_ERROR_ZERO_RETURN:
      *error = "closed by the peer";
      return Next::kClosedByPeer;
    case SSL_ERROR_SYSCALL: {
      *error = DrainOpenSslErrors();
      if (error->empty()) {
        *error = bio_state_.eof     ? std::string("stream truncated")
                 : saved_errno != 0 ? std::string(std::strerror(saved_errno))
                                    : std::string("I/O error");
      }
      return Next::kError;
    }
    default:
      *error = DrainOpenSslErrors();
      if (error->empty()) {
        *error = "TLS error";
      }
      return Next::kError;
  }
}

// ---- Handshake ----

void TlsConnection::ArmHandshakeTimer() {
  handshake_timer_.expires_after(options_.deadlines.handshake);
  handshake_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (error || self->handshake_done_ || self->finalized_) {
      return;
    }
    // Closing the socket makes the pending resolve/connect/wait complete with an error.
    self->handshake_timed_out_ = true;
    self->resolver_.cancel();
    self->CloseSocket();
  });
}

void TlsConnection::AwaitSocket(Next want, void (TlsConnection::*retry)(),
                                void (*on_error)(TlsConnection& self, const std::string& message)) {
  socket_.async_wait(
      WaitTypeFor(want == Next::kWantWrite),
      [self = shared_from_this(), retry, on_error](const boost::system::error_code& error) {
        if (self->finalized_) {
          return;
        }
        if (error) {
          on_error(*self, error.message());
          return;
        }
        ((*self).*retry)();
      });
}

void TlsConnection::AttachSocket() {
  boost::system::error_code ignored;
  socket_.non_blocking(true, ignored);
  const BIO_METHOD* method = SocketBioMethod();
  BIO* bio = method != nullptr ? BIO_new(method) : nullptr;
  if (bio == nullptr) {
    return;  // SSL_do_handshake fails without a BIO, and says so
  }
  bio_state_.fd = socket_.native_handle();
  BIO_set_data(bio, &bio_state_);
  SSL_set_bio(ssl_.get(), bio, bio);  // the SSL owns the BIO
}

void TlsConnection::ServerHandshake(HandshakeDone done) {
  handshake_done_callback_ = std::move(done);
  SetNoDelay();
  ArmHandshakeTimer();
  AttachSocket();
  DoHandshake();
}

void TlsConnection::ClientConnect(const std::string& host, uint16_t port,
                                  const std::string& server_name, HandshakeDone done) {
  handshake_done_callback_ = std::move(done);
  peer_id_ = server_name;
  // Verify the server's certificate names `server_name` (an IP address or a DNS name).
  SSL* ssl = ssl_.get();
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
          self->OnHandshake(error.message());
          return;
        }
        boost::asio::async_connect(
            self->socket_, results,
            [self](const boost::system::error_code& error, const boost::asio::ip::tcp::endpoint&) {
              if (self->finalized_) {
                return;
              }
              if (error) {
                self->OnHandshake(error.message());
                return;
              }
              self->SetNoDelay();
              self->AttachSocket();
              self->DoHandshake();
            });
      });
}

void TlsConnection::SetNoDelay() {
  // Messages are whole frames written at once: Nagle's algorithm would only add latency.
  boost::system::error_code ignored;
  socket_.set_option(boost::asio::ip::tcp::no_delay(true), ignored);
}

void TlsConnection::DoHandshake() {
  if (finalized_) {
    return;
  }
  if (handshake_timed_out_) {
    OnHandshake("deadline");
    return;
  }
  ERR_clear_error();
  const int result = SSL_do_handshake(ssl_.get());
  std::string error;
  const Next next = Classify(result, &error);
  if (next == Next::kDone) {
    OnHandshake("");
    return;
  }
  if (next == Next::kWantRead || next == Next::kWantWrite) {
    AwaitSocket(next, &TlsConnection::DoHandshake,
                [](TlsConnection& self, const std::string& message) { self.OnHandshake(message); });
    return;
  }
  OnHandshake(error);
}

void TlsConnection::OnHandshake(const std::string& failure) {
  handshake_timer_.cancel();
  if (finalized_) {
    return;  // aborted (shutdown)
  }
  Status status;
  if (handshake_timed_out_) {
    status = DeadlineExceededError("TLS handshake not finished within " +
                                   Millis(options_.deadlines.handshake));
  } else if (!failure.empty()) {
    status = UnavailableError("TLS handshake failed: " + failure);
  } else if (server_) {
    StatusOr<std::string> identity = CertificateIdentity(SSL_get0_peer_certificate(ssl_.get()));
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
  DoRead();
}

void TlsConnection::DoRead() {
  size_t budget = kReadBudgetBytes;
  while (true) {
    if (finalized_) {
      return;
    }
    if (closing_) {
      read_in_flight_ = false;
      ContinueClose();  // our own cancellation; anything not read yet is dropped
      return;
    }
    // Payload bytes go straight into the decoder; headers and small frames via read_buffer_.
    const std::span<uint8_t> space = decoder_.PayloadSpace();
    const bool direct = !space.empty();
    uint8_t* data = direct ? space.data() : read_buffer_.data();
    const size_t size = direct ? space.size() : read_buffer_.size();
    ERR_clear_error();
    size_t bytes = 0;
    const int result = SSL_read_ex(ssl_.get(), data, size, &bytes);
    std::string error;
    const Next next = Classify(result, &error);
    if (next == Next::kDone) {
      if (!OnBytes(direct, bytes)) {
        read_in_flight_ = false;
        return;
      }
      if (bytes >= budget) {
        // Let the loop's other connections and timers run; carry on afterwards.
        boost::asio::post(context_, [self = shared_from_this()] { self->DoRead(); });
        return;
      }
      budget -= bytes;
      continue;
    }
    if (next == Next::kWantRead || next == Next::kWantWrite) {
      ArmReadTimer();
      AwaitSocket(next, &TlsConnection::DoRead,
                  [](TlsConnection& self, const std::string& message) {
                    if (self.closing_) {
                      self.DoRead();  // closing: the read ends as the close says
                    } else {
                      self.OnReadEnd(Next::kError, message);
                    }
                  });
      return;
    }
    OnReadEnd(next, error);
    return;
  }
}

bool TlsConnection::OnBytes(bool direct, size_t bytes) {
  bytes_received_ += bytes;
  const bool was_mid_frame = decoder_.mid_frame();
  std::vector<Frame> frames;
  Status fed;
  if (direct) {
    decoder_.CommitPayload(bytes, frames);  // can only finish the frame in progress
  } else {
    fed = decoder_.Feed(std::span<const uint8_t>(read_buffer_.data(), bytes), frames);
  }
  if (decoder_.mid_frame() && (!was_mid_frame || !frames.empty())) {
    // A new frame began in these bytes: its whole budget starts now.
    frame_deadline_ = SteadyClock::now() + options_.deadlines.read;
  }
  for (Frame& frame : frames) {
    if (!open_.load() || finalized_) {
      return false;  // Close() from a callback: deliver nothing more
    }
    StatusOr<proto::Envelope> envelope = DecodeEnvelopeFrame(frame);
    if (!envelope.ok()) {
      Fail(envelope.status());
      return false;
    }
    const Status bound = BindPeerIdentity(peer_id_, &*envelope);
    if (!bound.ok()) {
      Fail(bound);
      return false;
    }
    ++messages_received_;
    if (callbacks_.on_message) {
      callbacks_.on_message(*std::move(envelope));
    }
  }
  if (!fed.ok()) {
    Fail(fed);
    return false;
  }
  return open_.load() && !finalized_;
}

void TlsConnection::OnReadEnd(Next next, const std::string& error) {
  read_in_flight_ = false;
  const Status truncated = decoder_.Finish();
  if (!truncated.ok()) {
    Fail(truncated.WithContext("connection from " + peer_id_ + " ended: " + error));
  } else if (next == Next::kClosedByPeer) {
    Finalize(OkStatus());  // close_notify between frames
  } else {
    Fail(UnavailableError("connection lost: " + error));
  }
}

void TlsConnection::ArmReadTimer() {
  if (decoder_.mid_frame()) {
    read_deadline_ = frame_deadline_;
  } else if (options_.deadlines.idle.count() == 0) {
    read_deadline_ = kNoDeadline;
  } else {
    read_deadline_ = SteadyClock::now() + options_.deadlines.idle;
  }
  if (read_deadline_ == kNoDeadline) {
    return;  // a pending wait fires, finds no deadline and stops
  }
  if (read_timer_pending_ && read_timer_expiry_ <= read_deadline_) {
    return;  // it fires early and waits again (OnReadTimer)
  }
  WaitReadTimer(read_deadline_);
}

void TlsConnection::WaitReadTimer(SteadyClock::time_point expiry) {
  const uint64_t generation = ++read_timer_generation_;
  read_timer_pending_ = true;
  read_timer_expiry_ = expiry;
  read_timer_.expires_at(expiry);  // cancels a pending wait: its generation is stale
  read_timer_.async_wait(
      [self = shared_from_this(), generation](const boost::system::error_code& error) {
        if (generation != self->read_timer_generation_) {
          return;
        }
        self->read_timer_pending_ = false;
        if (error || self->finalized_ || !self->read_in_flight_) {
          return;
        }
        self->OnReadTimer();
      });
}

void TlsConnection::OnReadTimer() {
  if (read_deadline_ == kNoDeadline) {
    return;
  }
  if (SteadyClock::now() < read_deadline_) {
    WaitReadTimer(read_deadline_);  // the deadline moved on since the timer was set
    return;
  }
  Fail(decoder_.mid_frame()
           ? DeadlineExceededError("frame not received within the read deadline of " +
                                   Millis(options_.deadlines.read))
           : DeadlineExceededError("no frame within the idle deadline of " +
                                   Millis(options_.deadlines.idle)));
}

// ---- Sending ----

Status TlsConnection::Send(const proto::Envelope& envelope) {
  if (!open_.load()) {
    return FailedPreconditionError("connection " + std::to_string(id_) + " is closed");
  }
  ASSIGN_OR_RETURN(OutgoingFrame frame, EncodeOutgoingFrame(envelope, options_.send_caps));
  return Queue(std::move(frame));
}

Status TlsConnection::SendEncoded(const proto::Envelope& header,
                                  std::shared_ptr<const EncodedBody> body) {
  if (!open_.load()) {
    return FailedPreconditionError("connection " + std::to_string(id_) + " is closed");
  }
  ASSIGN_OR_RETURN(OutgoingFrame frame,
                   EncodeOutgoingFrame(header, std::move(body), options_.send_caps));
  return Queue(std::move(frame));
}

Status TlsConnection::Queue(OutgoingFrame frame) {
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

void TlsConnection::Enqueue(OutgoingFrame frame) {
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
  // The frame's own bytes, then the body it shares with other connections (if any), written
  // from where they are. A short head of its own goes out with the start of the body.
  const OutgoingFrame& frame = write_queue_.front();
  const std::span<const uint8_t> shared = frame.shared_bytes();
  write_segment_ = 0;
  if (!shared.empty() && frame.owned_size < kRecordPlaintextBytes) {
    const size_t head = std::min(shared.size(), kRecordPlaintextBytes - frame.owned_size);
    write_staging_.assign(frame.owned.get(), frame.owned.get() + frame.owned_size);
    write_staging_.insert(write_staging_.end(), shared.begin(), shared.begin() + head);
    write_segments_[0] = write_staging_;
    write_segments_[1] = shared.subspan(head);
  } else {
    write_segments_[0] = frame.owned_bytes();
    write_segments_[1] = shared;
  }
  DoWrite();
}

void TlsConnection::DoWrite() {
  while (true) {
    if (finalized_) {
      return;
    }
    while (write_segment_ < 2 && write_segments_[write_segment_].empty()) {
      ++write_segment_;
    }
    if (write_segment_ == 2) {
      OnFrameWritten();
      return;
    }
    const std::span<const uint8_t> segment = write_segments_[write_segment_];
    ERR_clear_error();
    size_t written = 0;
    // Not a partial-write SSL: it returns once all of `segment` is written, or asks to be
    // called again with the same bytes when the socket is full.
    const int result = SSL_write_ex(ssl_.get(), segment.data(), segment.size(), &written);
    std::string error;
    const Next next = Classify(result, &error);
    if (next == Next::kDone) {
      write_segments_[write_segment_] = segment.subspan(std::min(written, segment.size()));
      continue;
    }
    if (next == Next::kWantRead || next == Next::kWantWrite) {
      AwaitSocket(next, &TlsConnection::DoWrite,
                  [](TlsConnection& self, const std::string& message) {
                    self.Fail(UnavailableError("write failed: " + message));
                  });
      return;
    }
    Fail(UnavailableError("write failed: " + error));
    return;
  }
}

void TlsConnection::OnFrameWritten() {
  write_in_flight_ = false;
  ++write_timer_generation_;
  write_timer_.cancel();
  const uint64_t size = write_queue_.front().size();
  write_queue_.pop_front();
  write_segments_[0] = write_segments_[1] = {};
  queued_messages_.fetch_sub(1);
  queued_bytes_.fetch_sub(size);
  ++messages_sent_;
  bytes_sent_ += size;
  if (!write_queue_.empty()) {
    // Later, not from here: a queue of frames that are all written at once must not recurse.
    write_in_flight_ = true;
    boost::asio::post(context_, [self = shared_from_this()] {
      if (!self->finalized_) {
        self->StartWrite();
      }
    });
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
    return;  // OnFrameWritten comes back here once the queue is drained
  }
  if (read_in_flight_) {
    boost::system::error_code ignored;
    socket_.cancel(ignored);  // the read's wait ends, and DoRead comes back here
    return;
  }
  shutdown_started_ = true;
  shutdown_timer_.expires_after(options_.deadlines.shutdown);
  shutdown_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& error) {
    if (!error && !self->finalized_) {
      self->Finalize(OkStatus());  // the peer did not answer close_notify in time
    }
  });
  DoShutdown();
}

void TlsConnection::DoShutdown() {
  // Send our close_notify, then wait for the peer's, reading and dropping anything before it.
  // A peer that closes the socket instead, an error or the shutdown deadline end the wait
  // just the same: the close was ours, and it is OK.
  while (true) {
    if (finalized_) {
      return;
    }
    ERR_clear_error();
    int result = 0;
    if (!close_notify_sent_) {
      result = SSL_shutdown(ssl_.get());  // 1: both sent; 0: ours sent; < 0: see SSL_get_error
      if (result >= 0) {
        close_notify_sent_ = true;
        if (result == 1) {
          Finalize(OkStatus());
          return;
        }
        continue;
      }
    } else {
      size_t dropped = 0;
      result = SSL_read_ex(ssl_.get(), read_buffer_.data(), read_buffer_.size(), &dropped);
      if (result == 1) {
        continue;
      }
    }
    std::string error;
    const Next next = Classify(result, &error);
    if (next == Next::kWantRead || next == Next::kWantWrite) {
      AwaitSocket(next, &TlsConnection::DoShutdown,
                  [](TlsConnection& self, const std::string&) { self.Finalize(OkStatus()); });
      return;
    }
    Finalize(OkStatus());  // the peer's close_notify (kClosedByPeer), its EOF, or an error
    return;
  }
}

void TlsConnection::Fail(const Status& status) {
  if (!finalized_) {
    Finalize(status);
  }
}

void TlsConnection::CloseSocket() {
  bio_state_.fd = -1;  // OpenSSL must not touch the number once it may be reused
  boost::system::error_code ignored;
  socket_.close(ignored);
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
  write_segments_[0] = write_segments_[1] = {};
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
