#pragma once

// A mistake (or a warning) in a rule file, as the compiler reports it to a person:
//   rules/velocity.yaml:12:9: error: unknown field "user.agee"; did you mean "user.age"?

#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace vigil::rules {

enum class Severity { kError, kWarning };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;

  std::string ToString() const {
    return absl::StrCat(file, ":", line, ":", column, ": ",
                        severity == Severity::kError ? "error: " : "warning: ", message);
  }
};

inline bool HasErrors(const std::vector<Diagnostic>& diagnostics) {
  for (const Diagnostic& d : diagnostics) {
    if (d.severity == Severity::kError) return true;
  }
  return false;
}

}  // namespace vigil::rules
