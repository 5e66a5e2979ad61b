#include "sotto/coordinator/http_server.h"

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <list>
#include <utility>

namespace sotto::coordinator {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

class Connection;

struct HttpServer::State {
  State(boost::asio::io_context& io, HttpServerOptions o, std::map<std::string, HttpHandler> r)
      : acceptor(io), options(std::move(o)), routes(std::move(r)) {}

  tcp::acceptor acceptor;
  HttpServerOptions options;
  std::map<std::string, HttpHandler> routes;
  // Open connections, so that Stop can close them; each removes itself when done.
  std::list<std::weak_ptr<Connection>> connections;
  size_t open = 0;
  // Read from other threads (served_requests(), rejected_connections()).
  std::atomic<uint64_t> served{0};
  std::atomic<uint64_t> rejected{0};
  bool stopped = false;
};

// One request, one answer, close.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, std::shared_ptr<HttpServer::State> server)
      : stream_(std::move(socket)), server_(std::move(server)) {}

  void Start(std::list<std::weak_ptr<Connection>>::iterator self) {
    self_ = self;
    parser_.header_limit(static_cast<std::uint32_t>(server_->options.max_header_bytes));
    stream_.expires_after(server_->options.read_deadline);
    http::async_read(
        stream_, buffer_, parser_,
        [self = shared_from_this()](beast::error_code ec, std::size_t) { self->OnRead(ec); });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.close();
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::header_limit) {
      return Respond({431, "text/plain; charset=utf-8", "request header too large\n"}, false);
    }
    if (ec) return Finish();  // deadline, reset, EOF, or a malformed request: just close
    const auto& request = parser_.get();
    const bool head = request.method() == http::verb::head;
    if (request.method() != http::verb::get && !head) {
      return Respond({405, "text/plain; charset=utf-8", "only GET and HEAD\n"}, false);
    }
    std::string path(request.target());
    if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
    auto route = server_->routes.find(path);
    if (route == server_->routes.end()) {
      return Respond({404, "text/plain; charset=utf-8", "not found\n"}, head);
    }
    ++server_->served;
    Respond(route->second(), head);
  }

  void Respond(HttpResponse answer, bool head) {
    response_.version(11);
    response_.result(static_cast<http::status>(answer.status));
    response_.set(http::field::server, "sotto");
    response_.set(http::field::content_type, answer.content_type);
    response_.set(http::field::connection, "close");
    response_.body() = std::move(answer.body);
    response_.prepare_payload();
    if (head) response_.body().clear();
    stream_.expires_after(server_->options.read_deadline);
    http::async_write(
        stream_, response_,
        [self = shared_from_this()](beast::error_code, std::size_t) { self->Finish(); });
  }

  void Finish() {
    Close();
    if (!done_) {
      done_ = true;
      --server_->open;
      server_->connections.erase(self_);
    }
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  http::request_parser<http::empty_body> parser_;
  http::response<http::string_body> response_;
  std::shared_ptr<HttpServer::State> server_;
  std::list<std::weak_ptr<Connection>>::iterator self_;
  bool done_ = false;
};

namespace {

void Accept(const std::shared_ptr<HttpServer::State>& state) {
  state->acceptor.async_accept([state](beast::error_code ec, tcp::socket socket) {
    if (state->stopped) return;
    if (!ec) {
      if (state->open >= state->options.max_connections) {
        ++state->rejected;
        beast::error_code ignored;
        socket.close(ignored);
      } else {
        ++state->open;
        auto connection = std::make_shared<Connection>(std::move(socket), state);
        state->connections.push_front(connection);
        connection->Start(state->connections.begin());
      }
    }
    Accept(state);
  });
}

}  // namespace

StatusOr<std::unique_ptr<HttpServer>> HttpServer::Start(boost::asio::io_context& io,
                                                        const HttpServerOptions& options,
                                                        std::map<std::string, HttpHandler> routes) {
  if (routes.empty()) return InvalidArgumentError("http: no routes to serve");
  beast::error_code ec;
  const auto address = boost::asio::ip::make_address(options.host, ec);
  if (ec) return InvalidArgumentError("http: bad host '" + options.host + "': " + ec.message());
  auto state = std::make_shared<State>(io, options, std::move(routes));
  const tcp::endpoint endpoint(address, options.port);
  state->acceptor.open(endpoint.protocol(), ec);
  if (!ec) state->acceptor.set_option(boost::asio::socket_base::reuse_address(true), ec);
  if (!ec) state->acceptor.bind(endpoint, ec);
  if (!ec) state->acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return UnavailableError("http: cannot listen on " + options.host + ":" +
                            std::to_string(options.port) + ": " + ec.message());
  }
  Accept(state);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(state)));
}

HttpServer::HttpServer(std::shared_ptr<State> state) : state_(std::move(state)) {}

HttpServer::~HttpServer() { Stop(); }

uint16_t HttpServer::port() const {
  beast::error_code ec;
  const auto endpoint = state_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void HttpServer::Stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  beast::error_code ignored;
  state_->acceptor.close(ignored);
  for (auto& weak : state_->connections) {
    if (auto connection = weak.lock()) connection->Close();
  }
}

uint64_t HttpServer::served_requests() const { return state_->served; }
uint64_t HttpServer::rejected_connections() const { return state_->rejected; }

}  // namespace sotto::coordinator
