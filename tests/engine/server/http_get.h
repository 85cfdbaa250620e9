#pragma once

// Plain HTTP/1.1 requests on Boost.Beast, for the tests of vigild's admin server. Defined in
// http_get.cc, so that Beast is compiled once, not in every test that asks.

#include <string>

namespace vigil::testing {

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

// `method` "GET", "POST" (with `body`, as JSON) or another HTTP method; `authorization`, when
// not empty, the Authorization header's value.
HttpReply HttpRequest(int port, const std::string& method, const std::string& target,
                      const std::string& body = "", const std::string& authorization = "");

inline HttpReply HttpGet(int port, const std::string& target, const std::string& method = "GET") {
  return HttpRequest(port, method, target);
}

}  // namespace vigil::testing
