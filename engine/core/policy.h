#pragma once

// Policy is the narrow seam between the engine and whatever decides: the engine gathers the
// facts of one Authorize (user, mandate, usage, velocity windows) and a Policy turns them into
// fired rules. The engine owns all state and all effects; a Policy is pure and immutable, so a
// reload can swap in a new one while calls in flight finish on the old.
//
// Implementations must be thread-safe for concurrent const calls and must not allocate in
// Evaluate() on the approve path.

#include <cstdint>
#include <optional>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/types/span.h"
#include "engine/core/calendar.h"
#include "engine/core/subject_windows.h"
#include "engine/core/types.h"
#include "engine/core/velocity_window.h"

namespace vigil {

// How the charge's mandate was found.
enum class MandateMatch {
  kFound,             // a mandate of this user covers this merchant (any status)
  kNone,              // the user has no mandate for this merchant nor a general one
  kUnknownId,         // an explicit mandate_id that does not exist or is not this user's
  kMerchantMismatch,  // an explicit mandate_id for another merchant
};

struct MandateFacts {
  MandateMatch match = MandateMatch::kNone;
  // The following are meaningful only when match == kFound.
  MandateStatus status = MandateStatus::kActive;  // ACTIVE, PAUSED, REVOKED or EXPIRED
  bool general = false;                           // merchant_id "*"
  int64_t per_txn_limit_minor = 0;                // 0 = none of its own
  int64_t daily_limit_minor = 0;
  int64_t monthly_limit_minor = 0;
  int64_t idle_ms = 0;   // since last use, or since grant if never used
  bool dormant = false;  // idle_ms >= Policy::dormant_after_ms()
  int64_t day_used_minor = 0;
  int64_t month_used_minor = 0;
};

// The user's segment and the policy caps that follow from it.
struct UserSegment {
  bool elderly = false;
  int64_t per_txn_cap_minor = 0;
  int64_t daily_cap_minor = 0;
};

// When users are told of their mandates and sent a summary (the rules' settings.notices). The
// server runs the scans; the engine finds what to tell (Engine::ScanMandates, SummarizeMonth).
struct NoticeSchedule {
  // The local time of day, after midnight in the policy's calendar, that the daily scan and
  // the monthly summary run at.
  int64_t scan_at_ms = int64_t{9} * 3'600'000;
  // The day of the month (1 to 28) the summary of the month before is sent on.
  int summary_day = 1;
  // A mandate that ends within this is reported as expiring, once.
  int64_t expiring_within_ms = int64_t{7} * 86'400'000;
};

// Everything a policy may read about one Authorize. Views into the engine's state, valid only
// for the duration of Evaluate().
struct Facts {
  const AuthorizeRequest* request = nullptr;
  int64_t now_ms = 0;
  const UserProfile* profile = nullptr;  // nullptr: no profile, a standard adult
  std::optional<int> age;                // on the decision date; none without a birth date
  UserSegment segment;
  int64_t user_day_used_minor = 0;  // approved today across all mandates
  MandateFacts mandate;
  absl::Span<const WindowReading> windows;  // one per Policy::layout().specs(), in that order
  // Since the last STRONG_AUTH_PASSED (or ever).
  int64_t strong_auth_failures = 0;
  int64_t approvals_since_strong_auth = 0;
  int64_t attempts_since_strong_auth = 0;
};

// A rule that fired. `reason` must come from InternReason(): idempotency records keep pointing
// at it after the policy that fired it is replaced.
struct RuleHit {
  Decision action;
  const Reason* reason;
};

struct Verdict {
  Decision decision = Decision::kApprove;
  absl::InlinedVector<RuleHit, 8> hits;         // enforced rules that fired, in order
  absl::InlinedVector<RuleHit, 4> shadow_hits;  // shadow rules that would have fired
  bool notify_user = false;
};

class Policy {
 public:
  virtual ~Policy() = default;

  // Identifies the rule set for audit: equal content, equal version. Must stay valid for the
  // life of the process (a literal, or from InternString()): idempotency records keep it.
  virtual absl::string_view version() const = 0;
  // The local calendar in which daily and monthly caps reset.
  virtual const LocalCalendar& calendar() const = 0;
  // The velocity windows Evaluate() reads; the engine keeps exactly these.
  virtual const WindowLayout& layout() const = 0;
  // A mandate idle this long is shown as DORMANT.
  virtual int64_t dormant_after_ms() const = 0;
  // The currency of the policy's amounts (caps, usage totals).
  virtual absl::string_view currency() const { return "CNY"; }
  virtual NoticeSchedule notice_schedule() const { return NoticeSchedule{}; }

  // The segment of a user aged `age` (std::nullopt: no profile or no birth date).
  virtual UserSegment Segment(std::optional<int> age) const = 0;
  // Whether the policy lets this user hold this mandate: FAILED_PRECONDITION when it forbids
  // (e.g. an elderly user without a risk assessment), INVALID_ARGUMENT for a limit above a cap.
  virtual absl::Status CheckGrant(const GrantMandateRequest& request, const UserSegment& segment,
                                  const UserProfile* profile) const = 0;
  // INVALID_ARGUMENT when a user's own caps are above the policy's for the segment.
  virtual absl::Status CheckProfile(const UserProfile& profile,
                                    const UserSegment& segment) const = 0;

  // Fires every rule that applies and combines their actions.
  virtual Verdict Evaluate(const Facts& facts) const = 0;
};

}  // namespace vigil
