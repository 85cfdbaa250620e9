#include "engine/core/engine.h"

#include <utility>

#include "engine/core/engine_impl.h"

namespace vigil {

Engine::Engine(std::shared_ptr<const Policy> policy, const Clock* clock, EngineOptions options)
    : impl_(std::make_unique<EngineImpl>(std::move(policy), clock, options)) {}

Engine::~Engine() = default;

absl::StatusOr<AuthorizeResponse> Engine::Authorize(const AuthorizeRequest& request) {
  return impl_->Authorize(request);
}

void Engine::Authorize(const AuthorizeRequest& request, AuthorizeCallback done) {
  impl_->Authorize(request, std::move(done));
}

absl::Status Engine::ReportOutcome(absl::string_view transaction_id, Outcome outcome) {
  return impl_->ReportOutcome(transaction_id, outcome);
}

absl::StatusOr<Mandate> Engine::GrantMandate(const GrantMandateRequest& request) {
  return impl_->GrantMandate(request);
}

absl::StatusOr<Mandate> Engine::GetMandate(absl::string_view mandate_id) {
  return impl_->GetMandate(mandate_id);
}

absl::StatusOr<std::vector<Mandate>> Engine::ListMandates(absl::string_view user_id,
                                                          bool include_revoked) {
  return impl_->ListMandates(user_id, include_revoked);
}

absl::StatusOr<Mandate> Engine::RevokeMandate(absl::string_view mandate_id,
                                              absl::string_view user_id, absl::string_view reason) {
  return impl_->RevokeMandate(mandate_id, user_id, reason);
}

absl::StatusOr<Mandate> Engine::PauseMandate(absl::string_view mandate_id,
                                             absl::string_view user_id) {
  return impl_->PauseMandate(mandate_id, user_id);
}

absl::StatusOr<Mandate> Engine::ResumeMandate(absl::string_view mandate_id,
                                              absl::string_view user_id) {
  return impl_->ResumeMandate(mandate_id, user_id);
}

absl::StatusOr<std::vector<Mandate>> Engine::RevokeAllMandates(absl::string_view user_id,
                                                               absl::string_view reason) {
  return impl_->RevokeAllMandates(user_id, reason);
}

absl::StatusOr<UserProfile> Engine::PutUserProfile(const UserProfile& profile) {
  return impl_->PutUserProfile(profile);
}

absl::StatusOr<UserProfile> Engine::GetUserProfile(absl::string_view user_id) {
  return impl_->GetUserProfile(user_id);
}

absl::Status Engine::Restore(const RestoredState& state) { return impl_->Restore(state); }

absl::StatusOr<size_t> Engine::ExpireTransactions(int64_t before_ms, size_t part, size_t parts) {
  return impl_->ExpireTransactions(before_ms, part, parts);
}

Engine::RecordCounts Engine::CountRecords() { return impl_->CountRecords(); }

std::shared_ptr<const Policy> Engine::policy() const { return impl_->policy(); }

void Engine::SetPolicy(std::shared_ptr<const Policy> policy) {
  impl_->SetPolicy(std::move(policy));
}

}  // namespace vigil
