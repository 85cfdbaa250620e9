#pragma once

// Reading the configuration files vigild watches (certificates, the authorization policy).

#include <string>

#include "absl/status/statusor.h"

namespace vigil::net {

// The whole content of the file at `path`; NOT_FOUND, naming the path, when it cannot be read.
absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace vigil::net
