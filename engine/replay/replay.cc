#include "engine/replay/replay.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "engine/codec/codec.h"
#include "engine/core/status_macros.h"
#include "engine/core/vocabulary.h"
#include "simdjson.h"
#include "vigil/v1/vigil.pb.h"

namespace vigil::replay {
namespace {

// Refusals kept word for word in the report; the rest are only counted.
constexpr size_t kRefusalsKept = 20;

using google::protobuf::FieldDescriptor;
using google::protobuf::Message;
using google::protobuf::Reflection;

absl::Status JsonError(simdjson::error_code error) {
  return absl::InvalidArgumentError(simdjson::error_message(error));
}

#define VIGIL_JSON_TRY(expression)                                                     \
  do {                                                                                 \
    if (const simdjson::error_code error_ = (expression); error_ != simdjson::SUCCESS) \
      return JsonError(error_);                                                        \
  } while (0)

absl::Status FillMessage(simdjson::ondemand::object object, Message& message);

// A field of `descriptor` by its JSON key: the proto name, as vigilctl writes it, or the
// lowerCamelCase one protobuf's default printer uses. Remembered: the pool's own lookup builds a
// string and hashes the full name each time.
const FieldDescriptor* FieldByKey(const google::protobuf::Descriptor& descriptor,
                                  std::string_view key) {
  thread_local absl::flat_hash_map<const google::protobuf::Descriptor*,
                                   absl::flat_hash_map<std::string, const FieldDescriptor*>>
      fields;
  auto [known, added] = fields.try_emplace(&descriptor);
  if (added) {
    for (int i = 0; i < descriptor.field_count(); ++i) {
      const FieldDescriptor* field = descriptor.field(i);
      known->second.emplace(field->name(), field);
      known->second.emplace(field->json_name(), field);
    }
  }
  const auto it = known->second.find(absl::string_view(key.data(), key.size()));
  return it == known->second.end() ? nullptr : it->second;
}

// An integer as proto3's JSON writes it: a number, or (64-bit) a string of one.
template <typename Int>
absl::Status ReadInteger(simdjson::ondemand::value value, Int& out) {
  simdjson::ondemand::json_type type;
  VIGIL_JSON_TRY(value.type().get(type));
  if (type == simdjson::ondemand::json_type::string) {
    std::string_view text;
    VIGIL_JSON_TRY(value.get_string().get(text));
    if (!absl::SimpleAtoi(absl::string_view(text.data(), text.size()), &out)) {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", absl::string_view(text.data(), text.size()), "\" is not an integer"));
    }
    return absl::OkStatus();
  }
  if constexpr (std::is_signed_v<Int>) {
    int64_t number = 0;
    VIGIL_JSON_TRY(value.get_int64().get(number));
    out = static_cast<Int>(number);
  } else {
    uint64_t number = 0;
    VIGIL_JSON_TRY(value.get_uint64().get(number));
    out = static_cast<Int>(number);
  }
  return absl::OkStatus();
}

