#pragma once

// Plain HTTP/1.1 requests on Boost.Beast, for the tests of vigild's admin server.

#include <string>

#include "boost/asio/connect.hpp"
#include "boost/asio/ip/tcp.hpp"
#include "boost/beast/core.hpp"
#include "boost/beast/http.hpp"

namespace vigil::testing {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

inline HttpReply HttpRequest(int port, boost::beast::http::verb verb, const std::string& target,
                             const std::string& body = "", const std::string& authorization = "") {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::beast::tcp_stream stream(io);
  stream.connect(boost::asio::ip::tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"),
                                                static_cast<unsigned short>(port)));
  http::request<http::string_body> request(verb, target, 11);
  request.set(http::field::host, "127.0.0.1");
  if (!authorization.empty()) request.set(http::field::authorization, authorization);
  if (verb == http::verb::post) {
    request.set(http::field::content_type, "application/json");
    request.body() = body;
    request.prepare_payload();
  }
  http::write(stream, request);
  boost::beast::flat_buffer buffer;
  http::response<http::string_body> response;
  http::read(stream, buffer, response);
  boost::beast::error_code ignored;
  stream.socket().shutdown(boost::asio::ip::tcp::socket::shutdown_both, ignored);
  return {static_cast<int>(response.result_int()), std::string(response[http::field::content_type]),
          response.body()};
}

inline HttpReply HttpGet(int port, const std::string& target,
                         boost::beast::http::verb verb = boost::beast::http::verb::get) {
  return HttpRequest(port, verb, target);
}

}  // namespace vigil::testing
