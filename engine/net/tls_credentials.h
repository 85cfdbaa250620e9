#pragma once

// gRPC credentials for Vigil's servers and clients, from PEM files on disk, through gRPC's
// file-watching certificate provider: a certificate or key replaced on disk is picked up by new
// connections within `refresh`, with no restart.
//
//   ServerTls tls{.cert_file = "server.pem", .key_file = "server.key", .client_ca_file = "ca.pem"};
//   absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> creds = MakeServerCredentials(tls);
//
//   ClientTls client{.ca_file = "ca.pem", .cert_file = "gateway.pem", .key_file = "gateway.key"};
//   std::shared_ptr<grpc::Channel> channel =
//       grpc::CreateChannel(target, *MakeChannelCredentials(client));
//
// The files are checked when the credentials are made, so that a mistyped path or an unreadable
// key is an error at start rather than a handshake that fails later with no reason. Key material
// is never logged or put in an error message; paths are.

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpcpp/security/credentials.h"
#include "grpcpp/security/server_credentials.h"

namespace vigil::net {

struct ServerTls {
  std::string cert_file;  // the server's certificate chain (PEM)
  std::string key_file;   // its private key (PEM)
  // Empty: any client may connect (TLS only). Set: every client must present a certificate
  // signed by this CA (mutual TLS); the handshake of one that does not fails.
  std::string client_ca_file;
  absl::Duration refresh = absl::Seconds(10);
};

// INVALID_ARGUMENT naming the flag-level problem: a missing or unreadable file, a file that holds
// no PEM block, or a key without a certificate.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> MakeServerCredentials(
    const ServerTls& tls);

struct ClientTls {
  std::string ca_file;    // the CA the server's certificate must chain to; empty: plaintext
  std::string cert_file;  // the client's own certificate, for mutual TLS; optional
  std::string key_file;   // its key; given exactly when cert_file is
  absl::Duration refresh = absl::Seconds(10);
};

// Plaintext credentials when `tls.ca_file` is empty (and no certificate is given); otherwise TLS,
// verifying the server against `ca_file` and, when given, presenting the client's certificate.
// INVALID_ARGUMENT as for MakeServerCredentials.
absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> MakeChannelCredentials(
    const ClientTls& tls);

}  // namespace vigil::net
