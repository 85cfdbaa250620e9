#include "engine/server/admin_http.h"

#include <atomic>
#include <future>
#include <list>
#include <optional>
#include <utility>

#include "absl/strings/str_cat.h"
#include "boost/asio/ip/tcp.hpp"
#include "boost/asio/post.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"
#include "engine/net/address.h"

namespace vigil::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr size_t kMaxHeaderBytes = 8 * 1024;
constexpr size_t kMaxBodyBytes = 4 * 1024;
constexpr auto kIdleTimeout = std::chrono::seconds(10);
constexpr size_t kMaxConnections = 64;

class Session;

// What the sessions share with the server; they keep it alive while they finish.
struct Shared {
  AdminHttp::Routes routes;
  std::list<std::weak_ptr<Session>> sessions;  // touched on the loop only
};

// One client connection: reads a request, answers it, and reads the next one while the client
// keeps the connection alive.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, std::shared_ptr<Shared> shared)
      : stream_(std::move(socket)), shared_(std::move(shared)) {}
  ~Session() { shared_->sessions.erase(self_); }

  void Start(std::list<std::weak_ptr<Session>>::iterator self) {
    self_ = self;
    Read();
  }
  void Close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void Read() {
    parser_.emplace();
    parser_->header_limit(kMaxHeaderBytes);
    parser_->body_limit(kMaxBodyBytes);
    stream_.expires_after(kIdleTimeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code error, size_t) {
                       if (!error) self->Answer(self->parser_->release());
                     });
  }

  // The route serving `path`: its own, else the longest prefix route ("/a/") it is under.
  const AdminHttp::Route* RouteFor(const std::string& path) const {
    const AdminHttp::Routes& routes = shared_->routes;
    if (auto exact = routes.find(path); exact != routes.end()) return &exact->second;
    for (size_t slash = path.rfind('/'); slash != std::string::npos && slash > 0;
         slash = path.rfind('/', slash - 1)) {
      auto prefix = routes.find(path.substr(0, slash + 1));
      if (prefix != routes.end() && prefix->first.size() < path.size()) return &prefix->second;
    }
    return nullptr;
  }

  void Answer(http::request<http::string_body>&& request) {
    auto response = std::make_shared<http::response<http::string_body>>();
    response->version(request.version());
    response->set(http::field::server, "vigild");
    response->keep_alive(request.keep_alive());
    const std::string_view target(request.target().data(), request.target().size());
    const size_t question = target.find('?');
    AdminHttp::Request call;
    call.path = std::string(target.substr(0, question));
    if (question != std::string_view::npos) call.query = std::string(target.substr(question + 1));
    const AdminHttp::Route* route = RouteFor(call.path);
    const AdminHttp::Handler* handler = nullptr;
    if (route != nullptr) {
      if (request.method() == http::verb::get) handler = &route->get;
      if (request.method() == http::verb::post) handler = &route->post;
    }
    if (route == nullptr) {
      response->result(http::status::not_found);
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->body() = "no such page\n";
    } else if (handler == nullptr || !*handler) {
      response->result(http::status::method_not_allowed);
      response->set(http::field::allow, route->post ? "GET, POST" : "GET");
      response->set(http::field::content_type, "text/plain; charset=utf-8");
      response->body() =
          route->post ? "only GET and POST are served here\n" : "only GET is served here\n";
    } else {
      if (auto it = request.find(http::field::authorization); it != request.end()) {
        call.authorization = std::string(it->value());
      }
      call.body = std::move(request.body());
      AdminHttp::Reply reply = (*handler)(call);
      response->result(static_cast<http::status>(reply.status));
      response->set(http::field::content_type, reply.content_type);
      response->set(http::field::cache_control, "no-store");
      response->body() = std::move(reply.body);
    }
    response->prepare_payload();
    http::async_write(stream_, *response,
                      [self = shared_from_this(), response](beast::error_code error, size_t) {
                        if (error) return;
                        if (response->keep_alive()) {
                          self->Read();
                        } else {
                          beast::error_code ignored;
                          self->stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
                        }
                      });
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_{kMaxHeaderBytes};
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<Shared> shared_;
  std::list<std::weak_ptr<Session>>::iterator self_;
};

}  // namespace

struct AdminHttp::Impl {
  explicit Impl(EventLoop& loop) : loop(loop), acceptor(loop.io()) {}

  void Accept() {
    acceptor.async_accept([this](beast::error_code error, tcp::socket socket) {
      if (error == asio::error::operation_aborted) return;
      if (!error) {
        if (shared->sessions.size() >= kMaxConnections) {
          beast::error_code ignored;
          socket.close(ignored);
        } else {
          auto session = std::make_shared<Session>(std::move(socket), shared);
          shared->sessions.push_front(session);
          session->Start(shared->sessions.begin());
        }
      }
      Accept();
    });
  }

  EventLoop& loop;
  tcp::acceptor acceptor;
  std::shared_ptr<Shared> shared = std::make_shared<Shared>();
  int port = 0;
};

absl::StatusOr<std::unique_ptr<AdminHttp>> AdminHttp::Start(EventLoop& loop,
                                                            const std::string& listen,
                                                            Routes routes) {
  const std::optional<net::HostPort> parsed = net::ParseHostPort(listen);
  if (!parsed.has_value()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin-listen \"", listen, "\" is not HOST:PORT"));
  }
  const std::string host = parsed->host == "localhost" ? "127.0.0.1" : parsed->host;
  beast::error_code error;
  const asio::ip::address address = asio::ip::make_address(host, error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("--admin-listen \"", listen, "\": ", host, " is not an IP address"));
  }
  auto impl = std::make_unique<Impl>(loop);
  impl->shared->routes = std::move(routes);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(parsed->port));
  impl->acceptor.open(endpoint.protocol(), error);
  if (!error) impl->acceptor.set_option(asio::socket_base::reuse_address(true), error);
  if (!error) impl->acceptor.bind(endpoint, error);
  if (!error) impl->acceptor.listen(asio::socket_base::max_listen_connections, error);
  if (error) {
    return absl::UnavailableError(
        absl::StrCat("cannot serve admin HTTP on ", listen, ": ", error.message()));
  }
  impl->port = impl->acceptor.local_endpoint().port();
  Impl* raw = impl.get();
  asio::post(loop.io(), [raw] { raw->Accept(); });
  return std::unique_ptr<AdminHttp>(new AdminHttp(std::move(impl)));
}

AdminHttp::AdminHttp(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

AdminHttp::~AdminHttp() {
  // On the loop, so that nothing else touches the acceptor or the sessions meanwhile. Sessions
  // end as their cancelled operations complete; they hold what they use.
  std::promise<void> closed;
  asio::post(impl_->loop.io(), [this, &closed] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    for (const std::weak_ptr<Session>& weak : impl_->shared->sessions) {
      if (std::shared_ptr<Session> session = weak.lock()) session->Close();
    }
    closed.set_value();
  });
  closed.get_future().wait();
}

int AdminHttp::port() const { return impl_->port; }

}  // namespace vigil::server
