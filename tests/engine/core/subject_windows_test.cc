#include "engine/core/subject_windows.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/core/time_units.h"

namespace vigil {
namespace {

constexpr int64_t kStart = 1'795'737'600'000;  // a multiple of every bucket width below

// The user windows of the shipped rules, plus a device window for another subject.
WindowLayout ShippedLike(uint64_t id = 1) {
  return WindowLayout(
      {
          {Subject::kUser, WindowMetric::kApprovals, {kHour, 12}},
          {Subject::kUser, WindowMetric::kApprovals, {3 * kHour, 12}},
          {Subject::kUser, WindowMetric::kAttempts, {kHour, 12}},
          {Subject::kDevice, WindowMetric::kAttempts, {10 * kMinute, 12}},
          {Subject::kUser, WindowMetric::kDistinctMerchants, {10 * kMinute, 12}},
      },
      id);
}

class SubjectWindowsTest : public ::testing::Test {
 protected:
  void Record(int64_t time_ms, int64_t amount, uint64_t merchant, bool approved) {
    windows_.Conform(layout_, Subject::kUser);
    windows_.Record(layout_, Subject::kUser, time_ms, amount, merchant, approved);
  }
  std::vector<WindowReading> Read(int64_t now_ms) {
    std::vector<WindowReading> readings(layout_.specs().size());
    windows_.Conform(layout_, Subject::kUser);
    windows_.Read(layout_, Subject::kUser, now_ms, absl::MakeSpan(readings));
    return readings;
  }

