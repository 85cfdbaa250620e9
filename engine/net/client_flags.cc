#include "engine/net/client_flags.h"

#include <string>

#include "absl/flags/flag.h"
#include "engine/net/tls_credentials.h"

ABSL_FLAG(std::string, tls_ca, "",
          "verify vigild's certificate against this CA (PEM) and speak TLS; empty: plaintext");
ABSL_FLAG(std::string, tls_cert, "", "this client's certificate (PEM), for mutual TLS");
ABSL_FLAG(std::string, tls_key, "", "the private key of --tls-cert (PEM)");

namespace vigil::net {

absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> ChannelCredentialsFromFlags() {
  ClientTls tls;
  tls.ca_file = absl::GetFlag(FLAGS_tls_ca);
  tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
  tls.key_file = absl::GetFlag(FLAGS_tls_key);
  return MakeChannelCredentials(tls);
}

}  // namespace vigil::net
