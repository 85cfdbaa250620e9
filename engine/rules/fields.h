#pragma once

// The vocabulary rules may read: typed fields of the transaction, the user, the mandate and the
// decision so far, and the velocity functions. Each field is a slot the evaluator reads
// directly from the engine's Facts; nothing is looked up by name at decision time.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/core/subject_windows.h"

namespace vigil::rules {

enum class Type : uint8_t { kBool, kInt, kMoney, kDuration, kString, kList };
const char* TypeName(Type type);

enum class Field : uint8_t {
  kTxnAmount,
  kTxnCurrency,
  kTxnChannel,
  kTxnMerchantId,
  kTxnMerchantCategory,
  kTxnDeviceId,
  kTxnFundingSource,
  kUserAge,
  kUserElderly,
  kUserHasProfile,
  kUserRiskAssessmentCompleted,
  kUserNotifyEveryTransaction,
  kUserOwnPerTxnLimit,
  kUserOwnDailyLimit,
  kUserPerTxnCap,
  kUserDailyCap,
  kUserApprovedToday,
  kUserStrongAuthFailures,
  kUserApprovalsSinceStrongAuth,
  kUserAttemptsSinceStrongAuth,
  kMandateStatus,
  kMandateGeneral,
  kMandateIdle,
  kMandateDormant,
  kMandatePerTxnLimit,
  kMandateDailyLimit,
  kMandateMonthlyLimit,
  kMandateApprovedToday,
  kMandateApprovedThisMonth,
  kDecisionApprove,
  kDecisionChallenge,
  kDecisionDecline,
};

struct FieldInfo {
  absl::string_view name;
  Field field;
  Type type;
  absl::string_view doc;
};

// Every field, in the order rules/README.md documents them.
absl::Span<const FieldInfo> AllFields();
// nullptr when `name` is not a field.
const FieldInfo* FindField(absl::string_view name);
// Whether a field reads the decision of the enforced rules (only later rules may).
bool ReadsDecision(Field field);

// A velocity function, as in `user.approvals(1h)`.
struct VelocityFunction {
  absl::string_view method;
  WindowMetric metric;
  bool sum;  // the amount rather than the count
  Type type;
  absl::string_view doc;
};
absl::Span<const VelocityFunction> AllVelocityFunctions();
const VelocityFunction* FindVelocityFunction(absl::string_view method);
// "user", "device", "merchant", "mandate" -> the subject; false for anything else.
bool ParseSubject(absl::string_view name, Subject& subject);
absl::string_view SubjectName(Subject subject);

}  // namespace vigil::rules
