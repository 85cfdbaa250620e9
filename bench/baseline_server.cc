// vigil-baseline: a server with vigil.v1.RiskEngine's Authorize signature that answers APPROVE at
// once, on the same gRPC callback API and build as vigild. Loading it with vigil-bench in the
// same run as vigild shows what gRPC alone costs on the machine, so that Vigil's own cost can be
// told apart from the transport's.
//
//   vigil-baseline --listen 127.0.0.1:50052

#include <signal.h>

#include <cstdio>
#include <memory>
#include <string>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/synchronization/mutex.h"
#include "engine/net/tls_credentials.h"
#include "engine/server/arena_messages.h"
#include "engine/server/dashed_flags.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"
#include "vigil/v1/vigil.grpc.pb.h"

ABSL_FLAG(std::string, listen, "127.0.0.1:50052", "address to serve on, HOST:PORT");
ABSL_FLAG(std::string, tls_cert, "", "serve TLS with this certificate, as vigild does");
ABSL_FLAG(std::string, tls_key, "", "the private key of --tls-cert");
ABSL_FLAG(std::string, tls_client_ca, "", "require client certificates of this CA (mutual TLS)");

namespace {

class ImmediateRiskEngine final : public vigil::v1::RiskEngine::CallbackService {
 public:
  // Messages on a per-call arena, as vigild's Authorize has them: the transport's share of the
  // work (parsing, serialising, freeing) must be the same on both sides.
  ImmediateRiskEngine() { SetMessageAllocatorFor_Authorize(&messages_); }

  grpc::ServerUnaryReactor* Authorize(grpc::CallbackServerContext* context,
                                      const vigil::v1::AuthorizeRequest* request,
                                      vigil::v1::AuthorizeResponse* response) override {
    // The same answer shape as vigild's plain APPROVE, so the bytes on the wire are alike.
    response->set_decision(vigil::v1::APPROVE);
    response->set_decision_id(request->transaction_id());
    response->set_rules_version("baseline");
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }

 private:
  vigil::server::ArenaMessages<vigil::v1::AuthorizeRequest, vigil::v1::AuthorizeResponse> messages_;
};

}  // namespace

int main(int argc, char** argv) {
  vigil::AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  // As vigild runs: gRPC's mutexes are Abseil's, and vigild turns the deadlock detector off (a
  // process-wide lock graph updated on every lock). The baseline must not pay for what vigild
  // does not, or Vigil's share of the transport's cost would look smaller than it is.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The same credentials as vigild's, so that a TLS run of both prices the engine, not TLS.
  std::shared_ptr<grpc::ServerCredentials> credentials = grpc::InsecureServerCredentials();
  if (!absl::GetFlag(FLAGS_tls_cert).empty()) {
    vigil::net::ServerTls tls;
    tls.cert_file = absl::GetFlag(FLAGS_tls_cert);
    tls.key_file = absl::GetFlag(FLAGS_tls_key);
    tls.client_ca_file = absl::GetFlag(FLAGS_tls_client_ca);
    absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> made =
        vigil::net::MakeServerCredentials(tls);
    if (!made.ok()) {
      std::fprintf(stderr, "vigil-baseline: %s\n", std::string(made.status().message()).c_str());
      return 2;
    }
    credentials = *std::move(made);
  }
  ImmediateRiskEngine service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort(absl::GetFlag(FLAGS_listen), credentials, &port);
  builder.RegisterService(&service);
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (server == nullptr || port == 0) {
    std::fprintf(stderr, "vigil-baseline: cannot listen on %s\n",
                 absl::GetFlag(FLAGS_listen).c_str());
    return 1;
  }
  std::fprintf(stderr, "vigil-baseline: serving on %s (port %d)\n",
               absl::GetFlag(FLAGS_listen).c_str(), port);
  int signal = 0;
  sigwait(&signals, &signal);
  server->Shutdown();
  return 0;
}
