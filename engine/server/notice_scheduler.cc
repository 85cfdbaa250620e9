#include "engine/server/notice_scheduler.h"

#include "boost/asio/post.hpp"
#include "engine/core/status_macros.h"
#include "engine/server/log.h"

namespace vigil::server {
namespace {

constexpr int64_t kDayMs = 86'400'000;

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - (a % b != 0 && (a < 0) != (b < 0)); }

}  // namespace

NoticeScheduler::NoticeScheduler(Engine& engine, NoticeOutbox& outbox, const Clock& clock)
    : engine_(engine), outbox_(outbox), clock_(clock) {}

NoticeScheduler::~NoticeScheduler() = default;

int64_t NoticeScheduler::NextDailyRun(int64_t last_ms, int64_t at_ms,
                                      const LocalCalendar& calendar) {
  const int64_t local_midnight =
      FloorDiv(last_ms + calendar.utc_offset_ms(), kDayMs) * kDayMs - calendar.utc_offset_ms();
  const int64_t run = local_midnight + at_ms;
  return run > last_ms ? run : run + kDayMs;
}

void NoticeScheduler::Start(absl::Duration interval) {
  loop_ = std::make_unique<EventLoop>();
  auto check = [this] {
    absl::StatusOr<Ran> ran = RunDue();
    if (!ran.ok()) {
      log::Error("notice_scan_failed", "a notice scan failed; it runs again at the next check")
          .Field("error", ran.status().ToString());
    }
  };
  // At once, for a scan that fell due while vigild was down; then every interval.
  boost::asio::post(loop_->io(), check);
  loop_->Every(interval, check);
}

absl::StatusOr<NoticeScheduler::Ran> NoticeScheduler::RunDue() {
  absl::MutexLock lock(&mu_);
  // Held from before the marks are read until after they are written: a process that takes
  // it next reads what this one wrote, and does not run the same scan again.
  VIGIL_ASSIGN_OR_RETURN(const bool ours, outbox_.AcquireScans());
  if (!ours) return Ran{};
  absl::StatusOr<Ran> ran = RunScans();
  outbox_.ReleaseScans();
  return ran;
}

absl::StatusOr<NoticeScheduler::Ran> NoticeScheduler::RunScans() {
  const std::shared_ptr<const Policy> policy = engine_.policy();
  const NoticeSchedule schedule = policy->notice_schedule();
  const LocalCalendar& calendar = policy->calendar();
  const int64_t now_ms = clock_.NowMs();
  Ran ran;

  VIGIL_ASSIGN_OR_RETURN(const int64_t scanned_to, outbox_.ReadMark(kDailyMark));
  if (scanned_to == 0 || now_ms >= NextDailyRun(scanned_to, schedule.scan_at_ms, calendar)) {
    const absl::Time began = absl::Now();
    VIGIL_ASSIGN_OR_RETURN(ran.daily,
                           engine_.ScanMandates(scanned_to, now_ms, {kDailyMark, now_ms}));
    log::Info("notice_scan", "daily scan for dormant and expiring mandates")
        .Field("notices", static_cast<int64_t>(*ran.daily))
        .Field("took_ms", absl::ToInt64Milliseconds(absl::Now() - began));
  }

  const absl::CivilDay today = calendar.DayOf(now_ms);
  const int64_t into_today = now_ms + calendar.utc_offset_ms() -
                             FloorDiv(now_ms + calendar.utc_offset_ms(), kDayMs) * kDayMs;
  const bool summary_time =
      today.day() > schedule.summary_day ||
      (today.day() == schedule.summary_day && into_today >= schedule.scan_at_ms);
  const int64_t last_month = calendar.MonthNumber(now_ms) - 1;
  VIGIL_ASSIGN_OR_RETURN(const int64_t summarised, outbox_.ReadMark(kSummaryMark));
  if (summary_time && last_month > summarised) {
    const absl::Time began = absl::Now();
    VIGIL_ASSIGN_OR_RETURN(ran.summary,
                           engine_.SummarizeMonth(last_month, now_ms, {kSummaryMark, last_month}));
    log::Info("notice_summary", "monthly summaries")
        .Field("notices", static_cast<int64_t>(*ran.summary))
        .Field("took_ms", absl::ToInt64Milliseconds(absl::Now() - began));
  }
  return ran;
}

}  // namespace vigil::server
