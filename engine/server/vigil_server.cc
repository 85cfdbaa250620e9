#include "engine/server/vigil_server.h"

#include <random>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/rules/rule_set.h"
#include "engine/server/system_clock.h"
#include "grpcpp/ext/proto_server_reflection_plugin.h"
#include "grpcpp/health_check_service_interface.h"
#include "grpcpp/security/server_credentials.h"
#include "grpcpp/server_builder.h"

namespace vigil::server {

absl::StatusOr<std::unique_ptr<VigilServer>> VigilServer::Start(const ServerOptions& options) {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(options.rules_dir);
  if (!policy.ok()) return policy.status();

  std::unique_ptr<VigilServer> server(new VigilServer());
  const Clock* clock = options.clock;
  if (clock == nullptr) {
    server->own_clock_ = std::make_unique<SystemClock>();
    clock = server->own_clock_.get();
  }
  EngineOptions engine_options;
  engine_options.trust_client_time = options.trust_client_time;
  engine_options.id_seed = std::random_device{}() ^ (uint64_t{std::random_device{}()} << 32);
  server->engine_ = std::make_unique<Engine>(*std::move(policy), clock, engine_options);
  server->risk_engine_ = std::make_unique<RiskEngineService>(server->engine_.get());
  server->mandates_ = std::make_unique<MandatesService>(server->engine_.get());
  server->users_ = std::make_unique<UsersService>(server->engine_.get());

  grpc::EnableDefaultHealthCheckService(true);
  grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  grpc::ServerBuilder builder;
  builder.AddListeningPort(options.listen, grpc::InsecureServerCredentials(), &server->port_);
  builder.RegisterService(server->risk_engine_.get());
  builder.RegisterService(server->mandates_.get());
  builder.RegisterService(server->users_.get());
  server->server_ = builder.BuildAndStart();
  if (server->server_ == nullptr || server->port_ == 0) {
    return absl::UnavailableError(absl::StrCat("cannot listen on ", options.listen));
  }
  server->server_->GetHealthCheckService()->SetServingStatus(true);
  return server;
}

VigilServer::~VigilServer() { Shutdown(absl::ZeroDuration()); }

std::string VigilServer::rules_version() const { return std::string(engine_->policy()->version()); }

void VigilServer::Shutdown(absl::Duration grace) {
  if (server_ == nullptr) return;
  server_->GetHealthCheckService()->SetServingStatus(false);
  server_->Shutdown(absl::ToChronoTime(absl::Now() + grace));
}

void VigilServer::Wait() {
  if (server_ != nullptr) server_->Wait();
}

}  // namespace vigil::server
