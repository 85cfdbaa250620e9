#pragma once

// The TLS flags every Vigil client takes (vigilctl, vigil-bench, the crash test), as the README
// names them: --tls-ca FILE (verify vigild against this CA; without it the connection is
// plaintext), --tls-cert FILE and --tls-key FILE (the client's own certificate, for mutual TLS).

#include <memory>

#include "absl/status/statusor.h"
#include "grpcpp/security/credentials.h"

namespace vigil::net {

// Channel credentials from the flags; INVALID_ARGUMENT as MakeChannelCredentials.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFromFlags();

}  // namespace vigil::net
