#pragma once

// DecisionLog is the engine's record of every decision and outcome, as a journal keeps it:
// read back by time for audits and replays, and trimmed once past its retention. Each journal
// (engine/core/journal.h) keeps one; the audit service reads it through this seam only.
//
// Thread-safe.

#include <cstdint>

#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "engine/core/journal.h"

namespace vigil {

class DecisionLog {
 public:
  virtual ~DecisionLog() = default;

  // Calls `sink` with every entry whose time_ms is in [since_ms, until_ms), oldest first (the
  // order they were appended in, among entries of the same time), until it returns false.
  virtual absl::Status ExportDecisions(int64_t since_ms, int64_t until_ms,
                                       absl::FunctionRef<bool(const DecisionLogEntry&)> sink) = 0;
  // The same order reversed, newest first: every entry whose time_ms is before `until_ms`, until
  // `sink` returns false. For a look at the latest entries (the console's recent decisions).
  virtual absl::Status ExportDecisionsNewestFirst(
      int64_t until_ms, absl::FunctionRef<bool(const DecisionLogEntry&)> sink) = 0;
  // Deletes the entries whose time_ms is before `before_ms`.
  virtual absl::Status DeleteDecisionsBefore(int64_t before_ms) = 0;
};

}  // namespace vigil
