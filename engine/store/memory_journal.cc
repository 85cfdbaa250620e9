#include "engine/store/memory_journal.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "engine/core/status_macros.h"

namespace vigil::store {

absl::Status MemoryJournal::Ready() const {
  absl::MutexLock lock(&mu_);
  return failure_;
}

uint64_t MemoryJournal::Append(StateChange change) {
  uint64_t last_notice = 0;
  const uint64_t sequence = Apply(std::move(change), last_notice);
  // Durable at once: the listener hears of it now, outside the lock, as it may take its own.
  if (last_notice != 0) {
    absl::MutexLock lock(&listener_mu_);
    if (listener_) listener_(last_notice);
  }
  return sequence;
}

uint64_t MemoryJournal::Apply(StateChange change, uint64_t& last_notice) {
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
  for (Notice& notice : change.notices) {
    notices_.push_back(StoredNotice{++last_notice_, std::move(notice)});
  }
  for (auto& [name, value] : change.marks) marks_[name] = value;
  if (!change.notices.empty()) last_notice = last_notice_;
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

absl::StatusOr<RestoredState> MemoryJournal::Load() {
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

absl::Status MemoryJournal::ExportDecisions(int64_t since_ms, int64_t until_ms,
                                            absl::FunctionRef<bool(const DecisionLogEntry&)> sink) {
  std::vector<DecisionLogEntry> entries;
  {
    absl::MutexLock lock(&mu_);
    for (const DecisionLogEntry& entry : log_) {
      if (entry.time_ms >= since_ms && entry.time_ms < until_ms) entries.push_back(entry);
    }
  }
  // By time, as the durable store's keys order them; appends of one time in their order.
  std::stable_sort(
      entries.begin(), entries.end(),
      [](const DecisionLogEntry& a, const DecisionLogEntry& b) { return a.time_ms < b.time_ms; });
  for (const DecisionLogEntry& entry : entries) {
    if (!sink(entry)) break;
  }
  return absl::OkStatus();
}

absl::Status MemoryJournal::ExportDecisionsNewestFirst(
    int64_t until_ms, absl::FunctionRef<bool(const DecisionLogEntry&)> sink) {
  std::vector<DecisionLogEntry> entries;
  VIGIL_RETURN_IF_ERROR(ExportDecisions(INT64_MIN, until_ms, [&](const DecisionLogEntry& entry) {
    entries.push_back(entry);
    return true;
  }));
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (!sink(*it)) break;
  }
  return absl::OkStatus();
}

absl::Status MemoryJournal::DeleteDecisionsBefore(int64_t before_ms) {
  absl::MutexLock lock(&mu_);
  std::erase_if(log_,
                [before_ms](const DecisionLogEntry& entry) { return entry.time_ms < before_ms; });
  return absl::OkStatus();
}

absl::Status MemoryJournal::ReadNotices(uint64_t after,
                                        absl::FunctionRef<bool(const StoredNotice&)> sink) {
  std::vector<StoredNotice> notices;
  {
    absl::MutexLock lock(&mu_);
    for (const StoredNotice& stored : notices_) {
      if (stored.cursor > after) notices.push_back(stored);
    }
  }
  for (const StoredNotice& stored : notices) {
    if (!sink(stored)) break;
  }
  return absl::OkStatus();
}

uint64_t MemoryJournal::LastNoticeCursor() const {
  absl::MutexLock lock(&mu_);
  return last_notice_;
}

uint64_t MemoryJournal::TrimmedThrough() const {
  absl::MutexLock lock(&mu_);
  return trimmed_through_;
}

absl::Status MemoryJournal::DeleteNoticesBefore(int64_t before_ms) {
  absl::MutexLock lock(&mu_);
  while (!notices_.empty() && notices_.front().notice.time_ms < before_ms) {
    trimmed_through_ = notices_.front().cursor;
    notices_.pop_front();
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<uint64_t>> MemoryJournal::AckedCursor(absl::string_view consumer) {
  absl::MutexLock lock(&mu_);
  auto it = acks_.find(consumer);
  if (it == acks_.end()) return std::nullopt;
  return it->second;
}

absl::Status MemoryJournal::Ack(absl::string_view consumer, uint64_t cursor) {
  absl::MutexLock lock(&mu_);
  if (cursor > last_notice_) return AckedPastTheLast(cursor, last_notice_);
  VIGIL_RETURN_IF_ERROR(failure_);
  auto [it, inserted] = acks_.try_emplace(std::string(consumer), cursor);
  if (!inserted) it->second = std::max(it->second, cursor);
  return absl::OkStatus();
}

void MemoryJournal::SetNoticeListener(absl::AnyInvocable<void(uint64_t)> listener) {
  absl::MutexLock lock(&listener_mu_);
  listener_ = std::move(listener);
}

absl::StatusOr<int64_t> MemoryJournal::ReadMark(absl::string_view name) {
  absl::MutexLock lock(&mu_);
  auto it = marks_.find(name);
  return it == marks_.end() ? 0 : it->second;
}

}  // namespace vigil::store
