#pragma once

// absl::Status to grpc::Status, for the services' answers.

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace vigil::server {

// Abseil's status codes are gRPC's, number for number.
inline grpc::Status ToGrpc(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(status.code()), std::string(status.message()));
}

}  // namespace vigil::server
