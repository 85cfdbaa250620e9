#include "engine/store/state_codec.h"

#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "engine/codec/codec.h"
#include "engine/core/status_macros.h"

namespace vigil::store {
namespace {

absl::Status Damaged(absl::string_view what, const absl::Status& status) {
  return absl::DataLossError(absl::StrCat("damaged ", what, ": ", status.message()));
}

void EncodeWindows(const SubjectWindows::Saved& windows,
                   google::protobuf::RepeatedPtrField<store::v1::Window>& out,
                   google::protobuf::RepeatedField<int64_t>& events) {
  for (const SubjectWindows::SavedWindow& window : windows.windows) {
    store::v1::Window& encoded = *out.Add();
    encoded.set_subject(static_cast<int32_t>(window.spec.subject));
    encoded.set_metric(static_cast<int32_t>(window.spec.metric));
    encoded.set_span_ms(window.spec.shape.span_ms);
    encoded.set_buckets(window.spec.shape.buckets);
    encoded.mutable_data()->Add(window.data.begin(), window.data.end());
  }
  events.Add(windows.events.begin(), windows.events.end());
}

absl::StatusOr<SubjectWindows::Saved> DecodeWindows(
    const google::protobuf::RepeatedPtrField<store::v1::Window>& windows,
    const google::protobuf::RepeatedField<int64_t>& events) {
  SubjectWindows::Saved out;
  for (const store::v1::Window& window : windows) {
    if (window.subject() < 0 || window.subject() >= kSubjectCount || window.metric() < 0 ||
        window.metric() > static_cast<int>(WindowMetric::kDistinctMerchants) ||
        window.buckets() <= 0 || window.span_ms() <= 0) {
      return absl::DataLossError("damaged velocity window");
    }
    out.windows.push_back(SubjectWindows::SavedWindow{
        WindowSpec{static_cast<Subject>(window.subject()),
                   static_cast<WindowMetric>(window.metric()),
                   WindowShape{window.span_ms(), window.buckets()}},
        std::vector<int64_t>(window.data().begin(), window.data().end())});
  }
  if (events.size() % SubjectWindows::kSavedEventWords != 0 ||
      events.size() > SubjectWindows::kMaxEvents * SubjectWindows::kSavedEventWords) {
    return absl::DataLossError("damaged velocity events");
  }
  out.events.assign(events.begin(), events.end());
  return out;
}

void EncodeUsage(const PeriodUsage::Saved& usage, store::v1::PeriodUsage& out) {
  out.set_period(usage.period);
  out.set_amount_minor(usage.amount_minor);
  out.set_count(usage.count);
}

PeriodUsage::Saved DecodeUsage(const store::v1::PeriodUsage& usage) {
  return PeriodUsage::Saved{usage.period(), usage.amount_minor(), usage.count()};
}

}  // namespace

store::v1::UserState Encode(const UserSnapshot& user) {
  store::v1::UserState out;
  out.set_user_id(user.user_id);
  if (user.profile.has_value()) {
    codec::Encode(*user.profile, *out.mutable_profile());
  }
  for (const MandateSnapshot& mandate : user.mandates) {
    store::v1::MandateState& encoded = *out.add_mandates();
    codec::Encode(mandate.mandate, *encoded.mutable_mandate());
    EncodeUsage(mandate.day, *encoded.mutable_day());
    EncodeUsage(mandate.month, *encoded.mutable_month());
    EncodeUsage(mandate.previous_month, *encoded.mutable_previous_month());
    EncodeWindows(mandate.windows, *encoded.mutable_windows(), *encoded.mutable_window_events());
  }
  EncodeWindows(user.windows, *out.mutable_windows(), *out.mutable_window_events());
  EncodeUsage(user.day, *out.mutable_day());
  out.set_strong_auth_failures(user.strong_auth_failures);
  out.set_approvals_since_strong_auth(user.approvals_since_strong_auth);
  out.set_attempts_since_strong_auth(user.attempts_since_strong_auth);
  return out;
}

absl::StatusOr<UserSnapshot> Decode(const store::v1::UserState& user) {
  UserSnapshot out;
  out.user_id = user.user_id();
  if (user.has_profile()) out.profile = codec::Decode(user.profile());
  for (const store::v1::MandateState& mandate : user.mandates()) {
    absl::StatusOr<Mandate> decoded = codec::Decode(mandate.mandate());
    if (!decoded.ok())
      return Damaged(absl::StrCat("mandate of ", user.user_id()), decoded.status());
    absl::StatusOr<SubjectWindows::Saved> windows =
        DecodeWindows(mandate.windows(), mandate.window_events());
    if (!windows.ok()) return windows.status();
    out.mandates.push_back(MandateSnapshot{
        *std::move(decoded), DecodeUsage(mandate.day()), DecodeUsage(mandate.month()),
        DecodeUsage(mandate.previous_month()), *std::move(windows)});
  }
  VIGIL_ASSIGN_OR_RETURN(out.windows, DecodeWindows(user.windows(), user.window_events()));
  out.day = DecodeUsage(user.day());
  out.strong_auth_failures = user.strong_auth_failures();
  out.approvals_since_strong_auth = user.approvals_since_strong_auth();
  out.attempts_since_strong_auth = user.attempts_since_strong_auth();
  return out;
}

store::v1::SubjectState Encode(const SubjectSnapshot& subject) {
  store::v1::SubjectState out;
  out.set_subject(static_cast<int32_t>(subject.subject));
  out.set_id(subject.id);
  EncodeWindows(subject.windows, *out.mutable_windows(), *out.mutable_window_events());
  return out;
}

absl::StatusOr<SubjectSnapshot> Decode(const store::v1::SubjectState& subject) {
  if (subject.subject() != static_cast<int>(Subject::kDevice) &&
      subject.subject() != static_cast<int>(Subject::kMerchant)) {
    return absl::DataLossError(absl::StrCat("damaged windows of \"", subject.id(), "\""));
  }
  SubjectSnapshot out;
  out.subject = static_cast<Subject>(subject.subject());
  out.id = subject.id();
  VIGIL_ASSIGN_OR_RETURN(out.windows, DecodeWindows(subject.windows(), subject.window_events()));
  return out;
}

store::v1::TransactionState Encode(const TransactionSnapshot& transaction) {
  store::v1::TransactionState out;
  out.set_transaction_id(transaction.transaction_id);
  out.set_user_id(transaction.user_id);
  out.set_merchant_id(transaction.merchant_id);
  out.set_amount_minor(transaction.amount_minor);
  out.set_currency(transaction.currency);
  out.set_device_id(transaction.device_id);
  out.set_mandate_id(transaction.mandate_id);
  out.set_time_ms(transaction.time_ms);
  out.set_seen_ms(transaction.seen_ms);
  out.set_approved(transaction.approved);
  out.set_released(transaction.released);
  if (transaction.outcome.has_value()) out.set_outcome(codec::Encode(*transaction.outcome));
  codec::Encode(transaction.response, *out.mutable_response());
  return out;
}

absl::StatusOr<TransactionSnapshot> Decode(const store::v1::TransactionState& transaction) {
  TransactionSnapshot out;
  out.transaction_id = transaction.transaction_id();
  out.user_id = transaction.user_id();
  out.merchant_id = transaction.merchant_id();
  out.amount_minor = transaction.amount_minor();
  out.currency = transaction.currency();
  out.device_id = transaction.device_id();
  out.mandate_id = transaction.mandate_id();
  out.time_ms = transaction.time_ms();
  out.seen_ms = transaction.seen_ms();
  out.approved = transaction.approved();
  out.released = transaction.released();
  if (transaction.outcome() != vigil::v1::OUTCOME_UNSPECIFIED) {
    absl::StatusOr<Outcome> outcome = codec::Decode(transaction.outcome());
    if (!outcome.ok()) return Damaged("outcome", outcome.status());
    out.outcome = *outcome;
  }
  absl::StatusOr<AuthorizeResponse> response = codec::Decode(transaction.response());
  if (!response.ok()) {
    return Damaged(absl::StrCat("transaction \"", transaction.transaction_id(), "\""),
                   response.status());
  }
  out.response = *std::move(response);
  return out;
}

store::v1::GrantState Encode(const GrantSnapshot& grant) {
  store::v1::GrantState out;
  codec::Encode(grant.request, *out.mutable_request());
  out.set_mandate_id(grant.mandate_id);
  out.set_seen_ms(grant.seen_ms);
  return out;
}

GrantSnapshot Decode(const store::v1::GrantState& grant) {
  return GrantSnapshot{codec::Decode(grant.request()), grant.mandate_id(), grant.seen_ms()};
}

store::v1::DecisionLogRecord Encode(const DecisionLogEntry& entry) {
  store::v1::DecisionLogRecord out;
  codec::EncodeLogEntry(entry, out);
  return out;
}

absl::StatusOr<DecisionLogEntry> Decode(const store::v1::DecisionLogRecord& entry) {
  DecisionLogEntry out;
  out.time_ms = entry.time_ms();
  out.transaction_id = entry.transaction_id();
  if (entry.has_request()) {
    absl::StatusOr<AuthorizeRequest> request = codec::Decode(entry.request());
    if (!request.ok()) return Damaged("request", request.status());
    out.request = *std::move(request);
  }
  if (entry.has_response()) {
    absl::StatusOr<AuthorizeResponse> response = codec::Decode(entry.response());
    if (!response.ok()) return Damaged("response", response.status());
    out.response = *std::move(response);
  }
  if (entry.outcome() != vigil::v1::OUTCOME_UNSPECIFIED) {
    absl::StatusOr<Outcome> outcome = codec::Decode(entry.outcome());
    if (!outcome.ok()) return Damaged("outcome", outcome.status());
    out.outcome = *outcome;
  }
  if (entry.has_mandate()) {
    absl::StatusOr<Mandate> mandate = codec::Decode(entry.mandate());
    if (!mandate.ok()) return Damaged("mandate", mandate.status());
    out.mandate = *std::move(mandate);
  }
  if (entry.has_profile()) out.profile = codec::Decode(entry.profile());
  return out;
}

}  // namespace vigil::store
