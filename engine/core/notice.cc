#include "engine/core/notice.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "engine/core/money.h"

namespace vigil {
namespace {

std::string Date(int64_t epoch_ms, const LocalCalendar& calendar) {
  const absl::CivilDay day = calendar.DayOf(epoch_ms);
  return absl::StrFormat("%04d-%02d-%02d", day.year(), day.month(), day.day());
}

std::string Merchant(absl::string_view merchant_id) {
  return merchant_id == kAnyMerchant ? "in-person payments at any merchant"
                                     : absl::StrCat("merchant ", merchant_id);
}

std::string Money(int64_t amount_minor, absl::string_view currency) {
  return absl::StrCat(FormatAmount(amount_minor, currency), " ", currency);
}

}  // namespace

Notice MandateNotice(NoticeKind kind, const Mandate& mandate, int64_t time_ms,
                     const LocalCalendar& calendar) {
  Notice notice;
  notice.kind = kind;
  notice.user_id = mandate.user_id;
  notice.time_ms = time_ms;
  notice.mandate_id = mandate.mandate_id;
  notice.merchant_id = mandate.merchant_id;
  const std::string what =
      absl::StrCat("Your password-free payment authorization for ", Merchant(mandate.merchant_id),
                   " (", mandate.mandate_id, ")");
  switch (kind) {
    case NoticeKind::kMandateGranted:
      notice.text = absl::StrCat(what, " was granted on ", Date(time_ms, calendar), ".");
      break;
    case NoticeKind::kMandatePaused:
      notice.text = absl::StrCat(what, " was paused; nothing is charged without a password until ",
                                 "you resume it.");
      break;
    case NoticeKind::kMandateResumed:
      notice.text = absl::StrCat(what, " was resumed.");
      break;
    case NoticeKind::kMandateRevoked:
      notice.text = absl::StrCat(what, " was cancelled.");
      break;
    case NoticeKind::kMandateDormant: {
      const int64_t last =
          mandate.last_used_at_ms > 0 ? mandate.last_used_at_ms : mandate.created_at_ms;
      notice.text = absl::StrCat(what, " has not been used since ", Date(last, calendar),
                                 " and is still in force. Cancel it if you no longer use it.");
      break;
    }
    case NoticeKind::kMandateExpiring:
      notice.text = absl::StrCat(what, " ends on ", Date(mandate.expires_at_ms, calendar), ".");
      break;
    default:
      notice.text = what;
  }
  return notice;
}

Notice ChargeNotice(const AuthorizeRequest& request, absl::string_view mandate_id,
                    int64_t time_ms) {
  Notice notice;
  notice.kind = NoticeKind::kChargeApproved;
  notice.user_id = request.user_id;
  notice.time_ms = time_ms;
  notice.transaction_id = request.transaction_id;
  notice.mandate_id = std::string(mandate_id);
  notice.merchant_id = request.merchant_id;
  notice.amount_minor = request.amount_minor;
  notice.currency = request.currency;
  notice.text = absl::StrCat("You paid ", Money(request.amount_minor, request.currency), " to ",
                             request.merchant_id, " without a password.");
  return notice;
}

Notice RevokeAllNotice(absl::string_view user_id, const std::vector<Mandate>& revoked,
                       int64_t time_ms) {
  Notice notice;
  notice.kind = NoticeKind::kAllMandatesRevoked;
  notice.user_id = std::string(user_id);
  notice.time_ms = time_ms;
  notice.text = revoked.size() == 1
                    ? "Your 1 password-free payment authorization was cancelled."
                    : absl::StrCat("All ", revoked.size(),
                                   " of your password-free payment authorizations were cancelled.");
  return notice;
}

Notice SummaryNotice(absl::string_view user_id, PeriodicSummary summary, absl::string_view currency,
                     int64_t time_ms, const LocalCalendar& calendar) {
  Notice notice;
  notice.kind = NoticeKind::kPeriodicSummary;
  notice.user_id = std::string(user_id);
  notice.time_ms = time_ms;
  notice.amount_minor = summary.amount_minor;
  notice.currency = std::string(currency);
  std::string text = absl::StrCat("In ", summary.period, " you paid ",
                                  Money(summary.amount_minor, currency), " without a password in ",
                                  summary.count, summary.count == 1 ? " payment" : " payments");
  if (!summary.merchants.empty()) {
    absl::StrAppend(&text, ":");
    const char* separator = " ";
    for (const PeriodicSummary::MerchantTotal& merchant : summary.merchants) {
      absl::StrAppend(&text, separator,
                      merchant.merchant_id == kAnyMerchant ? "in person" : merchant.merchant_id,
                      " ", Money(merchant.amount_minor, currency), " (", merchant.count, ")");
      separator = ", ";
    }
  }
  absl::StrAppend(&text, ". ");
  if (summary.mandates.empty()) {
    absl::StrAppend(&text, "You have no password-free authorization in force.");
  } else {
    absl::StrAppend(&text, "In force: ");
    const char* separator = "";
    for (const PeriodicSummary::MandateUse& mandate : summary.mandates) {
      absl::StrAppend(&text, separator, Merchant(mandate.merchant_id), ", ",
                      mandate.last_used_at_ms > 0
                          ? absl::StrCat("last used ", Date(mandate.last_used_at_ms, calendar))
                          : std::string("never used"));
      separator = "; ";
    }
    absl::StrAppend(&text, ".");
  }
  notice.text = std::move(text);
  notice.summary = std::move(summary);
  return notice;
}

absl::Status AckedPastTheLast(uint64_t cursor, uint64_t last) {
  return absl::InvalidArgumentError(
      absl::StrCat("cursor: ", cursor, " is past the last notice, ", last));
}

}  // namespace vigil
