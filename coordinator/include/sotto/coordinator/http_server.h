#pragma once

// A small HTTP/1.1 server (Boost.Beast) for observability: GET /metrics (Prometheus text from
// sotto/coordinator/metrics.h) and a status page, or any path the caller registers.
//
// Each connection carries one request: the header must arrive within `read_deadline` and fit in
// `max_header_bytes` (8 KiB), the method must be GET or HEAD and there is no body; the answer
// carries `Connection: close`. Anything else is answered with 400 / 404 / 405 / 431 and closed;
// a connection past `max_connections` is closed at once (counted in rejected_connections()).
// It serves plain HTTP: bind it to loopback or a management network (the default host is
// 127.0.0.1); the federation's clients never talk to it.
//
//   boost::asio::io_context io;
//   ASSIGN_OR_RETURN(auto server, HttpServer::Start(io, {}, {{"/metrics", [&] {
//     return HttpResponse{200, "text/plain; version=0.0.4", metrics.RenderPrometheus()};
//   }}}));
//   io.run();
//
// Threading: Start, Stop and the handlers run on the io_context's thread(s); call Stop from that
// thread too (post it). served_requests() and rejected_connections() may be read from any
// thread. Handlers must not block. Stop closes the acceptor and every open
// connection; the server object must outlive the io_context's run.

#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

#include "sotto/base/statusor.h"

namespace sotto::coordinator {

struct HttpResponse {
  int status = 200;
  std::string content_type = "text/plain; charset=utf-8";
  std::string body;
};

using HttpHandler = std::function<HttpResponse()>;

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: any free port (see port())
  std::chrono::milliseconds read_deadline{5000};
  size_t max_header_bytes = 8192;
  size_t max_connections = 64;
};

class HttpServer {
 public:
  // Binds and starts accepting. InvalidArgument for a bad host or an empty route table;
  // Unavailable when the address cannot be bound.
  static StatusOr<std::unique_ptr<HttpServer>> Start(boost::asio::io_context& io,
                                                     const HttpServerOptions& options,
                                                     std::map<std::string, HttpHandler> routes);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  void Stop();

  uint64_t served_requests() const;
  uint64_t rejected_connections() const;

  struct State;  // shared with the connections

 private:
  explicit HttpServer(std::shared_ptr<State> state);
  std::shared_ptr<State> state_;
};

}  // namespace sotto::coordinator
