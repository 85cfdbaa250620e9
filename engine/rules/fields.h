#pragma once

// The vocabulary rules may read: typed fields of the transaction, the user, the mandate and the
// decision so far, and the velocity functions. Each field is declared once, in fields.cc's
// table: its name, type, the line rules/README.md documents it with, and how it is read from
// the engine's Facts. The checker resolves a name to its FieldInfo once, at compile time; the
// evaluator calls the reader through the plan, so nothing is looked up by name at decision time.
//
// Constant tables; thread-safe.

#include <cstdint>

#include "absl/strings/string_view.h"
#include "absl/types/span.h"
#include "engine/core/subject_windows.h"
#include "engine/rules/value.h"

namespace vigil::rules {

enum class Type : uint8_t { kBool, kInt, kMoney, kDuration, kString, kList };
const char* TypeName(Type type);

struct FieldInfo {
  absl::string_view name;  // as rules write it, e.g. "txn.amount"
  Type type;
  absl::string_view doc;  // for rules/README.md
  // Reads the field for one decision. REQUIRES: context.facts != nullptr.
  Value (*read)(const EvalContext& context);
  // For a string field with a closed set of values, all of them: comparing the field with any
  // other constant is an error. Empty for open fields.
  absl::Span<const absl::string_view> values = {};
  // The field reads the decision of the enforced rules: only rules after them may read it, and
  // nodes reading it are never cached.
  bool reads_decision = false;
};

// Every field, in the order rules/README.md documents them.
absl::Span<const FieldInfo> AllFields();
// nullptr when `name` is not a field.
const FieldInfo* FindField(absl::string_view name);

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
