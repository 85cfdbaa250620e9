// Notices as the engine writes them to its outbox: each kind after its event and only then,
// the scans for dormant and expiring mandates exact over consecutive intervals, and the
// monthly summary equal to the approvals made less what was released. Over every journal and
// every shared state (notice_backends.h): one engine alone, or engines sharing a cluster.

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/rules/rule_set.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "notice_backends.h"

namespace vigil::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr int64_t kMinute = 60'000;
constexpr int64_t kDay = 86'400'000;
// 2026-11-02 10:00 +08:00, a Monday.
constexpr int64_t kStart = 1'793'584'800'000;

std::shared_ptr<const Policy> Shipped() {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
  EXPECT_TRUE(policy.ok()) << policy.status();
  return *std::move(policy);
}

class NoticesTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    backend_ = MakeNoticeBackend(GetParam());
    engine_ = backend_->MakeEngine(Shipped(), &clock_);
  }

  NoticeOutbox& outbox() { return backend_->outbox(); }

  // Every notice after `after`, in cursor order.
  std::vector<StoredNotice> NoticesAfter(uint64_t after) {
    backend_->Settle();
    std::vector<StoredNotice> notices;
    EXPECT_TRUE(outbox()
                    .ReadNotices(after,
                                 [&](const StoredNotice& stored) {
                                   notices.push_back(stored);
                                   return true;
                                 })
                    .ok());
    return notices;
  }
  // The kinds of the notices made since the last call.
  std::vector<NoticeKind> NewKinds() {
    std::vector<NoticeKind> kinds;
    for (const StoredNotice& stored : NoticesAfter(seen_)) {
      EXPECT_EQ(stored.cursor, seen_ + 1) << "cursors are gapless and in order";
      seen_ = stored.cursor;
      kinds.push_back(stored.notice.kind);
    }
    return kinds;
  }

  Mandate Grant(const std::string& user, const std::string& merchant, int64_t expires_at_ms = 0) {
    GrantMandateRequest grant;
    grant.user_id = user;
    grant.merchant_id = merchant;
    grant.expires_at_ms = expires_at_ms;
    grant.consent = Consent{true, "2026-01", clock_.NowMs(), "app"};
    absl::StatusOr<Mandate> mandate = engine_->GrantMandate(grant);
    EXPECT_TRUE(mandate.ok()) << mandate.status();
    return mandate.ok() ? *mandate : Mandate{};
  }

  void NotifyEvery(const std::string& user) {
    UserProfile profile;
    profile.user_id = user;
    profile.notify_every_transaction = true;
    ASSERT_TRUE(engine_->PutUserProfile(profile).ok());
  }

  Decision Charge(const std::string& txn, const std::string& user, const std::string& merchant,
                  int64_t amount_minor) {
    AuthorizeRequest request;
    request.transaction_id = txn;
    request.user_id = user;
    request.merchant_id = merchant;
    request.amount_minor = amount_minor;
    request.currency = "CNY";
    request.channel = Channel::kQrCode;
    absl::StatusOr<AuthorizeResponse> response = engine_->Authorize(request);
    EXPECT_TRUE(response.ok()) << response.status();
    return response.ok() ? response->decision : Decision::kDecline;
  }

  // The mandate ids of the notices of `kind` made by a scan.
  std::set<std::string> Scanned(NoticeKind kind, int64_t since_ms, int64_t now_ms) {
    clock_.SetMs(now_ms);
    absl::StatusOr<size_t> found = engine_->ScanMandates(since_ms, now_ms, {"test.daily", now_ms});
    EXPECT_TRUE(found.ok()) << found.status();
    std::set<std::string> ids;
    for (const StoredNotice& stored : NoticesAfter(seen_)) {
      seen_ = stored.cursor;
      if (stored.notice.kind == kind) ids.insert(stored.notice.mandate_id);
    }
    return ids;
  }

  FakeClock clock_{kStart};
  std::unique_ptr<NoticeBackend> backend_;
  std::unique_ptr<Engine> engine_;
  uint64_t seen_ = 0;
};

