// The Journal contract (engine/core/journal.h and decision_log.h) as one suite that every
// implementation runs: changes in the order they were appended, durability callbacks exactly
// once, failure and recovery, restore equal to what was appended, and the decision log in time
// order. Each check is a function of a JournalUnderTest, so that the suite can also be run
// against journals broken on purpose, one way each: every check must catch its breakage.

#include <algorithm>
#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/core/interned.h"
#include "gmock/gmock.h"
#include "gtest/gtest-spi.h"
#include "gtest/gtest.h"
#include "journals_under_test.h"

namespace vigil::store {
namespace {

using ::testing::ElementsAre;
using ::testing::UnorderedElementsAreArray;

StateChange UserChange(const std::string& user_id, int64_t version) {
  StateChange change;
  UserSnapshot user;
  user.user_id = user_id;
  user.strong_auth_failures = version;  // tells the versions of one user apart
  change.users.push_back(std::move(user));
  return change;
}

TransactionSnapshot Transaction(const std::string& id, int64_t amount) {
  TransactionSnapshot transaction;
  transaction.transaction_id = id;
  transaction.user_id = "u-" + id;
  transaction.merchant_id = "grocer";
  transaction.amount_minor = amount;
  transaction.currency = "CNY";
  transaction.time_ms = 1000 + amount;
  transaction.seen_ms = 2000 + amount;
  transaction.approved = amount % 2 == 0;
  transaction.outcome = Outcome::kCompleted;
  transaction.response.decision = Decision::kApprove;
  transaction.response.decision_id = "d-" + id;
  transaction.response.rules_version = "v1";
  transaction.response.reasons.push_back(
      InternReason(Reason{"SMALL", "limits.small", "a small charge"}));
  return transaction;
}

StateChange LogChange(const std::string& transaction_id, int64_t time_ms) {
  StateChange change;
  DecisionLogEntry entry;
  entry.time_ms = time_ms;
  entry.transaction_id = transaction_id;
  entry.outcome = Outcome::kCompleted;
  change.log.push_back(std::move(entry));
  return change;
}

// Waits (up to 30 s: RocksDB looks at the disk's free space every few seconds) for Ready().
absl::Status WaitReady(Journal& journal) {
  absl::Status ready = journal.Ready();
  for (int i = 0; i < 3000 && !ready.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    ready = journal.Ready();
  }
  return ready;
}

// --- the checks ------------------------------------------------------------------------------

// Sequences rise with each append, and what is restored is what was appended last.
void CheckOrder(JournalUnderTest& under_test) {
  Journal& journal = under_test.journal();
  uint64_t last = journal.LastSequence();
  for (int version = 1; version <= 3; ++version) {
    const uint64_t sequence = journal.Append(UserChange("grandma", version));
    EXPECT_GT(sequence, last) << "append " << version;
    EXPECT_EQ(journal.LastSequence(), sequence);
    last = sequence;
  }
  ASSERT_TRUE(journal.WaitDurable(last).ok());
  const absl::StatusOr<RestoredState> restored = under_test.Restart();
  ASSERT_TRUE(restored.ok()) << restored.status();
  ASSERT_EQ(restored->users.size(), 1u);
  EXPECT_EQ(restored->users[0].strong_auth_failures, 3) << "the last change must stand";
}

// WhenDurable calls back exactly once for every sequence, from two threads at once, OK.
void CheckCallbacksExactlyOnce(JournalUnderTest& under_test) {
  constexpr int kChanges = 200;
  Journal& journal = under_test.journal();
  std::vector<std::atomic<int>> calls(kChanges);
  std::atomic<int> failed{0};
  auto append = [&](int first) {
    for (int i = first; i < kChanges; i += 2) {
      const uint64_t sequence = journal.Append(UserChange("u" + std::to_string(i), 1));
      journal.WhenDurable(sequence, [&calls, &failed, i](absl::Status status) {
        if (!status.ok()) failed.fetch_add(1);
        calls[i].fetch_add(1);
      });
    }
  };
  std::thread other(append, 1);
  append(0);
  other.join();
  ASSERT_TRUE(journal.WaitDurable(journal.LastSequence()).ok());
  // Some callbacks may still be on their way from the journal's thread: wait for them, then a
  // little longer for any that would come twice.
  auto all_called = [&] {
    return std::all_of(calls.begin(), calls.end(), [](auto& n) { return n.load() >= 1; });
  };
  for (int i = 0; i < 500 && !all_called(); ++i) absl::SleepFor(absl::Milliseconds(10));
  absl::SleepFor(absl::Milliseconds(50));
  int missing = 0, repeated = 0;
  for (auto& n : calls) {
    missing += n.load() == 0;
    repeated += n.load() > 1;
  }
  EXPECT_EQ(missing, 0) << "callbacks never called";
  EXPECT_EQ(repeated, 0) << "callbacks called more than once";
  EXPECT_EQ(failed.load(), 0);
  // A sequence that is already durable is called back too, once.
  std::atomic<int> late{0};
  journal.WhenDurable(journal.LastSequence(), [&late](absl::Status) { late.fetch_add(1); });
  for (int i = 0; i < 500 && late.load() == 0; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(late.load(), 1);
}

// While writing fails, the journal says so (Ready, WaitDurable, WhenDurable); once it can
// write again it is ready on its own, and what was acknowledged before and after is restored.
void CheckFailureAndRecovery(JournalUnderTest& under_test) {
  Journal& journal = under_test.journal();
  ASSERT_TRUE(journal.WaitDurable(journal.Append(UserChange("before", 1))).ok());

  under_test.SetFailing(true);
  const uint64_t lost = journal.Append(UserChange("while-failing", 1));
  EXPECT_EQ(journal.WaitDurable(lost).code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(journal.Ready().code(), absl::StatusCode::kUnavailable);
  absl::Mutex mu;
  int calls = 0;
  absl::Status told;
  journal.WhenDurable(lost, [&](absl::Status status) {
    absl::MutexLock lock(&mu);
    calls += 1;
    told = std::move(status);
  });
  {
    absl::MutexLock lock(&mu);
    mu.AwaitWithTimeout(absl::Condition(
                            +[](int* n) { return *n > 0; }, &calls),
                        absl::Seconds(10));
    EXPECT_EQ(calls, 1);
    EXPECT_EQ(told.code(), absl::StatusCode::kUnavailable);
  }

  under_test.SetFailing(false);
  ASSERT_TRUE(WaitReady(journal).ok()) << "the journal did not recover on its own";
  ASSERT_TRUE(journal.WaitDurable(journal.Append(UserChange("after", 1))).ok());
  const absl::StatusOr<RestoredState> restored = under_test.Restart();
  ASSERT_TRUE(restored.ok()) << restored.status();
  std::set<std::string> users;
  for (const UserSnapshot& user : restored->users) users.insert(user.user_id);
  EXPECT_TRUE(users.contains("before"));
  EXPECT_TRUE(users.contains("after"));
}

// Restore gives back, record for record, the last of what was appended, less what expired.
void CheckRestoreEqualsAppended(JournalUnderTest& under_test) {
  Journal& journal = under_test.journal();
  std::map<std::string, int64_t> users;
  std::map<std::string, TransactionSnapshot> transactions;
  std::set<std::string> grants;
  for (int i = 0; i < 10; ++i) {
    const std::string id = std::to_string(i);
    StateChange change = UserChange("u" + id, 1);
    change.subjects.push_back(SubjectSnapshot{Subject::kDevice, "phone" + id, {}});
    change.subjects.push_back(SubjectSnapshot{Subject::kMerchant, "shop" + id, {}});
    change.transactions.push_back(Transaction("t" + id, i));
    GrantSnapshot grant;
    grant.request.request_id = "g" + id;
    grant.request.user_id = "u" + id;
    grant.mandate_id = "mdt_" + id;
    grant.seen_ms = 5000 + i;
    change.grants.push_back(std::move(grant));
    journal.Append(std::move(change));
    users["u" + id] = 1;
    transactions["t" + id] = Transaction("t" + id, i);
    grants.insert("g" + id);
  }
  // Later versions, and expiries.
  journal.Append(UserChange("u3", 7));
  users["u3"] = 7;
  StateChange later;
  later.transactions.push_back(Transaction("t5", 50));
  transactions["t5"] = Transaction("t5", 50);
  later.expired_transactions = {"t1", "t2"};
  transactions.erase("t1");
  transactions.erase("t2");
  later.expired_grants = {"g4"};
  grants.erase("g4");
  ASSERT_TRUE(journal.WaitDurable(journal.Append(std::move(later))).ok());

  const absl::StatusOr<RestoredState> restored = under_test.Restart();
  ASSERT_TRUE(restored.ok()) << restored.status();
  std::map<std::string, int64_t> restored_users;
  for (const UserSnapshot& user : restored->users) {
    restored_users[user.user_id] = user.strong_auth_failures;
  }
  EXPECT_EQ(restored_users, users);
  EXPECT_EQ(restored->subjects.size(), 20u);
  std::map<std::string, TransactionSnapshot> restored_transactions;
  for (const TransactionSnapshot& transaction : restored->transactions) {
    restored_transactions[transaction.transaction_id] = transaction;
  }
  ASSERT_EQ(restored_transactions.size(), transactions.size());
  for (const auto& [id, expected] : transactions) {
    const TransactionSnapshot& got = restored_transactions[id];
    EXPECT_EQ(got.user_id, expected.user_id) << id;
    EXPECT_EQ(got.amount_minor, expected.amount_minor) << id;
    EXPECT_EQ(got.time_ms, expected.time_ms) << id;
    EXPECT_EQ(got.seen_ms, expected.seen_ms) << id;
    EXPECT_EQ(got.approved, expected.approved) << id;
    EXPECT_EQ(got.outcome, expected.outcome) << id;
    EXPECT_EQ(got.response, expected.response) << id;
  }
  std::vector<std::string> restored_grants;
  for (const GrantSnapshot& grant : restored->grants) {
    restored_grants.push_back(grant.request.request_id);
    EXPECT_EQ(grant.mandate_id, "mdt_" + grant.request.request_id.substr(1));
  }
  EXPECT_THAT(restored_grants, UnorderedElementsAreArray(grants));
}

std::vector<std::string> Exported(DecisionLog& log, int64_t since_ms, int64_t until_ms,
                                  size_t at_most = SIZE_MAX) {
  std::vector<std::string> ids;
  const absl::Status status =
      log.ExportDecisions(since_ms, until_ms, [&](const DecisionLogEntry& entry) {
        ids.push_back(entry.transaction_id);
        return ids.size() < at_most;
      });
  EXPECT_TRUE(status.ok()) << status;
  return ids;
}

std::vector<std::string> NewestFirst(DecisionLog& log, int64_t until_ms,
                                     size_t at_most = SIZE_MAX) {
  std::vector<std::string> ids;
  const absl::Status status =
      log.ExportDecisionsNewestFirst(until_ms, [&](const DecisionLogEntry& entry) {
        ids.push_back(entry.transaction_id);
        return ids.size() < at_most;
      });
  EXPECT_TRUE(status.ok()) << status;
  return ids;
}

// The decision log comes back by time, the appends of one time in their order, within the
// range asked for, or in exactly the reverse order; it survives a restart; trimming removes
// exactly what is older.
void CheckDecisionLog(JournalUnderTest& under_test) {
  Journal& journal = under_test.journal();
  journal.Append(LogChange("c", 30));
  journal.Append(LogChange("a1", 10));
  journal.Append(LogChange("b", 20));
  ASSERT_TRUE(journal.WaitDurable(journal.Append(LogChange("a2", 10))).ok());
  EXPECT_THAT(Exported(under_test.log(), 10, 30), ElementsAre("a1", "a2", "b"));
  EXPECT_THAT(Exported(under_test.log(), 0, 100, 2), ElementsAre("a1", "a2"));
  EXPECT_THAT(NewestFirst(under_test.log(), 30), ElementsAre("b", "a2", "a1"));
  EXPECT_THAT(NewestFirst(under_test.log(), 100, 2), ElementsAre("c", "b"));
  ASSERT_TRUE(under_test.Restart().ok());
  EXPECT_THAT(Exported(under_test.log(), 0, 100), ElementsAre("a1", "a2", "b", "c"));
  ASSERT_TRUE(under_test.log().DeleteDecisionsBefore(20).ok());
  EXPECT_THAT(Exported(under_test.log(), 0, 100), ElementsAre("b", "c"));
}

StateChange NoticeChange(std::vector<std::pair<std::string, int64_t>> notices) {
  StateChange change;
  for (auto& [text, time_ms] : notices) {
    Notice notice;
    notice.kind = NoticeKind::kMandateGranted;
    notice.user_id = "ann";
    notice.time_ms = time_ms;
    notice.text = std::move(text);
    change.notices.push_back(std::move(notice));
  }
  return change;
}

// cursor:text of every notice after `after`.
std::vector<std::string> Notices(NoticeOutbox& outbox, uint64_t after) {
  std::vector<std::string> notices;
  const absl::Status read = outbox.ReadNotices(after, [&](const StoredNotice& stored) {
    notices.push_back(absl::StrCat(stored.cursor, ":", stored.notice.text));
    return true;
  });
  EXPECT_TRUE(read.ok()) << read;
  return notices;
}

// Notices take gapless cursors in the order of their changes and are read back after any
// cursor; the listener hears of them; acks only move forward; marks, acks and cursors survive
// a restart; trimming removes the oldest, in a run, and says how far it went.
void CheckOutbox(JournalUnderTest& under_test) {
  Journal& journal = under_test.journal();
  std::atomic<uint64_t> heard{0};
  under_test.outbox().SetNoticeListener([&](uint64_t last) { heard = last; });
  journal.Append(NoticeChange({{"a", 10}, {"b", 20}}));
  journal.Append(UserChange("nobody", 1));
  StateChange last = NoticeChange({{"c", 30}});
  last.marks.emplace_back("scan", 77);
  ASSERT_TRUE(journal.WaitDurable(journal.Append(std::move(last))).ok());
  NoticeOutbox& outbox = under_test.outbox();
  EXPECT_EQ(outbox.LastNoticeCursor(), 3u);
  EXPECT_THAT(Notices(outbox, 0), ElementsAre("1:a", "2:b", "3:c"));
  EXPECT_THAT(Notices(outbox, 2), ElementsAre("3:c"));
  for (int i = 0; i < 500 && heard != 3; ++i) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(heard, 3u) << "the listener hears of the last durable notice";
  outbox.SetNoticeListener(nullptr);

  EXPECT_EQ(*outbox.AckedCursor("app"), std::nullopt);
  ASSERT_TRUE(outbox.Ack("app", 2).ok());
  ASSERT_TRUE(outbox.Ack("app", 1).ok());
  EXPECT_EQ(*outbox.AckedCursor("app"), 2u) << "an older ack changes nothing";
  EXPECT_EQ(*outbox.AckedCursor("other"), std::nullopt);
  EXPECT_EQ(*outbox.ReadMark("scan"), 77);
  EXPECT_EQ(*outbox.ReadMark("unset"), 0);

  ASSERT_TRUE(under_test.Restart().ok());
  NoticeOutbox& restarted = under_test.outbox();
  EXPECT_EQ(restarted.LastNoticeCursor(), 3u);
  EXPECT_EQ(*restarted.AckedCursor("app"), 2u);
  EXPECT_EQ(*restarted.ReadMark("scan"), 77);
  ASSERT_TRUE(under_test.journal()
                  .WaitDurable(under_test.journal().Append(NoticeChange({{"d", 40}})))
                  .ok());
  EXPECT_THAT(Notices(restarted, 0), ElementsAre("1:a", "2:b", "3:c", "4:d"));

  EXPECT_EQ(restarted.TrimmedThrough(), 0u);
  ASSERT_TRUE(restarted.DeleteNoticesBefore(25).ok());
  EXPECT_THAT(Notices(restarted, 0), ElementsAre("3:c", "4:d"));
  EXPECT_EQ(restarted.TrimmedThrough(), 2u);
  ASSERT_TRUE(under_test.Restart().ok());
  EXPECT_EQ(under_test.outbox().TrimmedThrough(), 2u);
  EXPECT_THAT(Notices(under_test.outbox(), 0), ElementsAre("3:c", "4:d"));
}

// --- the suite, over every journal -------------------------------------------------------------

template <typename T>
class JournalConformanceTest : public ::testing::Test {
 protected:
  T under_test_;
};

struct JournalName {
  template <typename T>
  static std::string GetName(int) {
    return T::kName;
  }
};

using Journals = ::testing::Types<MemoryUnderTest, RocksDbUnderTest>;
TYPED_TEST_SUITE(JournalConformanceTest, Journals, JournalName);

TYPED_TEST(JournalConformanceTest, ChangesStandInTheOrderTheyWereAppended) {
  CheckOrder(this->under_test_);
}
TYPED_TEST(JournalConformanceTest, EveryDurabilityCallbackRunsExactlyOnce) {
  CheckCallbacksExactlyOnce(this->under_test_);
}
TYPED_TEST(JournalConformanceTest, AFailedWriteIsReportedAndTheJournalRecovers) {
  CheckFailureAndRecovery(this->under_test_);
}
TYPED_TEST(JournalConformanceTest, RestoreEqualsWhatWasAppended) {
  CheckRestoreEqualsAppended(this->under_test_);
}
TYPED_TEST(JournalConformanceTest, TheDecisionLogIsReadInTimeOrderAndTrimmed) {
  CheckDecisionLog(this->under_test_);
}
TYPED_TEST(JournalConformanceTest, NoticesKeepTheirOrderAndTheConsumersProgress) {
  CheckOutbox(this->under_test_);
}

// --- each check catches the journal broken its way -------------------------------------------

// A MemoryJournal with one flaw.
enum class Flaw {
  kNone,
  kRepeatsSequences,
  kWritesInReverse,
  kDropsCallbacks,
  kHidesFailure,
  kForgetsTransactions,
  kLogsInAppendOrder,
  kForgetsAcks,
};

class FlawedJournal final : public Journal, public DecisionLog, public NoticeOutbox {
 public:
  explicit FlawedJournal(Flaw flaw) : flaw_(flaw) {}

  absl::StatusOr<RestoredState> Load() override {
    absl::StatusOr<RestoredState> state = inner_.Load();
    if (flaw_ == Flaw::kForgetsTransactions && state.ok()) state->transactions.clear();
    return state;
  }
  absl::Status Ready() const override {
    return flaw_ == Flaw::kHidesFailure ? absl::OkStatus() : inner_.Ready();
  }
  uint64_t Append(StateChange change) override {
    for (const DecisionLogEntry& entry : change.log) appended_log_.push_back(entry);
    if (flaw_ == Flaw::kWritesInReverse) {
      held_.push_back(std::move(change));
      return ++held_sequence_;
    }
    const uint64_t sequence = inner_.Append(std::move(change));
    return flaw_ == Flaw::kRepeatsSequences ? 1 : sequence;
  }
  uint64_t LastSequence() const override {
    if (flaw_ == Flaw::kWritesInReverse) return held_sequence_;
    return flaw_ == Flaw::kRepeatsSequences ? 1 : inner_.LastSequence();
  }
  absl::Status WaitDurable(uint64_t sequence) override {
    while (!held_.empty()) {
      inner_.Append(std::move(held_.back()));
      held_.pop_back();
    }
    const absl::Status status = inner_.WaitDurable(sequence);
    return flaw_ == Flaw::kHidesFailure ? absl::OkStatus() : status;
  }
  void WhenDurable(uint64_t sequence, DurableCallback done) override {
    if (flaw_ == Flaw::kDropsCallbacks && ++callbacks_ % 10 == 0) return;
    std::move(done)(WaitDurable(sequence));
  }
  absl::Status ExportDecisions(int64_t since_ms, int64_t until_ms,
                               absl::FunctionRef<bool(const DecisionLogEntry&)> sink) override {
    if (flaw_ != Flaw::kLogsInAppendOrder) return inner_.ExportDecisions(since_ms, until_ms, sink);
    for (const DecisionLogEntry& entry : appended_log_) {
      if (entry.time_ms >= since_ms && entry.time_ms < until_ms && !sink(entry)) break;
    }
    return absl::OkStatus();
  }
  absl::Status ExportDecisionsNewestFirst(
      int64_t until_ms, absl::FunctionRef<bool(const DecisionLogEntry&)> sink) override {
    return inner_.ExportDecisionsNewestFirst(until_ms, sink);
  }
  absl::Status DeleteDecisionsBefore(int64_t before_ms) override {
    std::erase_if(appended_log_, [&](const auto& entry) { return entry.time_ms < before_ms; });
    return inner_.DeleteDecisionsBefore(before_ms);
  }
  void SetFailure(absl::Status failure) { inner_.SetFailure(std::move(failure)); }

  absl::Status ReadNotices(uint64_t after,
                           absl::FunctionRef<bool(const StoredNotice&)> sink) override {
    return inner_.ReadNotices(after, sink);
  }
  uint64_t LastNoticeCursor() const override { return inner_.LastNoticeCursor(); }
  uint64_t TrimmedThrough() const override { return inner_.TrimmedThrough(); }
  absl::Status DeleteNoticesBefore(int64_t before_ms) override {
    return inner_.DeleteNoticesBefore(before_ms);
  }
  absl::StatusOr<std::optional<uint64_t>> AckedCursor(absl::string_view consumer) override {
    return inner_.AckedCursor(consumer);
  }
  absl::Status Ack(absl::string_view consumer, uint64_t cursor) override {
    if (flaw_ == Flaw::kForgetsAcks) return absl::OkStatus();
    return inner_.Ack(consumer, cursor);
  }
  void SetNoticeListener(absl::AnyInvocable<void(uint64_t)> listener) override {
    inner_.SetNoticeListener(std::move(listener));
  }
  absl::StatusOr<int64_t> ReadMark(absl::string_view name) override {
    return inner_.ReadMark(name);
  }

 private:
  const Flaw flaw_;
  MemoryJournal inner_;
  std::vector<StateChange> held_;
  uint64_t held_sequence_ = 0;
  std::atomic<int> callbacks_{0};
  std::vector<DecisionLogEntry> appended_log_;  // in append order, for kLogsInAppendOrder
};

using FlawedUnderTest = InMemoryUnderTest<FlawedJournal>;

// How many failures `check` reports against a journal with `flaw`, without failing this test.
int FailuresWith(Flaw flaw, void (*check)(JournalUnderTest&)) {
  ::testing::TestPartResultArray results;
  {
    ::testing::ScopedFakeTestPartResultReporter reporter(
        ::testing::ScopedFakeTestPartResultReporter::INTERCEPT_ONLY_CURRENT_THREAD, &results);
    FlawedUnderTest under_test(flaw);
    check(under_test);
  }
  return results.size();
}

TEST(JournalConformanceSuiteTest, EachCheckPassesASoundJournalAndCatchesItsFlaw) {
  const std::vector<std::pair<void (*)(JournalUnderTest&), Flaw>> cases = {
      {CheckOrder, Flaw::kRepeatsSequences},
      {CheckOrder, Flaw::kWritesInReverse},
      {CheckCallbacksExactlyOnce, Flaw::kDropsCallbacks},
      {CheckFailureAndRecovery, Flaw::kHidesFailure},
      {CheckRestoreEqualsAppended, Flaw::kForgetsTransactions},
      {CheckDecisionLog, Flaw::kLogsInAppendOrder},
      {CheckOutbox, Flaw::kForgetsAcks},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto [check, flaw] = cases[i];
    EXPECT_EQ(FailuresWith(Flaw::kNone, check), 0) << "case " << i << " fails a sound journal";
    EXPECT_GT(FailuresWith(flaw, check), 0) << "case " << i << " misses its flaw";
  }
}

}  // namespace
}  // namespace vigil::store
