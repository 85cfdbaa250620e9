#include "engine/net/policy_authorizer.h"

#include "absl/container/inlined_vector.h"
#include "absl/strings/str_cat.h"
#include "engine/net/file.h"

namespace vigil::net {
namespace {

absl::string_view View(grpc::string_ref ref) { return {ref.data(), ref.size()}; }

}  // namespace

absl::StatusOr<std::shared_ptr<PolicyAuthorizer>> PolicyAuthorizer::Create(std::string path) {
  std::shared_ptr<PolicyAuthorizer> authorizer(new PolicyAuthorizer(std::move(path)));
  absl::StatusOr<bool> loaded = authorizer->ReloadIfChanged();
  if (!loaded.ok()) return loaded.status();
  return authorizer;
}

absl::StatusOr<bool> PolicyAuthorizer::ReloadIfChanged() {
  absl::StatusOr<std::string> content = ReadFile(path_);
  if (!content.ok()) return content.status();
  absl::MutexLock lock(&mu_);
  if (current_.load(std::memory_order_relaxed) != nullptr && *content == content_) return false;
  absl::StatusOr<AuthzPolicy> policy = AuthzPolicy::Parse(*content);
  if (!policy.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path_, ": ", policy.status().message()));
  }
  loaded_.push_back(std::make_unique<const AuthzPolicy>(*std::move(policy)));
  content_ = *std::move(content);
  current_.store(loaded_.back().get(), std::memory_order_release);
  return true;
}

bool PolicyAuthorizer::Allows(absl::Span<const absl::string_view> principals,
                              absl::string_view path) const {
  return current_.load(std::memory_order_acquire)->Allows(principals, path);
}

std::string PolicyAuthorizer::policy_name() const {
  return current_.load(std::memory_order_acquire)->name();
}

grpc::Status PolicyAuthorizer::Process(const InputMetadata& metadata, grpc::AuthContext* context,
                                       OutputMetadata*, OutputMetadata*) {
  const auto path = metadata.find(":path");
  // Identities only from the verified certificate, never from anything the caller sends.
  absl::InlinedVector<absl::string_view, 4> principals;
  std::vector<grpc::string_ref> sans;
  if (context != nullptr) {
    sans = context->FindPropertyValues("x509_subject_alternative_name");
    for (const grpc::string_ref& san : sans) principals.push_back(View(san));
  }
  const AuthzPolicy* policy = current_.load(std::memory_order_acquire);
  if (path != metadata.end() && policy->Allows(principals, View(path->second))) {
    return grpc::Status::OK;
  }
  denied_.fetch_add(1, std::memory_order_relaxed);
  return grpc::Status(grpc::StatusCode::PERMISSION_DENIED,
                      "the caller's certificate does not allow this call (--authz-policy)");
}

}  // namespace vigil::net
