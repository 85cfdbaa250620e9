#pragma once

// Notices are what users are told without asking: an approved charge (for users told of each),
// a change to one of their mandates, a mandate idle long enough to be dormant or about to end,
// and a monthly summary. The engine writes each in the same journal change as the event that
// causes it (StateChange::notices), so a notice exists exactly when its event is durable; the
// journal's outbox (NoticeOutbox) keeps them in order for the app backend that pushes them.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/functional/any_invocable.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "engine/core/calendar.h"
#include "engine/core/types.h"

namespace vigil {

enum class NoticeKind {
  kChargeApproved = 1,
  kMandateGranted,
  kMandatePaused,
  kMandateResumed,
  kMandateRevoked,
  kAllMandatesRevoked,
  kMandateDormant,
  kMandateExpiring,
  kPeriodicSummary,
};

// A month's password-free payments: in total, by merchant, and the mandates in force.
struct PeriodicSummary {
  struct MerchantTotal {
    std::string merchant_id;
    int64_t amount_minor = 0;
    int64_t count = 0;
    friend bool operator==(const MerchantTotal&, const MerchantTotal&) = default;
  };
  struct MandateUse {
    std::string mandate_id;
    std::string merchant_id;
    int64_t last_used_at_ms = 0;  // 0: never
    friend bool operator==(const MandateUse&, const MandateUse&) = default;
  };
  std::string period;  // "YYYY-MM"
  int64_t amount_minor = 0;
  int64_t count = 0;
  std::vector<MerchantTotal> merchants;  // largest amount first
  std::vector<MandateUse> mandates;      // oldest first

  friend bool operator==(const PeriodicSummary&, const PeriodicSummary&) = default;
};

struct Notice {
  NoticeKind kind = NoticeKind::kChargeApproved;
  std::string user_id;
  int64_t time_ms = 0;
  std::string transaction_id;
  std::string mandate_id;
  std::string merchant_id;
  int64_t amount_minor = 0;
  std::string currency;
  std::string text;
  std::optional<PeriodicSummary> summary;

  friend bool operator==(const Notice&, const Notice&) = default;
};

// The notices of a mandate's change of status; `kind` is one of the mandate kinds.
Notice MandateNotice(NoticeKind kind, const Mandate& mandate, int64_t time_ms,
                     const LocalCalendar& calendar);
Notice ChargeNotice(const AuthorizeRequest& request, absl::string_view mandate_id, int64_t time_ms);
Notice RevokeAllNotice(absl::string_view user_id, const std::vector<Mandate>& revoked,
                       int64_t time_ms);
Notice SummaryNotice(absl::string_view user_id, PeriodicSummary summary, absl::string_view currency,
                     int64_t time_ms, const LocalCalendar& calendar);

// A notice as it stands in an outbox: its cursor, numbered from 1 in the order notices were
// made durable (which is, for each user, the order of their events).
struct StoredNotice {
  uint64_t cursor = 0;
  Notice notice;
};

// What NoticeOutbox::Ack says of a cursor past the last notice: INVALID_ARGUMENT.
absl::Status AckedPastTheLast(uint64_t cursor, uint64_t last);

// The outbox a journal keeps of the notices in its changes, with each consumer's progress.
// Thread-safe.
class NoticeOutbox {
 public:
  virtual ~NoticeOutbox() = default;

  // Calls `sink` with the durable notices after `after`, in cursor order, until it returns false.
  virtual absl::Status ReadNotices(uint64_t after,
                                   absl::FunctionRef<bool(const StoredNotice&)> sink) = 0;
  // The cursor of the last durable notice; 0 when there has been none.
  virtual uint64_t LastNoticeCursor() const = 0;
  // The last cursor deleted past retention; 0 when none has been. A consumer whose ack is
  // below it lost the notices in between.
  virtual uint64_t TrimmedThrough() const = 0;
  // Deletes the notices made before `before_ms` (by their time), oldest first, stopping at the
  // first kept: the outbox stays a contiguous run of cursors.
  virtual absl::Status DeleteNoticesBefore(int64_t before_ms) = 0;

  // The last cursor `consumer` acknowledged; none when it never has.
  virtual absl::StatusOr<std::optional<uint64_t>> AckedCursor(absl::string_view consumer) = 0;
  // Makes `cursor` the consumer's ack, durably, unless its ack is already at or past it.
  // INVALID_ARGUMENT for a cursor past the last notice.
  virtual absl::Status Ack(absl::string_view consumer, uint64_t cursor) = 0;

  // Calls `listener` with the last cursor each time notices become durable, on the journal's
  // thread; it must not block or call the outbox. Replaces any listener set before.
  virtual void SetNoticeListener(absl::AnyInvocable<void(uint64_t last_cursor)> listener) = 0;

  // A named mark the server's scans keep their progress in, written with the notices a scan
  // finds (StateChange::marks): 0 when never set.
  virtual absl::StatusOr<int64_t> ReadMark(absl::string_view name) = 0;

  // The scans run in one process at a time, which holds this right while it reads the marks,
  // scans and writes them. True when this process now holds it: until ReleaseScans, or until it
  // dies (the right then passes to another after a while). An outbox of one process always
  // grants it; one that several processes share (a Redis Cluster's) grants it to one of them.
  virtual absl::StatusOr<bool> AcquireScans() { return true; }
  virtual void ReleaseScans() {}
};

}  // namespace vigil