// One value of `field` (one element, when repeated) into `message`.
absl::Status FillValue(simdjson::ondemand::value value, const FieldDescriptor& field,
                       Message& message) {
  const Reflection& reflection = *message.GetReflection();
  const bool repeated = field.is_repeated();
  auto fail = [&](const absl::Status& status) {
    return absl::InvalidArgumentError(absl::StrCat(field.name(), ": ", status.message()));
  };
  switch (field.cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT32:
    case FieldDescriptor::CPPTYPE_INT64: {
      int64_t number = 0;
      if (absl::Status status = ReadInteger(value, number); !status.ok()) return fail(status);
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_INT32) {
        repeated ? reflection.AddInt32(&message, &field, static_cast<int32_t>(number))
                 : reflection.SetInt32(&message, &field, static_cast<int32_t>(number));
      } else {
        repeated ? reflection.AddInt64(&message, &field, number)
                 : reflection.SetInt64(&message, &field, number);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_UINT32:
    case FieldDescriptor::CPPTYPE_UINT64: {
      uint64_t number = 0;
      if (absl::Status status = ReadInteger(value, number); !status.ok()) return fail(status);
      if (field.cpp_type() == FieldDescriptor::CPPTYPE_UINT32) {
        repeated ? reflection.AddUInt32(&message, &field, static_cast<uint32_t>(number))
                 : reflection.SetUInt32(&message, &field, static_cast<uint32_t>(number));
      } else {
        repeated ? reflection.AddUInt64(&message, &field, number)
                 : reflection.SetUInt64(&message, &field, number);
      }
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_BOOL: {
      bool flag = false;
      if (value.get_bool().get(flag) != simdjson::SUCCESS) {
        return fail(absl::InvalidArgumentError("expected true or false"));
      }
      repeated ? reflection.AddBool(&message, &field, flag)
               : reflection.SetBool(&message, &field, flag);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_STRING: {
      std::string_view text;
      if (value.get_string().get(text) != simdjson::SUCCESS) {
        return fail(absl::InvalidArgumentError("expected a string"));
      }
      repeated ? reflection.AddString(&message, &field, std::string(text))
               : reflection.SetString(&message, &field, std::string(text));
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_ENUM: {
      std::string_view name;
      int number = 0;
      if (value.get_string().get(name) == simdjson::SUCCESS) {
        const auto* known = field.enum_type()->FindValueByName(std::string(name));
        if (known == nullptr) {
          return fail(absl::InvalidArgumentError(
              absl::StrCat("unknown value \"", absl::string_view(name.data(), name.size()), "\"")));
        }
        number = known->number();
      } else if (absl::Status status = ReadInteger(value, number); !status.ok()) {
        return fail(status);
      }
      repeated ? reflection.AddEnumValue(&message, &field, number)
               : reflection.SetEnumValue(&message, &field, number);
      return absl::OkStatus();
    }
    case FieldDescriptor::CPPTYPE_MESSAGE: {
      Message& inner = repeated ? *reflection.AddMessage(&message, &field)
                                : *reflection.MutableMessage(&message, &field);
      simdjson::ondemand::object object;
      if (value.get_object().get(object) != simdjson::SUCCESS) {
        return fail(absl::InvalidArgumentError("expected an object"));
      }
      if (absl::Status status = FillMessage(object, inner); !status.ok()) return fail(status);
      return absl::OkStatus();
    }
    default:
      return fail(absl::InvalidArgumentError("has a type a decision record does not use"));
  }
}

// A map field, as proto3's JSON writes it: an object of key: value.
absl::Status FillMap(simdjson::ondemand::object object, const FieldDescriptor& field,
                     Message& message) {
  const Reflection& reflection = *message.GetReflection();
  const FieldDescriptor& key_field = *field.message_type()->map_key();
  const FieldDescriptor& value_field = *field.message_type()->map_value();
  for (auto member : object) {
    std::string_view key;
    VIGIL_JSON_TRY(member.unescaped_key().get(key));
    simdjson::ondemand::value value;
    VIGIL_JSON_TRY(member.value().get(value));
    Message& entry = *reflection.AddMessage(&message, &field);
    entry.GetReflection()->SetString(&entry, &key_field, std::string(key));
    if (absl::Status status = FillValue(value, value_field, entry); !status.ok()) return status;
  }
  return absl::OkStatus();
}

// A JSON object into `message`, as protobuf's JSON parser would with unknown fields ignored
// (fields a later vigild may add): by field name, nulls left unset.
absl::Status FillMessage(simdjson::ondemand::object object, Message& message) {
  const google::protobuf::Descriptor& descriptor = *message.GetDescriptor();
  for (auto member : object) {
    std::string_view key;
    VIGIL_JSON_TRY(member.unescaped_key().get(key));
    simdjson::ondemand::value value;
    VIGIL_JSON_TRY(member.value().get(value));
    const FieldDescriptor* field = FieldByKey(descriptor, key);
    bool null = false;
    VIGIL_JSON_TRY(value.is_null().get(null));
    if (field == nullptr || null) continue;  // unknown fields and nulls are skipped
    if (field->is_map()) {
      simdjson::ondemand::object entries;
      if (value.get_object().get(entries) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(absl::StrCat(field->name(), ": expected an object"));
      }
      if (absl::Status status = FillMap(entries, *field, message); !status.ok()) return status;
    } else if (field->is_repeated()) {
      simdjson::ondemand::array array;
      if (value.get_array().get(array) != simdjson::SUCCESS) {
        return absl::InvalidArgumentError(absl::StrCat(field->name(), ": expected an array"));
      }
      for (auto element : array) {
        simdjson::ondemand::value item;
        VIGIL_JSON_TRY(element.get(item));
        if (absl::Status status = FillValue(item, *field, message); !status.ok()) return status;
      }
    } else if (absl::Status status = FillValue(value, *field, message); !status.ok()) {
      return status;
    }
  }
  return absl::OkStatus();
}

#undef VIGIL_JSON_TRY

// A line as a DecisionRecord; simdjson reads it in place, given room past its end.
absl::Status ParseRecord(absl::string_view line, v1::DecisionRecord& record) {
  // One object a line, nothing after it (simdjson reads only as far as the object goes).
  if (!absl::EndsWith(absl::StripTrailingAsciiWhitespace(line), "}")) {
    return absl::InvalidArgumentError("a line is one JSON object");
  }
  thread_local simdjson::ondemand::parser parser;
  thread_local std::string padded;
  padded.assign(line.data(), line.size());
  padded.reserve(line.size() + simdjson::SIMDJSON_PADDING);
  simdjson::ondemand::document document;
  simdjson::ondemand::object object;
  if (simdjson::error_code error = parser
                                       .iterate(simdjson::padded_string_view(
                                           padded.data(), padded.size(), padded.capacity()))
                                       .get(document);
      error != simdjson::SUCCESS) {
    return JsonError(error);
  }
  if (simdjson::error_code error = document.get_object().get(object); error != simdjson::SUCCESS) {
    return JsonError(error);
  }
  return FillMessage(object, record);
}

absl::Status Malformed(absl::string_view what, const absl::Status& status) {
  return absl::InvalidArgumentError(absl::StrCat(what, ": ", status.message()));
}

// Counted by interned reason, a pointer: summed by rule id only for the report.
void CountHits(const AuthorizeResponse& response,
               absl::flat_hash_map<const Reason*, int64_t>& hits) {
  for (const Reason* reason : response.reasons) ++hits[reason];
  for (const Reason* reason : response.shadow_reasons) ++hits[reason];
}

std::map<std::string, int64_t> ByRule(const absl::flat_hash_map<const Reason*, int64_t>& hits) {
  std::map<std::string, int64_t> out;
  for (const auto& [reason, count] : hits) out[reason->rule_id] += count;
  return out;
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

absl::StatusOr<DecisionLogEntry> ParseLogLine(absl::string_view line) {
  // One message for every line, cleared: it keeps its buffers from line to line.
  thread_local v1::DecisionRecord record;
  record.Clear();
  if (absl::Status parsed = ParseRecord(line, record); !parsed.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("not a decision record: ", parsed.message()));
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
  // Forget idempotency records as vigild does, a part for each minute of the log (all of them
  // after an hour's gap): a week's log then needs no more memory than vigild holds.
  constexpr size_t kParts = 64;
  constexpr int64_t kMinuteMs = 60'000;
  if (options_.idempotency_retention_ms > 0 && entry.time_ms >= expired_at_ms_ + kMinuteMs) {
    const int64_t minutes = (entry.time_ms - expired_at_ms_) / kMinuteMs;
    for (int64_t i = 0; i < std::min<int64_t>(minutes, kParts); ++i) {
      (void)engine_->ExpireTransactions(entry.time_ms - options_.idempotency_retention_ms,
                                        expiry_part_, kParts);
      expiry_part_ = (expiry_part_ + 1) % kParts;
    }
    expired_at_ms_ = entry.time_ms;
  }
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
  // Assigned into one request kept for every charge: its strings keep their buffers.
  request_ = *entry.request;
  AuthorizeRequest& request = request_;
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
  CountHits(logged, logged_hits_);
  CountHits(*replayed, hits_);

  const bool decision_changed = replayed->decision != logged.decision;
  if (decision_changed) {
    ++report_.changed;
    ++report_.transitions[absl::StrCat(Name(logged.decision), "->", Name(replayed->decision))];
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
  report.rule_hits = ByRule(hits_);
  report.logged_rule_hits = ByRule(logged_hits_);
  report.top_users.assign(changed_by_user_.begin(), changed_by_user_.end());
  std::sort(report.top_users.begin(), report.top_users.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (report.top_users.size() > options_.top_users) report.top_users.resize(options_.top_users);
  return report;
}

}  // namespace vigil::replay
