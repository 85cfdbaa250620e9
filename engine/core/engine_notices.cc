// EngineImpl's scans for the notices users get unasked: dormant and expiring mandates, and the
// monthly summary.

#include <algorithm>
#include <optional>
#include <utility>

#include "engine/core/engine_impl.h"
#include "engine/core/notice_scan.h"
#include "engine/core/status_macros.h"

namespace vigil {

absl::StatusOr<size_t> EngineImpl::ScanUsers(
    const ScanMark& mark,
    absl::FunctionRef<void(absl::string_view, const UserState&, std::vector<Notice>&)> find) {
  if (!journaled()) {
    return absl::FailedPreconditionError("notices need a journal to keep them in; there is none");
  }
  VIGIL_RETURN_IF_ERROR(Writable());
  // A few users at a time, under their shard's lock: an Authorize waits at most for the scan
  // of these (tens of microseconds, a few hundred for a month's summaries), never of the shard
  // or the whole table. And their notices are durable before the next few are read: Authorize's
  // changes queue behind them in the journal, and a month's summaries for every user at once
  // would be hundreds of megabytes to write first.
  constexpr size_t kUsersPerStep = 64;
  size_t found = 0;
  std::vector<std::pair<absl::string_view, const UserState*>> users;
  for (UserShard& shard : users_.shards()) {
    users.clear();
    {
      // Users are never removed and never move (user_state.h): their keys and states stay
      // where they are once the lock is let go, and are read again only under it.
      absl::MutexLock lock(&shard.mu);
      for (const auto& [user_id, state] : shard.map) users.emplace_back(user_id, &state);
    }
    for (size_t begin = 0; begin < users.size(); begin += kUsersPerStep) {
      const size_t end = std::min(users.size(), begin + kUsersPerStep);
      uint64_t sequence = 0;
      {
        absl::MutexLock lock(&shard.mu);
        StateChange change;
        for (size_t i = begin; i < end; ++i) find(users[i].first, *users[i].second, change.notices);
        if (change.notices.empty()) continue;
        found += change.notices.size();
        sequence = Append(std::move(change));
      }
      VIGIL_RETURN_IF_ERROR(Durable(sequence));
    }
  }
  StateChange marked;
  marked.marks.emplace_back(mark.name, mark.value);
  VIGIL_RETURN_IF_ERROR(Durable(Append(std::move(marked))));
  return found;
}

absl::StatusOr<size_t> EngineImpl::ScanMandates(int64_t since_ms, int64_t now_ms,
                                                const ScanMark& mark) {
  const std::shared_ptr<const Policy> policy = policy_.Get();
  return ScanUsers(
      mark, [&](absl::string_view user_id, const UserState& state, std::vector<Notice>& notices) {
        FindDormantAndExpiring(user_id, state, *policy, since_ms, now_ms, notices);
      });
}

absl::StatusOr<size_t> EngineImpl::SummarizeMonth(int64_t month, int64_t now_ms,
                                                  const ScanMark& mark) {
  const std::shared_ptr<const Policy> policy = policy_.Get();
  VIGIL_RETURN_IF_ERROR(CheckSummaryMonth(month, now_ms, *policy));
  return ScanUsers(mark, [&](absl::string_view user_id, const UserState& state,
                             std::vector<Notice>& notices) {
    if (std::optional<Notice> summary = MonthlySummary(user_id, state, *policy, month, now_ms)) {
      notices.push_back(*std::move(summary));
    }
  });
}

}  // namespace vigil
