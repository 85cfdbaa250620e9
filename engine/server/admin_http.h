#pragma once

// AdminHttp is vigild's admin HTTP/1.1 server, on Boost.Beast: it answers requests for a fixed
// set of paths (metrics, health, the loaded rules, the console) from handlers the owner gives
// it, on the server's EventLoop.
//
//   AdminHttp::Routes routes;
//   routes["/healthz"].get = [](const AdminHttp::Request&) {
//     return AdminHttp::Reply{200, "text/plain", "ok\n"};
//   };
//   absl::StatusOr<std::unique_ptr<AdminHttp>> admin =
//       AdminHttp::Start(loop, "127.0.0.1:9464", std::move(routes));
//
// A route's path is matched exactly, or, when it ends in '/', as a prefix of longer paths
// ("/api/users/" serves "/api/users/u42"). Every input is untrusted: a request line or headers
// over 8 KiB, a body over 4 KiB, or a client idle for 10 seconds closes the connection; a method
// the route does not serve is 405, an unknown path 404. At most 64 connections are served at
// once; more are closed as they arrive.
//
// Thread-safe: Start, port and the destructor may be called from any thread; handlers run on the
// loop, one at a time. The loop must outlive the server.

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "engine/server/event_loop.h"

namespace vigil::server {

class AdminHttp {
 public:
  struct Request {
    std::string path;           // without the query
    std::string query;          // after '?', undecoded
    std::string authorization;  // the Authorization header
    std::string body;           // POST only
  };
  struct Reply {
    int status = 200;
    std::string content_type = "text/plain; charset=utf-8";
    std::string body;
  };
  using Handler = std::function<Reply(const Request&)>;
  struct Route {
    Handler get;
    Handler post;  // none: POST is 405
  };
  using Routes = std::map<std::string, Route>;

  // Binds `listen` (HOST:PORT; port 0 picks one) and starts serving. INVALID_ARGUMENT for an
  // address that is not HOST:PORT, UNAVAILABLE when it cannot be bound.
  static absl::StatusOr<std::unique_ptr<AdminHttp>> Start(EventLoop& loop,
                                                          const std::string& listen, Routes routes);
  // Stops accepting and closes every connection; returns once none is served any more.
  ~AdminHttp();

  // The port actually bound.
  int port() const;

 private:
  struct Impl;
  explicit AdminHttp(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vigil::server
