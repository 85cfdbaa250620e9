#include "engine/rules/fields.h"

#include "engine/core/policy.h"
#include "engine/core/vocabulary.h"

namespace vigil::rules {
namespace {

const AuthorizeRequest& Txn(const EvalContext& context) { return *context.facts->request; }
const UserProfile* Profile(const EvalContext& context) { return context.facts->profile; }
const MandateFacts& MandateOf(const EvalContext& context) { return context.facts->mandate; }

// mandate.status: the mandate's status, or why there is none. A dormant mandate reads ACTIVE
// here (mandate.dormant tells it apart), so that rules on status need not list both.
constexpr absl::string_view kMandateStatusValues[] = {
    "ACTIVE", "PAUSED", "REVOKED", "EXPIRED", "NONE", "UNKNOWN_ID", "MERCHANT_MISMATCH"};

absl::string_view MandateStatusValue(const MandateFacts& mandate) {
  switch (mandate.match) {
    case MandateMatch::kNone:
      return "NONE";
    case MandateMatch::kUnknownId:
      return "UNKNOWN_ID";
    case MandateMatch::kMerchantMismatch:
      return "MERCHANT_MISMATCH";
    case MandateMatch::kFound:
      break;
  }
  return mandate.status == MandateStatus::kDormant ? Name(MandateStatus::kActive)
                                                   : Name(mandate.status);
}

// Every field, once. Adding one: a line here (and, if it needs a fact the engine does not
// gather yet, a member of Facts); the checker, the evaluator and the reference test follow.
constexpr FieldInfo kFields[] = {
    {"txn.amount", Type::kMoney, "the charge's amount",
     [](const EvalContext& c) { return IntValue(Txn(c).amount_minor); }},
    {"txn.currency", Type::kString, "ISO 4217 code, e.g. \"CNY\"",
     [](const EvalContext& c) { return TextValue(Txn(c).currency); }},
    {"txn.channel", Type::kString,
     "\"QR_CODE\", \"NFC\", \"IN_APP\", \"AUTO_DEBIT\", \"ONLINE\" or \"CHANNEL_UNSPECIFIED\"",
     [](const EvalContext& c) { return TextValue(Name(Txn(c).channel)); }, Names<Channel>()},
    {"txn.merchant_id", Type::kString, "the merchant charging",
     [](const EvalContext& c) { return TextValue(Txn(c).merchant_id); }},
    {"txn.merchant_category", Type::kString, "MCC-style code, e.g. \"5816\"",
     [](const EvalContext& c) { return TextValue(Txn(c).merchant_category); }},
    {"txn.device_id", Type::kString, "device fingerprint; \"\" if none",
     [](const EvalContext& c) { return TextValue(Txn(c).device_id); }},
    {"txn.funding_source", Type::kString,
     "\"BALANCE\", \"DEBIT_CARD\", \"CREDIT_CARD\", \"CREDIT_LINE\" or "
     "\"FUNDING_SOURCE_UNSPECIFIED\"",
     [](const EvalContext& c) { return TextValue(Name(Txn(c).funding_source)); },
     Names<FundingSource>()},
    {"user.age", Type::kInt, "age on the decision date; -1 if unknown",
     [](const EvalContext& c) { return IntValue(c.facts->age.value_or(-1)); }},
    {"user.elderly", Type::kBool, "age >= settings.elderly_age on the decision date",
     [](const EvalContext& c) { return IntValue(c.facts->segment.elderly); }},
    {"user.has_profile", Type::kBool, "a profile exists",
     [](const EvalContext& c) { return IntValue(Profile(c) != nullptr); }},
    {"user.risk_assessment_completed", Type::kBool, "",
     [](const EvalContext& c) {
       return IntValue(Profile(c) != nullptr && Profile(c)->risk_assessment_completed);
     }},
    {"user.notify_every_transaction", Type::kBool, "the user opted in to a notice for every charge",
     [](const EvalContext& c) {
       return IntValue(Profile(c) != nullptr && Profile(c)->notify_every_transaction);
     }},
    {"user.own_per_txn_limit", Type::kMoney, "the user's own per-transaction cap; 0 if none",
     [](const EvalContext& c) {
       return IntValue(Profile(c) ? Profile(c)->per_txn_limit_minor : 0);
     }},
    {"user.own_daily_limit", Type::kMoney, "the user's own daily cap; 0 if none",
     [](const EvalContext& c) { return IntValue(Profile(c) ? Profile(c)->daily_limit_minor : 0); }},
    {"user.per_txn_cap", Type::kMoney,
     "the policy's per-transaction cap for the user's segment (settings.caps)",
     [](const EvalContext& c) { return IntValue(c.facts->segment.per_txn_cap_minor); }},
    {"user.daily_cap", Type::kMoney,
     "the policy's daily cap for the user's segment (settings.caps)",
     [](const EvalContext& c) { return IntValue(c.facts->segment.daily_cap_minor); }},
    {"user.approved_today", Type::kMoney,
     "approved today (local calendar day), across all mandates",
     [](const EvalContext& c) { return IntValue(c.facts->user_day_used_minor); }},
    {"user.strong_auth_failures", Type::kInt,
     "STRONG_AUTH_FAILED outcomes since the last STRONG_AUTH_PASSED",
     [](const EvalContext& c) { return IntValue(c.facts->strong_auth_failures); }},
    {"user.approvals_since_strong_auth", Type::kInt, "approvals since the last STRONG_AUTH_PASSED",
     [](const EvalContext& c) { return IntValue(c.facts->approvals_since_strong_auth); }},
    {"user.attempts_since_strong_auth", Type::kInt,
     "Authorize calls since the last STRONG_AUTH_PASSED",
     [](const EvalContext& c) { return IntValue(c.facts->attempts_since_strong_auth); }},
    {"mandate.status", Type::kString,
     "\"ACTIVE\", \"PAUSED\", \"REVOKED\", \"EXPIRED\", \"NONE\" (no mandate), \"UNKNOWN_ID\" "
     "(an explicit mandate_id not of this user) or \"MERCHANT_MISMATCH\"",
     [](const EvalContext& c) { return TextValue(MandateStatusValue(MandateOf(c))); },
     kMandateStatusValues},
    {"mandate.general", Type::kBool, "the mandate is for merchant \"*\"",
     [](const EvalContext& c) { return IntValue(MandateOf(c).general); }},
    {"mandate.idle", Type::kDuration, "time since the mandate was last used (or granted)",
     [](const EvalContext& c) { return IntValue(MandateOf(c).idle_ms); }},
    {"mandate.dormant", Type::kBool,
     "a mandate was found and has been idle for settings.dormant_after or longer",
     [](const EvalContext& c) {
       return IntValue(MandateOf(c).match == MandateMatch::kFound && MandateOf(c).dormant);
     }},
    {"mandate.per_txn_limit", Type::kMoney, "0 if none",
     [](const EvalContext& c) { return IntValue(MandateOf(c).per_txn_limit_minor); }},
    {"mandate.daily_limit", Type::kMoney, "0 if none",
     [](const EvalContext& c) { return IntValue(MandateOf(c).daily_limit_minor); }},
    {"mandate.monthly_limit", Type::kMoney, "0 if none",
     [](const EvalContext& c) { return IntValue(MandateOf(c).monthly_limit_minor); }},
    {"mandate.approved_today", Type::kMoney, "",
     [](const EvalContext& c) { return IntValue(MandateOf(c).day_used_minor); }},
    {"mandate.approved_this_month", Type::kMoney, "",
     [](const EvalContext& c) { return IntValue(MandateOf(c).month_used_minor); }},
    {"decision.approve",
     Type::kBool,
     "the enforced rules so far approve (rules reading decision.* run after the others)",
     [](const EvalContext& c) { return IntValue(c.decision == Decision::kApprove); },
     {},
     true},
    {"decision.challenge",
     Type::kBool,
     "",
     [](const EvalContext& c) { return IntValue(c.decision == Decision::kChallenge); },
     {},
     true},
    {"decision.decline",
     Type::kBool,
     "",
     [](const EvalContext& c) { return IntValue(c.decision == Decision::kDecline); },
     {},
     true},
};

constexpr VelocityFunction kVelocity[] = {
    {"approvals", WindowMetric::kApprovals, false, Type::kInt, "approved charges in the window"},
    {"approved_amount", WindowMetric::kApprovals, true, Type::kMoney,
     "the amount approved in the window"},
    {"attempts", WindowMetric::kAttempts, false, Type::kInt,
     "Authorize calls in the window, whatever their decision"},
    {"distinct_merchants", WindowMetric::kDistinctMerchants, false, Type::kInt,
     "distinct merchants among the last 16 attempts in the window"},
};

}  // namespace

const char* TypeName(Type type) {
  switch (type) {
    case Type::kBool:
      return "bool";
    case Type::kInt:
      return "int";
    case Type::kMoney:
      return "money";
    case Type::kDuration:
      return "duration";
    case Type::kString:
      return "string";
    case Type::kList:
      return "list";
  }
  return "?";
}

absl::Span<const FieldInfo> AllFields() { return kFields; }

const FieldInfo* FindField(absl::string_view name) {
  for (const FieldInfo& info : kFields) {
    if (info.name == name) return &info;
  }
  return nullptr;
}

absl::Span<const VelocityFunction> AllVelocityFunctions() { return kVelocity; }

const VelocityFunction* FindVelocityFunction(absl::string_view method) {
  for (const VelocityFunction& function : kVelocity) {
    if (function.method == method) return &function;
  }
  return nullptr;
}

bool ParseSubject(absl::string_view name, Subject& subject) {
  for (Subject candidate :
       {Subject::kUser, Subject::kDevice, Subject::kMerchant, Subject::kMandate}) {
    if (SubjectName(candidate) == name) {
      subject = candidate;
      return true;
    }
  }
  return false;
}

absl::string_view SubjectName(Subject subject) {
  switch (subject) {
    case Subject::kUser:
      return "user";
    case Subject::kDevice:
      return "device";
    case Subject::kMerchant:
      return "merchant";
    case Subject::kMandate:
      return "mandate";
  }
  return "?";
}

}  // namespace vigil::rules
