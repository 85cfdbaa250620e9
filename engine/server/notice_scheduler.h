#pragma once

// NoticeScheduler runs the engine's notice scans (Engine::ScanMandates, SummarizeMonth) on the
// schedule the rules' settings.notices give, in their local calendar:
//   - the daily scan, at scan_at each day, for mandates that went dormant or near their end
//     since the scan before;
//   - the summary of the month before, on summary_day at scan_at.
// Each scan's progress is a mark in the outbox, written with the last of its notices: a scan
// that fell due while vigild was down runs when it starts, covering the whole time since the
// last; one cut short by a crash runs again in full (its notices may then come twice, which
// at-least-once delivery allows). Nodes that share a Redis Cluster's outbox all schedule the
// scans, and one at a time runs what is due.
//
//   NoticeScheduler scheduler(engine, outbox, clock);
//   scheduler.Start(absl::Seconds(30));  // checks on a Boost.Asio timer of its own thread
//   absl::StatusOr<NoticeScheduler::Ran> ran = scheduler.RunDue();  // or when a test says
//
// Thread-safe: RunDue calls are serialised.

#include <cstdint>
#include <memory>
#include <optional>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/core/notice.h"
#include "engine/server/event_loop.h"

namespace vigil::server {

class NoticeScheduler {
 public:
  // The marks the scans keep their progress in: the time the daily scan last covered up to,
  // and the last month summarised.
  static constexpr char kDailyMark[] = "notices.daily";
  static constexpr char kSummaryMark[] = "notices.summary";

  // All three must outlive the scheduler.
  NoticeScheduler(Engine& engine, NoticeOutbox& outbox, const Clock& clock);
  ~NoticeScheduler();

  // Checks every `interval`, on a loop of the scheduler's own (a scan over millions of users
  // takes a while, and should hold up nothing else), and runs what is due.
  void Start(absl::Duration interval);

  // What a RunDue ran: how many notices each scan made; none when it was not due.
  struct Ran {
    std::optional<size_t> daily;
    std::optional<size_t> summary;
  };
  // Runs every scan due at the clock's now, in the one process of those sharing the outbox
  // that holds the scans (NoticeOutbox::AcquireScans) meanwhile: none when another does.
  absl::StatusOr<Ran> RunDue();

  // The first moment after `last_ms` that is `at_ms` past a local midnight.
  static int64_t NextDailyRun(int64_t last_ms, int64_t at_ms, const LocalCalendar& calendar);

 private:
  // RunDue's work, with the scans held.
  absl::StatusOr<Ran> RunScans() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  Engine& engine_;
  NoticeOutbox& outbox_;
  const Clock& clock_;
  absl::Mutex mu_;
  std::unique_ptr<EventLoop> loop_;
};

}  // namespace vigil::server
