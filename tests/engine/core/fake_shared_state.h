#pragma once

// An in-memory SharedState for tests, with the store's semantics (compare-and-set on a user's
// token, records that must be new, claims, turns between writers that refuse each other) and
// faults on demand: a commit that fails before it is applied, or one applied whose answer is
// lost; and, on demand, the time a commit takes to reach the store. Its outbox (outbox()) holds
// the notices of the commits applied, in their order.

#include <algorithm>
#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/core/shared_state.h"
#include "engine/store/memory_journal.h"

namespace vigil {

class FakeSharedState final : public SharedState {
 public:
  absl::StatusOr<UserRecord> ReadUser(absl::string_view user_id) override {
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    reads_ += 1;
    auto it = users_.find(std::string(user_id));
    return it == users_.end() ? UserRecord{} : it->second;
  }
  absl::StatusOr<std::optional<TransactionSnapshot>> ReadTransaction(
      absl::string_view user_id, absl::string_view transaction_id) override {
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    auto it = transactions_.find({std::string(user_id), std::string(transaction_id)});
    if (it == transactions_.end()) return std::optional<TransactionSnapshot>();
    return std::optional<TransactionSnapshot>(it->second);
  }
  std::shared_ptr<Claim> StartClaim(absl::string_view transaction_id,
                                    absl::string_view user_id) override {
    auto claim = std::make_shared<Claim>();
    absl::MutexLock lock(&mu_);
    if (down_) {
      claim->Answer(Down());
      return claim;
    }
    auto [it, inserted] = claims_.emplace(std::string(transaction_id), std::string(user_id));
    if (inserted || it->second == user_id) {
      claim->Answer(absl::OkStatus());
    } else {
      claim->Answer(absl::AlreadyExistsError(absl::StrCat("transaction_id: \"", transaction_id,
                                                          "\" was already used for another user")));
    }
    return claim;
  }
  absl::StatusOr<std::string> TransactionOwner(absl::string_view transaction_id) override {
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    auto it = claims_.find(std::string(transaction_id));
    if (it == claims_.end()) return absl::NotFoundError("no such transaction");
    return it->second;
  }
  absl::Status SetMandateOwner(absl::string_view mandate_id, absl::string_view user_id) override {
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    mandates_[std::string(mandate_id)] = std::string(user_id);
    return absl::OkStatus();
  }
  absl::StatusOr<std::string> MandateOwner(absl::string_view mandate_id) override {
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    auto it = mandates_.find(std::string(mandate_id));
    if (it == mandates_.end()) return absl::NotFoundError("no such mandate");
    return it->second;
  }

  absl::StatusOr<std::optional<Conflict>> Commit(const Write& write) override {
    // The way to the store, which other nodes' commits take at the same time.
    absl::SleepFor(commit_delay_);
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    if (fail_commits_ > 0) {
      fail_commits_ -= 1;
      return absl::UnavailableError("the store is down");
    }
    UserRecord& stored = users_[write.user_id];
    // Taking turns, as RedisSharedState does: a writer refused because the token moved has the
    // user to itself for a while, so that another's stream of commits cannot starve it.
    const absl::Time now = absl::Now();
    Turn& turn = turns_[write.user_id];
    const bool others_turn = turn.until > now && turn.writer != write.writer;
    const bool moved = stored.token != write.base_token;
    bool exists = false;  // a record that had to be new
    Conflict found;
    for (const Write::TransactionWrite& transaction : write.transactions) {
      auto it = transactions_.find({write.user_id, transaction.record.transaction_id});
      exists = exists || (transaction.must_be_new && it != transactions_.end());
      found.transactions.push_back(it == transactions_.end()
                                       ? std::nullopt
                                       : std::optional<TransactionSnapshot>(it->second));
    }
    for (const GrantSnapshot& grant : write.grants) {
      auto it = grants_.find({write.user_id, grant.request.request_id});
      exists = exists || it != grants_.end();
      found.grants.push_back(it == grants_.end() ? std::nullopt
                                                 : std::optional<GrantSnapshot>(it->second));
    }
    if (moved && !exists && turn.until <= now) {
      turn = Turn{write.writer, now + absl::Milliseconds(20)};
    }
    const bool conflict = moved || others_turn || exists;
    if (conflict) {
      found.user = stored;
      if (others_turn) found.others_turn = turn.until - now;
      return std::optional<Conflict>(std::move(found));
    }
    stored = UserRecord{write.new_token, write.user, write.time_floor_ms};
    turns_.erase(write.user_id);
    for (const Write::TransactionWrite& transaction : write.transactions) {
      transactions_[{write.user_id, transaction.record.transaction_id}] = transaction.record;
    }
    for (const GrantSnapshot& grant : write.grants) {
      grants_[{write.user_id, grant.request.request_id}] = grant;
    }
    if (!write.notices.empty()) {
      StateChange told;
      told.notices = write.notices;
      outbox_.Append(std::move(told));
    }
    commits_ += 1;
    if (lose_replies_ > 0) {
      lose_replies_ -= 1;
      return absl::UnavailableError("the reply was lost");
    }
    return std::optional<Conflict>();
  }