TEST_P(NoticesTest, EveryEventThatTellsTheUserLeavesItsNoticeAfterIt) {
  NotifyEvery("ann");
  EXPECT_THAT(NewKinds(), IsEmpty()) << "a profile put tells nobody anything";

  const Mandate grocer = Grant("ann", "grocer");
  EXPECT_THAT(NewKinds(), ElementsAre(NoticeKind::kMandateGranted));

  ASSERT_EQ(Charge("t-1", "ann", "grocer", 12'50), Decision::kApprove);
  std::vector<StoredNotice> charged = NoticesAfter(seen_);
  ASSERT_EQ(charged.size(), 1u);
  const Notice& charge = charged[0].notice;
  EXPECT_EQ(charge.kind, NoticeKind::kChargeApproved);
  EXPECT_EQ(charge.transaction_id, "t-1");
  EXPECT_EQ(charge.mandate_id, grocer.mandate_id);
  EXPECT_EQ(charge.amount_minor, 12'50);
  EXPECT_EQ(charge.currency, "CNY");
  EXPECT_THAT(charge.text, HasSubstr("12.50 CNY"));
  seen_ = charged[0].cursor;

  ASSERT_EQ(Charge("t-2", "ann", "florist", 5'00), Decision::kChallenge);
  EXPECT_THAT(NewKinds(), IsEmpty()) << "a challenged charge is not an approved one";

  ASSERT_TRUE(engine_->PauseMandate(grocer.mandate_id, "ann").ok());
  ASSERT_TRUE(engine_->ResumeMandate(grocer.mandate_id, "ann").ok());
  ASSERT_TRUE(engine_->RevokeMandate(grocer.mandate_id, "ann", "lost phone").ok());
  ASSERT_TRUE(engine_->RevokeMandate(grocer.mandate_id, "ann", "again").ok());
  EXPECT_THAT(NewKinds(), ElementsAre(NoticeKind::kMandatePaused, NoticeKind::kMandateResumed,
                                      NoticeKind::kMandateRevoked))
      << "revoking twice changes nothing, and tells nothing";

  Grant("ann", "cinema");
  Grant("ann", "*");
  ASSERT_TRUE(engine_->RevokeAllMandates("ann", "one click").ok());
  EXPECT_THAT(NewKinds(), ElementsAre(NoticeKind::kMandateGranted, NoticeKind::kMandateGranted,
                                      NoticeKind::kAllMandatesRevoked));
  EXPECT_THAT(NoticesAfter(seen_ - 1)[0].notice.text, HasSubstr("All 2"));

  const Mandate idle = Grant("ann", "gym", kStart + 100 * kDay);
  NewKinds();
  EXPECT_THAT(Scanned(NoticeKind::kMandateDormant, kStart, kStart + 91 * kDay),
              ElementsAre(idle.mandate_id));
  EXPECT_THAT(Scanned(NoticeKind::kMandateExpiring, kStart + 91 * kDay, kStart + 94 * kDay),
              ElementsAre(idle.mandate_id));

  clock_.SetMs(kStart + 29 * kDay);  // 2026-12-01
  ASSERT_TRUE(engine_->SummarizeMonth(/*2026-11*/ 56 * 12 + 10, clock_.NowMs(), {"s", 1}).ok());
  EXPECT_THAT(NewKinds(), ElementsAre(NoticeKind::kPeriodicSummary));
}

TEST_P(NoticesTest, AChargeOfAUserWhoIsNotToldLeavesNoNotice) {
  Grant("bob", "grocer");
  NewKinds();
  ASSERT_EQ(Charge("t-1", "bob", "grocer", 12'50), Decision::kApprove);
  EXPECT_THAT(NewKinds(), IsEmpty());
}

TEST_P(NoticesTest, NothingRefusedLeavesANotice) {
  backend_->SetFailing(true);
  GrantMandateRequest grant;
  grant.user_id = "ann";
  grant.merchant_id = "grocer";
  grant.consent = Consent{true, "2026-01", kStart, "app"};
  EXPECT_FALSE(engine_->GrantMandate(grant).ok());
  backend_->SetFailing(false);
  EXPECT_THAT(NewKinds(), IsEmpty());
}

TEST_P(NoticesTest, TheDormantScanFindsExactlyTheMandatesThatWentIdleInItsInterval) {
  const Mandate never_used = Grant("u1", "grocer");
  const Mandate used = Grant("u2", "grocer");
  const Mandate paused = Grant("u3", "grocer");
  const Mandate revoked = Grant("u4", "grocer");
  const Mandate ending = Grant("u5", "grocer", kStart + 60 * kDay);
  ASSERT_TRUE(engine_->PauseMandate(paused.mandate_id, "u3").ok());
  ASSERT_TRUE(engine_->RevokeMandate(revoked.mandate_id, "u4", "").ok());
  clock_.SetMs(kStart + 30 * kDay);
  ASSERT_EQ(Charge("t-1", "u2", "grocer", 10'00), Decision::kApprove);
  clock_.SetMs(kStart + 80 * kDay);
  Grant("u6", "grocer");  // granted later: idle from then
  NewKinds();

  // Idle for dormant_after (90 days) at kStart + 90d: only the mandate never used, of those
  // still in force and active.
  EXPECT_THAT(Scanned(NoticeKind::kMandateDormant, kStart, kStart + 91 * kDay),
              ElementsAre(never_used.mandate_id));
  // The next day's scan does not repeat it; the used one goes dormant at kStart + 120d.
  EXPECT_THAT(Scanned(NoticeKind::kMandateDormant, kStart + 91 * kDay, kStart + 92 * kDay),
              IsEmpty());
  EXPECT_THAT(Scanned(NoticeKind::kMandateDormant, kStart + 92 * kDay, kStart + 121 * kDay),
              ElementsAre(used.mandate_id));
}

TEST_P(NoticesTest, AnEndingMandateIsReportedOnceWithinItsWindowAndNeverAfterItEnds) {
  const Mandate ending = Grant("u1", "grocer", kStart + 20 * kDay);
  Grant("u2", "grocer", kStart + 40 * kDay);
  NewKinds();
  // expiring_within is 7 days: u1's window opens at kStart + 13d.
  EXPECT_THAT(Scanned(NoticeKind::kMandateExpiring, kStart, kStart + 12 * kDay), IsEmpty());
  EXPECT_THAT(Scanned(NoticeKind::kMandateExpiring, kStart + 12 * kDay, kStart + 14 * kDay),
              ElementsAre(ending.mandate_id));
  EXPECT_THAT(Scanned(NoticeKind::kMandateExpiring, kStart + 14 * kDay, kStart + 15 * kDay),
              IsEmpty());
}

TEST_P(NoticesTest, TheMonthlySummaryTotalsTheApprovalsLessWhatWasReleased) {
  NotifyEvery("ann");
  Grant("ann", "grocer");
  Grant("ann", "*");
  const Mandate idle = Grant("ann", "bookshop");
  // November's charges, some released: the expected totals are computed from what the test
  // did, not written down.
  struct Made {
    std::string txn;
    std::string merchant;  // the mandate's merchant: "*" for the general one
    std::string charged;   // the merchant charged
    int64_t amount;
    std::optional<Outcome> outcome;
  };
  const std::vector<Made> november = {
      {"n-1", "grocer", "grocer", 100'00, std::nullopt},
      {"n-2", "grocer", "grocer", 200'00, Outcome::kCompleted},
      {"n-3", "grocer", "grocer", 50'00, Outcome::kReversed},
      {"n-4", "*", "kiosk", 30'00, std::nullopt},
      {"n-5", "*", "bakery", 12'00, Outcome::kFailed},
      {"n-6", "grocer", "grocer", 5000'00, std::nullopt},  // above the cap: challenged
  };
  std::map<std::string, std::pair<int64_t, int64_t>> expected;  // merchant -> amount, count
  std::set<std::string> approved;
  int64_t day = 0;
  for (const Made& made : november) {
    clock_.SetMs(kStart + (day++) * kDay);
    if (Charge(made.txn, "ann", made.charged, made.amount) != Decision::kApprove) continue;
    approved.insert(made.txn);
    auto& [amount, count] = expected[made.merchant];
    amount += made.amount;
    count += 1;
  }
  ASSERT_EQ(approved.size(), 5u) << "all but the charge above the cap";
  // December's charge is not November's; it starts the grocer mandate's new month before
  // November's refunds come in.
  clock_.SetMs(kStart + 30 * kDay);  // 2026-12-02
  ASSERT_EQ(Charge("d-1", "ann", "grocer", 70'00), Decision::kApprove);
  // Released in December, after the month ended: still November's.
  for (const Made& made : november) {
    if (!made.outcome.has_value() || !approved.contains(made.txn)) continue;
    ASSERT_TRUE(engine_->ReportOutcome(made.txn, *made.outcome).ok());
    if (*made.outcome == Outcome::kReversed || *made.outcome == Outcome::kFailed) {
      auto& [amount, count] = expected[made.merchant];
      amount -= made.amount;
      count -= 1;
    }
  }
  NewKinds();

  constexpr int64_t kNovember2026 = 56 * 12 + 10;
  ASSERT_TRUE(engine_->SummarizeMonth(kNovember2026, clock_.NowMs(), {"s", kNovember2026}).ok());
  const std::vector<StoredNotice> made = NoticesAfter(seen_);
  ASSERT_EQ(made.size(), 1u);
  ASSERT_TRUE(made[0].notice.summary.has_value());
  const PeriodicSummary& summary = *made[0].notice.summary;
  EXPECT_EQ(summary.period, "2026-11");
  std::map<std::string, std::pair<int64_t, int64_t>> reported;
  int64_t total = 0;
  int64_t count = 0;
  for (const PeriodicSummary::MerchantTotal& merchant : summary.merchants) {
    if (merchant.count > 0)
      reported[merchant.merchant_id] = {merchant.amount_minor, merchant.count};
  }
  for (const auto& [merchant, sums] : expected) {
    if (sums.second > 0) {
      total += sums.first;
      count += sums.second;
    }
  }
  std::erase_if(expected, [](const auto& entry) { return entry.second.second == 0; });
  EXPECT_EQ(reported, expected);
  EXPECT_EQ(summary.amount_minor, total);
  EXPECT_EQ(summary.count, count);
  EXPECT_EQ(made[0].notice.amount_minor, total);
  EXPECT_TRUE(
      std::is_sorted(summary.merchants.begin(), summary.merchants.end(),
                     [](const auto& a, const auto& b) { return a.amount_minor > b.amount_minor; }));
  // Every mandate in force is listed with its last use; the bookshop's was never used.
  ASSERT_EQ(summary.mandates.size(), 3u);
  EXPECT_EQ(summary.mandates[2].mandate_id, idle.mandate_id);
  EXPECT_EQ(summary.mandates[2].last_used_at_ms, 0);
  EXPECT_GT(summary.mandates[0].last_used_at_ms, 0);
  EXPECT_THAT(made[0].notice.text, HasSubstr("In 2026-11 you paid"));
}

TEST_P(NoticesTest, AUserWithNothingToSumUpGetsNoSummary) {
  const Mandate mandate = Grant("ann", "grocer");
  ASSERT_TRUE(engine_->RevokeMandate(mandate.mandate_id, "ann", "").ok());
  NewKinds();
  clock_.SetMs(kStart + 29 * kDay);
  absl::StatusOr<size_t> made = engine_->SummarizeMonth(56 * 12 + 10, clock_.NowMs(), {"s", 1});
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_EQ(*made, 0u);
  EXPECT_THAT(NewKinds(), IsEmpty());
}

TEST_P(NoticesTest, AScanWritesItsMarkDurablyAndOnlyMonthsKeptCanBeSummarised) {
  ASSERT_TRUE(engine_->ScanMandates(0, kStart, {"test.daily", 1234}).ok());
  EXPECT_EQ(*outbox().ReadMark("test.daily"), 1234);
  EXPECT_EQ(*outbox().ReadMark("never.set"), 0);
  EXPECT_EQ(engine_->SummarizeMonth(56 * 12 + 8, kStart, {"s", 1}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

std::string BackendName(const ::testing::TestParamInfo<std::string>& info) {
  std::string name = info.param;
  std::replace(name.begin(), name.end(), '-', '_');
  return name;
}

// The backends of the binary this suite is linked into (notice_backends.h).
INSTANTIATE_TEST_SUITE_P(Backends, NoticesTest, ::testing::ValuesIn(NoticeBackendNames()),
                         BackendName);

}  // namespace
}  // namespace vigil::store
