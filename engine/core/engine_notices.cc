// EngineImpl's scans for the notices users get unasked: dormant and expiring mandates, and the
// monthly summary.

#include <algorithm>
#include <map>
#include <utility>

#include "absl/strings/str_format.h"
#include "engine/core/engine_impl.h"
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
  const int64_t dormant_after = policy->dormant_after_ms();
  const int64_t expiring_within = policy->notice_schedule().expiring_within_ms;
  const LocalCalendar& calendar = policy->calendar();
  auto in_scan = [&](int64_t at) { return at > since_ms && at <= now_ms; };
  return ScanUsers(
      mark, [&](absl::string_view user_id, const UserState& state, std::vector<Notice>& notices) {
        for (const MandateState& entry : state.mandates) {
          const StoredMandate& mandate = entry.mandate;
          if (mandate.status == MandateStatus::kRevoked || mandate.Expired(now_ms)) continue;
          const int64_t idle_since =
              mandate.last_used_at_ms != 0 ? mandate.last_used_at_ms : mandate.created_at_ms;
          if (mandate.status == MandateStatus::kActive && in_scan(idle_since + dormant_after)) {
            notices.push_back(MandateNotice(NoticeKind::kMandateDormant, mandate.ToMandate(user_id),
                                            now_ms, calendar));
          }
          if (mandate.expires_at_ms != 0 && in_scan(mandate.expires_at_ms - expiring_within)) {
            notices.push_back(MandateNotice(NoticeKind::kMandateExpiring,
                                            mandate.ToMandate(user_id), now_ms, calendar));
          }
        }
      });
}

absl::StatusOr<size_t> EngineImpl::SummarizeMonth(int64_t month, int64_t now_ms,
                                                  const ScanMark& mark) {
  const std::shared_ptr<const Policy> policy = policy_.Get();
  const LocalCalendar& calendar = policy->calendar();
  const int64_t current = calendar.MonthNumber(now_ms);
  if (month != current && month != current - 1) {
    return absl::InvalidArgumentError(
        "month: the engine keeps totals of the current month and the one before only");
  }
  const std::string period = absl::StrFormat("%04d-%02d", 1970 + month / 12, month % 12 + 1);
  const std::string currency(policy->currency());
  return ScanUsers(mark, [&](absl::string_view user_id, const UserState& state,
                             std::vector<Notice>& notices) {
    PeriodicSummary summary;
    for (const MandateState& entry : state.mandates) {
      const StoredMandate& mandate = entry.mandate;
      if (const int64_t count = entry.month.CountIn(month); count > 0) {
        auto same = [&](const PeriodicSummary::MerchantTotal& total) {
          return total.merchant_id == mandate.merchant_id();
        };
        auto it = std::find_if(summary.merchants.begin(), summary.merchants.end(), same);
        if (it == summary.merchants.end()) {
          it = summary.merchants.insert(summary.merchants.end(),
                                        {std::string(mandate.merchant_id()), 0, 0});
        }
        it->amount_minor += entry.month.AmountIn(month);
        it->count += count;
        summary.amount_minor += entry.month.AmountIn(month);
        summary.count += count;
      }
      if (mandate.Usable(now_ms)) {
        summary.mandates.push_back({std::string(mandate.mandate_id()),
                                    std::string(mandate.merchant_id()), mandate.last_used_at_ms});
      }
    }
    if (summary.count == 0 && summary.mandates.empty()) return;
    std::stable_sort(summary.merchants.begin(), summary.merchants.end(),
                     [](const auto& a, const auto& b) { return a.amount_minor > b.amount_minor; });
    summary.period = period;
    notices.push_back(SummaryNotice(user_id, std::move(summary), currency, now_ms, calendar));
  });
}

}  // namespace vigil
