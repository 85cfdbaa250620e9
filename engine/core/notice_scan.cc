#include "engine/core/notice_scan.h"

#include <algorithm>
#include <string>
#include <utility>

#include "absl/strings/str_format.h"

namespace vigil {

void FindDormantAndExpiring(absl::string_view user_id, const UserState& state, const Policy& policy,
                            int64_t since_ms, int64_t now_ms, std::vector<Notice>& notices) {
  const int64_t dormant_after = policy.dormant_after_ms();
  const int64_t expiring_within = policy.notice_schedule().expiring_within_ms;
  auto in_scan = [&](int64_t at) { return at > since_ms && at <= now_ms; };
  for (const MandateState& entry : state.mandates) {
    const StoredMandate& mandate = entry.mandate;
    if (mandate.status == MandateStatus::kRevoked || mandate.Expired(now_ms)) continue;
    const int64_t idle_since =
        mandate.last_used_at_ms != 0 ? mandate.last_used_at_ms : mandate.created_at_ms;
    if (mandate.status == MandateStatus::kActive && in_scan(idle_since + dormant_after)) {
      notices.push_back(MandateNotice(NoticeKind::kMandateDormant, mandate.ToMandate(user_id),
                                      now_ms, policy.calendar()));
    }
    if (mandate.expires_at_ms != 0 && in_scan(mandate.expires_at_ms - expiring_within)) {
      notices.push_back(MandateNotice(NoticeKind::kMandateExpiring, mandate.ToMandate(user_id),
                                      now_ms, policy.calendar()));
    }
  }
}

absl::Status CheckSummaryMonth(int64_t month, int64_t now_ms, const Policy& policy) {
  const int64_t current = policy.calendar().MonthNumber(now_ms);
  if (month != current && month != current - 1) {
    return absl::InvalidArgumentError(
        "month: the engine keeps totals of the current month and the one before only");
  }
  return absl::OkStatus();
}

std::optional<Notice> MonthlySummary(absl::string_view user_id, const UserState& state,
                                     const Policy& policy, int64_t month, int64_t now_ms) {
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
  if (summary.count == 0 && summary.mandates.empty()) return std::nullopt;
  std::stable_sort(summary.merchants.begin(), summary.merchants.end(),
                   [](const auto& a, const auto& b) { return a.amount_minor > b.amount_minor; });
  summary.period = absl::StrFormat("%04d-%02d", 1970 + month / 12, month % 12 + 1);
  return SummaryNotice(user_id, std::move(summary), policy.currency(), now_ms, policy.calendar());
}

}  // namespace vigil
