#include "engine/store/memory_journal.h"

#include <utility>

namespace vigil::store {

absl::Status MemoryJournal::Ready() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

uint64_t MemoryJournal::Append(StateChange change) {
  absl::MutexLock lock(&mu_);
  const uint64_t sequence = ++sequence_;
  if (!failure_.ok()) return sequence;
  for (UserSnapshot& user : change.users) users_[user.user_id] = std::move(user);
  for (SubjectSnapshot& subject : change.subjects) {
    subjects_[{static_cast<int>(subject.subject), subject.id}] = std::move(subject);
  }
  for (TransactionSnapshot& transaction : change.transactions) {
    transactions_[transaction.transaction_id] = std::move(transaction);
  }
  for (const std::string& expired : change.expired_transactions) transactions_.erase(expired);
  for (GrantSnapshot& grant : change.grants) grants_[grant.request.request_id] = std::move(grant);
  for (const std::string& expired : change.expired_grants) grants_.erase(expired);
  for (DecisionLogEntry& entry : change.log) log_.push_back(std::move(entry));
  return sequence;
}

uint64_t MemoryJournal::LastSequence() const {
  absl::MutexLock lock(&mu_);
  return sequence_;
}

absl::Status MemoryJournal::WaitDurable(uint64_t) {
  absl::MutexLock lock(&mu_);
  return failure_;
}

RestoredState MemoryJournal::Load() const {
  absl::MutexLock lock(&mu_);
  RestoredState state;
  for (const auto& [id, user] : users_) state.users.push_back(user);
  for (const auto& [key, subject] : subjects_) state.subjects.push_back(subject);
  for (const auto& [id, transaction] : transactions_) state.transactions.push_back(transaction);
  for (const auto& [id, grant] : grants_) state.grants.push_back(grant);
  return state;
}

void MemoryJournal::SetFailure(absl::Status failure) {
  absl::MutexLock lock(&mu_);
  failure_ = std::move(failure);
}

std::vector<DecisionLogEntry> MemoryJournal::log() const {
  absl::MutexLock lock(&mu_);
  return log_;
}

}  // namespace vigil::store