  WindowLayout layout_ = ShippedLike();
  SubjectWindows windows_;
};

TEST_F(SubjectWindowsTest, FewEventsAreCountedExactlyForTheirSpan) {
  Record(kStart + 1, 500, /*merchant=*/1, /*approved=*/true);
  Record(kStart + 2 * kMinute, 300, 2, /*approved=*/false);
  std::vector<WindowReading> r = Read(kStart + 5 * kMinute);
  EXPECT_EQ(r[0].count, 1);  // approvals 1 h
  EXPECT_EQ(r[0].sum_minor, 500);
  EXPECT_EQ(r[1].count, 1);  // approvals 3 h
  EXPECT_EQ(r[2].count, 2);  // attempts 1 h
  EXPECT_EQ(r[2].sum_minor, 800);
  EXPECT_EQ(r[4].count, 2);  // distinct merchants 10 min
  EXPECT_EQ(r[3].count, 0) << "a device window is not the user's";

  // One hour after the first event it has left the 1 h windows, not the 3 h one; with events
  // there is no bucket's worth of slack.
  r = Read(kStart + 1 + kHour);
  EXPECT_EQ(r[0].count, 0);
  EXPECT_EQ(r[1].count, 1);
  EXPECT_EQ(r[2].count, 1);
  EXPECT_EQ(r[4].count, 0);
  r = Read(kStart + kHour);
  EXPECT_EQ(r[0].count, 1) << "still inside (now - 1 h, now]";
}

TEST_F(SubjectWindowsTest, DistinctMerchantsCountsEachMerchantOnce) {
  for (int i = 0; i < 6; ++i) Record(kStart + i * 1000, 100, /*merchant=*/i % 3, true);
  EXPECT_EQ(Read(kStart + 10'000)[4].count, 3);
}

TEST_F(SubjectWindowsTest, ManyEventsMoveToRingsWithoutLosingCounts) {
  constexpr int kEvents = 3 * SubjectWindows::kMaxEvents;
  for (int i = 0; i < kEvents; ++i) {
    Record(kStart + i * 1000, 100, /*merchant=*/i % 5, /*approved=*/i % 2 == 0);
  }
  const std::vector<WindowReading> r = Read(kStart + kEvents * 1000);
  EXPECT_EQ(r[0].count, kEvents / 2);
  EXPECT_EQ(r[0].sum_minor, 100 * kEvents / 2);
  EXPECT_EQ(r[1].count, kEvents / 2);
  EXPECT_EQ(r[2].count, kEvents);
  EXPECT_EQ(r[4].count, 5);
  EXPECT_FALSE(windows_.Save().windows.empty()) << "a busy subject keeps rings";
}

TEST_F(SubjectWindowsTest, OldEventsMakeRoomInsteadOfMovingToRings) {
  // One charge every 2 hours for a day: never more than 2 inside the 3 h window.
  for (int i = 0; i < 12; ++i) Record(kStart + i * 2 * kHour, 100, 1, true);
  const SubjectWindows::Saved saved = windows_.Save();
  EXPECT_TRUE(saved.windows.empty());
  EXPECT_EQ(saved.events.size(), 2u * SubjectWindows::kSavedEventWords);
  EXPECT_EQ(Read(kStart + 22 * kHour + 1)[1].count, 2);
}

TEST_F(SubjectWindowsTest, ReleaseTakesBackOneApprovalInBothForms) {
  Record(kStart, 700, 1, true);
  Record(kStart, 700, 1, true);
  windows_.Release(kStart, 700);
  std::vector<WindowReading> r = Read(kStart + 1000);
  EXPECT_EQ(r[0].count, 1);
  EXPECT_EQ(r[0].sum_minor, 700);
  EXPECT_EQ(r[2].count, 2) << "the attempts happened";

  for (int i = 0; i < 2 * SubjectWindows::kMaxEvents; ++i) Record(kStart + 2000, 10, 1, true);
  windows_.Release(kStart, 700);
  r = Read(kStart + 3000);
  EXPECT_EQ(r[0].count, 2 * SubjectWindows::kMaxEvents);
  EXPECT_EQ(r[0].sum_minor, 20 * SubjectWindows::kMaxEvents);
}

TEST_F(SubjectWindowsTest, SaveAndRestoreKeepEveryReading) {
  for (const int events : {3, 2 * SubjectWindows::kMaxEvents}) {
    SubjectWindows original;
    for (int i = 0; i < events; ++i) {
      original.Conform(layout_, Subject::kUser);
      original.Record(layout_, Subject::kUser, kStart + i * 1000, 100 + i, i, i % 3 != 0);
    }
    SubjectWindows restored;
    restored.Restore(original.Save());
    std::vector<WindowReading> want(layout_.specs().size()), got(layout_.specs().size());
    original.Read(layout_, Subject::kUser, kStart + 60'000, absl::MakeSpan(want));
    restored.Conform(layout_, Subject::kUser);
    restored.Read(layout_, Subject::kUser, kStart + 60'000, absl::MakeSpan(got));
    for (size_t i = 0; i < want.size(); ++i) {
      EXPECT_EQ(got[i].count, want[i].count) << events << " events, window " << i;
      EXPECT_EQ(got[i].sum_minor, want[i].sum_minor) << events << " events, window " << i;
    }
  }
}

TEST_F(SubjectWindowsTest, ANewLayoutCountsTheEventsItCanSee) {
  Record(kStart, 100, 1, true);
  Record(kStart + kMinute, 100, 2, true);
  // A reload adds a 30-minute approvals window: recent events count in it at once.
  layout_ = WindowLayout({{Subject::kUser, WindowMetric::kApprovals, {30 * kMinute, 6}}}, 2);
  EXPECT_EQ(Read(kStart + 2 * kMinute)[0].count, 2);
}

TEST_F(SubjectWindowsTest, ANewLayoutKeepsTheRingsItSharesAndStartsTheOthersEmpty) {
  constexpr int kEvents = 3 * SubjectWindows::kMaxEvents;
  for (int i = 0; i < kEvents; ++i) Record(kStart + i * 1000, 100, /*merchant=*/i % 5, true);
  ASSERT_FALSE(windows_.Save().windows.empty()) << "in ring mode";
  // A reload keeps the 3 h approvals and the distinct merchants, drops the rest and adds a
  // 30-minute attempts window, in another order.
  layout_ = WindowLayout(
      {
          {Subject::kUser, WindowMetric::kAttempts, {30 * kMinute, 6}},
          {Subject::kUser, WindowMetric::kDistinctMerchants, {10 * kMinute, 12}},
          {Subject::kUser, WindowMetric::kApprovals, {3 * kHour, 12}},
      },
      2);
  std::vector<WindowReading> r = Read(kStart + kEvents * 1000);
  EXPECT_EQ(r[0].count, 0) << "a ring only the new layout has starts empty";
  EXPECT_EQ(r[1].count, 5);
  EXPECT_EQ(r[2].count, kEvents);
  EXPECT_EQ(r[2].sum_minor, 100 * kEvents);
  EXPECT_EQ(windows_.Save().windows.size(), 3u);
  // Every ring goes on counting after the move.
  Record(kStart + kEvents * 1000, 100, /*merchant=*/7, true);
  r = Read(kStart + kEvents * 1000);
  EXPECT_EQ(r[0].count, 1);
  EXPECT_EQ(r[1].count, 6);
  EXPECT_EQ(r[2].count, kEvents + 1);
}

}  // namespace
}  // namespace vigil
