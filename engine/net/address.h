#pragma once

// Listening addresses as vigild's flags spell them: "HOST:PORT" or "[IPV6]:PORT".

#include <optional>
#include <string>

#include "absl/strings/string_view.h"

namespace vigil::net {

struct HostPort {
  std::string host;  // without the brackets of an IPv6 address
  int port = 0;
};

// std::nullopt when `address` is not HOST:PORT with a port from 0 to 65535.
std::optional<HostPort> ParseHostPort(absl::string_view address);

// Whether `host` names this machine only: localhost, 127.0.0.0/8 or ::1.
bool IsLoopback(absl::string_view host);

}  // namespace vigil::net
