#include "engine/replay/replay.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "engine/codec/codec.h"
#include "google/protobuf/util/json_util.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::replay {
namespace {

// Refusals kept word for word in the report; the rest are only counted.
constexpr size_t kRefusalsKept = 20;

absl::Status Malformed(absl::string_view what, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", status.message()));
}

void CountHits(const AuthorizeResponse& response, std::map<std::string, int64_t>& hits) {
  for (const Reason* reason : response.reasons) ++hits[reason->rule_id];
  for (const Reason* reason : response.shadow_reasons) ++hits[reason->rule_id];
}

// The grant that makes the mandate the log recorded, without its request_id: each is replayed
// once, at its own entry.
GrantMandateRequest GrantOf(const Mandate& mandate) {
  GrantMandateRequest grant;
  grant.user_id = mandate.user_id;
  grant.merchant_id = mandate.merchant_id;
  grant.per_txn_limit_minor = mandate.per_txn_limit_minor;
  grant.daily_limit_minor = mandate.daily_limit_minor;
  grant.monthly_limit_minor = mandate.monthly_limit_minor;
  grant.expires_at_ms = mandate.expires_at_ms;
  grant.consent = mandate.consent;
  return grant;
}

}  // namespace

absl::string_view DecisionName(Decision decision) {
  switch (decision) {
    case Decision::kApprove:
      return "APPROVE";
    case Decision::kChallenge:
      return "CHALLENGE";
    case Decision::kDecline:
      return "DECLINE";
  }
  return "UNKNOWN";
}

absl::StatusOr<DecisionLogEntry> ParseLogLine(absl::string_view line) {
  v1::DecisionRecord record;
  google::protobuf::util::JsonParseOptions options;
  options.ignore_unknown_fields = true;  // fields a later vigild may add
  const auto parsed = google::protobuf::util::JsonStringToMessage(
      google::protobuf::StringPiece(line.data(), line.size()), &record, options);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("not a decision record: ", std::string(parsed.message())));
  }

  DecisionLogEntry entry;
  entry.time_ms = record.time_ms();
  entry.transaction_id = record.transaction_id();
  if (record.has_request() != record.has_response()) {
    return absl::InvalidArgumentError("a charge needs both its request and its response");
  }
  if (record.has_request()) {
    absl::StatusOr<AuthorizeRequest> request = codec::Decode(record.request());
    if (!request.ok()) return Malformed("request", request.status());
    absl::StatusOr<AuthorizeResponse> response = codec::Decode(record.response());
    if (!response.ok()) return Malformed("response", response.status());
    entry.request = *std::move(request);
    entry.response = *std::move(response);
  } else if (record.outcome() != v1::OUTCOME_UNSPECIFIED) {
    absl::StatusOr<Outcome> outcome = codec::Decode(record.outcome());
    if (!outcome.ok()) return Malformed("outcome", outcome.status());
    entry.outcome = *outcome;
  } else if (record.has_mandate()) {
    absl::StatusOr<Mandate> mandate = codec::Decode(record.mandate());
    if (!mandate.ok()) return Malformed("mandate", mandate.status());
    entry.mandate = *std::move(mandate);
  } else if (record.has_profile()) {
    entry.profile = codec::Decode(record.profile());
  } else {
    return absl::InvalidArgumentError(
        "records neither a charge, an outcome, a mandate nor a profile");
  }
  return entry;
}

Replayer::Replayer(std::shared_ptr<const Policy> policy, ReplayOptions options)
    : engine_(Engine::Create(std::move(policy), &clock_,
                             EngineOptions{.trust_client_time = true, .id_seed = 1})),
      options_(options) {}

void Replayer::Replay(const DecisionLogEntry& entry) {
  clock_.SetMs(entry.time_ms);
  if (entry.request.has_value()) return ReplayCharge(entry);
  if (entry.outcome.has_value()) {
    ++report_.outcomes;
    const absl::Status status =
        engine_->ReportOutcome(entry.transaction_id, *entry.outcome, entry.time_ms);
    if (!status.ok()) Refused(absl::StrCat("outcome of ", entry.transaction_id), status);
    return;
  }
  if (entry.mandate.has_value()) return ReplayMandate(*entry.mandate, entry.time_ms);
  if (entry.profile.has_value()) {
    ++report_.profiles;
    const absl::StatusOr<UserProfile> put = engine_->PutUserProfile(*entry.profile);
    if (!put.ok()) Refused(absl::StrCat("profile of ", entry.profile->user_id), put.status());
  }
}

