#include "engine/rules/fields.h"

namespace vigil::rules {
namespace {

constexpr FieldInfo kFields[] = {
    {"txn.amount", Field::kTxnAmount, Type::kMoney, "the charge's amount"},
    {"txn.currency", Field::kTxnCurrency, Type::kString, "ISO 4217 code, e.g. \"CNY\""},
    {"txn.channel", Field::kTxnChannel, Type::kString,
     "\"QR_CODE\", \"NFC\", \"IN_APP\", \"AUTO_DEBIT\", \"ONLINE\" or \"CHANNEL_UNSPECIFIED\""},
    {"txn.merchant_id", Field::kTxnMerchantId, Type::kString, "the merchant charging"},
    {"txn.merchant_category", Field::kTxnMerchantCategory, Type::kString,
     "MCC-style code, e.g. \"5816\""},
    {"txn.device_id", Field::kTxnDeviceId, Type::kString, "device fingerprint; \"\" if none"},
    {"txn.funding_source", Field::kTxnFundingSource, Type::kString,
     "\"BALANCE\", \"DEBIT_CARD\", \"CREDIT_CARD\", \"CREDIT_LINE\" or "
     "\"FUNDING_SOURCE_UNSPECIFIED\""},
    {"user.age", Field::kUserAge, Type::kInt, "age on the decision date; -1 if unknown"},
    {"user.elderly", Field::kUserElderly, Type::kBool,
     "age >= settings.elderly_age on the decision date"},
    {"user.has_profile", Field::kUserHasProfile, Type::kBool, "a profile exists"},
    {"user.risk_assessment_completed", Field::kUserRiskAssessmentCompleted, Type::kBool, ""},
    {"user.notify_every_transaction", Field::kUserNotifyEveryTransaction, Type::kBool,
     "the user opted in to a notice for every charge"},
    {"user.own_per_txn_limit", Field::kUserOwnPerTxnLimit, Type::kMoney,
     "the user's own per-transaction cap; 0 if none"},
    {"user.own_daily_limit", Field::kUserOwnDailyLimit, Type::kMoney,
     "the user's own daily cap; 0 if none"},
    {"user.per_txn_cap", Field::kUserPerTxnCap, Type::kMoney,
     "the policy's per-transaction cap for the user's segment (settings.caps)"},
    {"user.daily_cap", Field::kUserDailyCap, Type::kMoney,
     "the policy's daily cap for the user's segment (settings.caps)"},
    {"user.approved_today", Field::kUserApprovedToday, Type::kMoney,
     "approved today (local calendar day), across all mandates"},
    {"user.strong_auth_failures", Field::kUserStrongAuthFailures, Type::kInt,
     "STRONG_AUTH_FAILED outcomes since the last STRONG_AUTH_PASSED"},
    {"user.approvals_since_strong_auth", Field::kUserApprovalsSinceStrongAuth, Type::kInt,
     "approvals since the last STRONG_AUTH_PASSED"},
    {"user.attempts_since_strong_auth", Field::kUserAttemptsSinceStrongAuth, Type::kInt,
     "Authorize calls since the last STRONG_AUTH_PASSED"},
    {"mandate.status", Field::kMandateStatus, Type::kString,
     "\"ACTIVE\", \"PAUSED\", \"REVOKED\", \"EXPIRED\", \"NONE\" (no mandate), \"UNKNOWN_ID\" "
     "(an explicit mandate_id not of this user) or \"MERCHANT_MISMATCH\""},
    {"mandate.general", Field::kMandateGeneral, Type::kBool, "the mandate is for merchant \"*\""},
    {"mandate.idle", Field::kMandateIdle, Type::kDuration,
     "time since the mandate was last used (or granted)"},
    {"mandate.dormant", Field::kMandateDormant, Type::kBool,
     "a mandate was found and has been idle for settings.dormant_after or longer"},
    {"mandate.per_txn_limit", Field::kMandatePerTxnLimit, Type::kMoney, "0 if none"},
    {"mandate.daily_limit", Field::kMandateDailyLimit, Type::kMoney, "0 if none"},
    {"mandate.monthly_limit", Field::kMandateMonthlyLimit, Type::kMoney, "0 if none"},
    {"mandate.approved_today", Field::kMandateApprovedToday, Type::kMoney, ""},
    {"mandate.approved_this_month", Field::kMandateApprovedThisMonth, Type::kMoney, ""},
    {"decision.approve", Field::kDecisionApprove, Type::kBool,
     "the enforced rules so far approve (rules reading decision.* run after the others)"},
    {"decision.challenge", Field::kDecisionChallenge, Type::kBool, ""},
    {"decision.decline", Field::kDecisionDecline, Type::kBool, ""},
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

bool ReadsDecision(Field field) {
  return field == Field::kDecisionApprove || field == Field::kDecisionChallenge ||
         field == Field::kDecisionDecline;
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
