#pragma once

// PolicyAuthorizer enforces an AuthzPolicy on every call a server receives, before any handler
// runs: gRPC hands it each call's path and the caller's verified certificate, and a call that
// the policy does not allow ends with PERMISSION_DENIED, having changed nothing. It covers every
// service on the server (health and reflection too), so a new RPC cannot be left unguarded.
//
//   absl::StatusOr<std::shared_ptr<PolicyAuthorizer>> authz = PolicyAuthorizer::Create(path);
//   server_credentials->SetAuthMetadataProcessor(*authz);
//   ... every few seconds: (*authz)->ReloadIfChanged();
//
// It needs secure credentials (gRPC runs it only on TLS connections), and identities only come
// from client certificates: a server with a policy requires mutual TLS.
//
// Thread-safe. Process() takes no lock: it reads the current policy through one atomic pointer.
// Every policy loaded stays alive until the authorizer is destroyed, since a call may still be
// reading the one it replaced; a policy is a few hundred bytes and reloads follow edits.

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "engine/net/authz_policy.h"
#include "grpcpp/security/auth_metadata_processor.h"

namespace vigil::net {

class PolicyAuthorizer final : public grpc::AuthMetadataProcessor {
 public:
  // Loads the policy at `path`; its errors as AuthzPolicy::Load's.
  static absl::StatusOr<std::shared_ptr<PolicyAuthorizer>> Create(std::string path);

  // Decides inline, on gRPC's thread: the check is a few string compares.
  bool IsBlocking() const override { return false; }
  grpc::Status Process(const InputMetadata& metadata, grpc::AuthContext* context,
                       OutputMetadata* consumed, OutputMetadata* response) override;

  // Reads the file again. When its content changed and it loads, the new policy decides every
  // call from now on and this returns true; when it does not load, the old policy stays and its
  // error is returned; unchanged content returns false.
  absl::StatusOr<bool> ReloadIfChanged();

  // Whether the policy in force lets a caller with `principals` call `path`, as Process()
  // decides a call: for callers that come another way (the console's tokens).
  bool Allows(absl::Span<const absl::string_view> principals, absl::string_view path) const;

  // The name of the policy in force.
  std::string policy_name() const;
  // Calls refused since start.
  uint64_t denied() const { return denied_.load(std::memory_order_relaxed); }

 private:
  explicit PolicyAuthorizer(std::string path) : path_(std::move(path)) {}

  const std::string path_;
  std::atomic<const AuthzPolicy*> current_{nullptr};
  std::atomic<uint64_t> denied_{0};
  mutable absl::Mutex mu_;
  std::string content_ ABSL_GUARDED_BY(mu_);  // of the file the current policy came from
  std::vector<std::unique_ptr<const AuthzPolicy>> loaded_ ABSL_GUARDED_BY(mu_);
};

}  // namespace vigil::net