void Replayer::ReplayCharge(const DecisionLogEntry& entry) {
  ++report_.total;
  AuthorizeRequest request = *entry.request;
  request.event_time_ms = entry.time_ms;
  if (!request.mandate_id.empty()) {
    // The log's mandate ids are not the replaying engine's.
    if (auto it = mandates_.find(request.mandate_id); it != mandates_.end()) {
      request.mandate_id = it->second.mandate_id;
    }
  }
  absl::StatusOr<AuthorizeResponse> replayed = engine_->Authorize(request);
  if (!replayed.ok()) {
    Refused(absl::StrCat("charge ", request.transaction_id), replayed.status());
    return;
  }
  const AuthorizeResponse& logged = *entry.response;
  CountHits(logged, report_.logged_rule_hits);
  CountHits(*replayed, report_.rule_hits);

  const bool decision_changed = replayed->decision != logged.decision;
  if (decision_changed) {
    ++report_.changed;
    ++report_.transitions[absl::StrCat(DecisionName(logged.decision), "->",
                                       DecisionName(replayed->decision))];
    ++changed_by_user_[request.user_id];
  } else if (replayed->reasons != logged.reasons ||
             replayed->shadow_reasons != logged.shadow_reasons ||
             replayed->notify_user != logged.notify_user) {
    ++report_.reasons_changed;
  } else {
    return;
  }
  if (report_.sample.size() < options_.sample_size) {
    report_.sample.push_back(ChangedCharge{entry.time_ms, request.transaction_id, request.user_id,
                                           logged, *std::move(replayed)});
  }
}

void Replayer::ReplayMandate(const Mandate& logged, int64_t time_ms) {
  ++report_.mandate_changes;
  auto it = mandates_.find(logged.mandate_id);
  if (it == mandates_.end()) {
    // First seen: its grant (or, for a mandate granted before the log begins, its first change).
    absl::StatusOr<Mandate> granted = engine_->GrantMandate(GrantOf(logged));
    if (!granted.ok())
      return Refused(absl::StrCat("grant of ", logged.mandate_id), granted.status());
    it = mandates_.emplace(logged.mandate_id, ReplayedMandate{granted->mandate_id}).first;
  }
  ReplayedMandate& replayed = it->second;
  absl::StatusOr<Mandate> changed = Mandate{};
  switch (logged.status) {
    case MandateStatus::kPaused:
      if (replayed.status == MandateStatus::kPaused) return;
      changed = engine_->PauseMandate(replayed.mandate_id, logged.user_id);
      break;
    case MandateStatus::kRevoked:
      if (replayed.status == MandateStatus::kRevoked) return;
      changed = engine_->RevokeMandate(replayed.mandate_id, logged.user_id, logged.revoke_reason);
      break;
    case MandateStatus::kActive:
    case MandateStatus::kDormant:
    case MandateStatus::kExpired:
      // Set by no one (dormancy and expiry follow from time): only a paused one was resumed.
      if (replayed.status != MandateStatus::kPaused) return;
      changed = engine_->ResumeMandate(replayed.mandate_id, logged.user_id);
      break;
  }
  if (!changed.ok()) {
    return Refused(absl::StrCat("change of ", logged.mandate_id, " at ", time_ms),
                   changed.status());
  }
  replayed.status =
      logged.status == MandateStatus::kPaused || logged.status == MandateStatus::kRevoked
          ? logged.status
          : MandateStatus::kActive;
}

void Replayer::Refused(absl::string_view what, const absl::Status& status) {
  ++report_.refused;
  if (report_.refusals.size() < kRefusalsKept) {
    report_.refusals.push_back(absl::StrCat(what, ": ", status.ToString()));
  }
}

ReplayReport Replayer::Finish() const {
  ReplayReport report = report_;
  report.top_users.assign(changed_by_user_.begin(), changed_by_user_.end());
  std::sort(report.top_users.begin(), report.top_users.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (report.top_users.size() > options_.top_users) report.top_users.resize(options_.top_users);
  return report;
}

}  // namespace vigil::replay