  absl::Status ForEachUser(
      absl::FunctionRef<absl::Status(const std::vector<UserSnapshot>&)> batch) override {
    std::vector<UserSnapshot> users;
    {
      absl::MutexLock lock(&mu_);
      if (down_) return Down();
      for (const auto& [id, record] : users_) {
        if (record.user.has_value()) users.push_back(*record.user);
      }
    }
    // Two at a time: callers see more than one batch.
    for (size_t begin = 0; begin < users.size(); begin += 2) {
      const std::vector<UserSnapshot> some(users.begin() + begin,
                                           users.begin() + std::min(users.size(), begin + 2));
      if (absl::Status status = batch(some); !status.ok()) return status;
    }
    return absl::OkStatus();
  }
  absl::Status Notify(std::vector<Notice> notices) override {
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    StateChange told;
    told.notices = std::move(notices);
    outbox_.Append(std::move(told));
    return absl::OkStatus();
  }
  absl::Status SetMark(absl::string_view name, int64_t value) override {
    absl::MutexLock lock(&mu_);
    if (down_) return Down();
    StateChange marked;
    marked.marks.emplace_back(std::string(name), value);
    outbox_.Append(std::move(marked));
    return absl::OkStatus();
  }

  // The notices of what was committed and notified, and the marks set.
  NoticeOutbox& outbox() { return outbox_; }

  // How long each commit takes to reach the store (a round trip's worth of time in which
  // others can commit first). Set before the engines run.
  void SetCommitDelay(absl::Duration delay) { commit_delay_ = delay; }
  // While down, every call fails (UNAVAILABLE) and changes nothing.
  void SetDown(bool down) {
    absl::MutexLock lock(&mu_);
    down_ = down;
  }
  // The next `n` commits fail before they are applied.
  void FailCommits(int n) {
    absl::MutexLock lock(&mu_);
    fail_commits_ = n;
  }
  // The next `n` commits are applied, and their replies lost.
  void LoseReplies(int n) {
    absl::MutexLock lock(&mu_);
    lose_replies_ = n;
  }
  int commits() {
    absl::MutexLock lock(&mu_);
    return commits_;
  }
  int reads() {
    absl::MutexLock lock(&mu_);
    return reads_;
  }

 private:
  using Key = std::pair<std::string, std::string>;
  struct Turn {
    std::string writer;
    absl::Time until = absl::InfinitePast();
  };
  absl::Mutex mu_;
  std::map<std::string, UserRecord> users_ ABSL_GUARDED_BY(mu_);
  std::map<Key, TransactionSnapshot> transactions_ ABSL_GUARDED_BY(mu_);
  std::map<Key, GrantSnapshot> grants_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> claims_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, std::string> mandates_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, Turn> turns_ ABSL_GUARDED_BY(mu_);
  // Appended to under mu_, so that its order is the commits' order.
  store::MemoryJournal outbox_;
  static absl::Status Down() { return absl::UnavailableError("the store cannot be reached"); }

  bool down_ ABSL_GUARDED_BY(mu_) = false;
  int fail_commits_ ABSL_GUARDED_BY(mu_) = 0;
  int lose_replies_ ABSL_GUARDED_BY(mu_) = 0;
  int commits_ ABSL_GUARDED_BY(mu_) = 0;
  int reads_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Duration commit_delay_ = absl::ZeroDuration();
};

}  // namespace vigil
