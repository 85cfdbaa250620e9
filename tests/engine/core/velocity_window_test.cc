#include "engine/core/velocity_window.h"

#include <vector>

#include "gtest/gtest.h"
#include "tests/engine/core/time_units.h"

namespace vigil {
namespace {

// A Monday morning, aligned to the hour so that bucket edges are easy to reason about.
constexpr int64_t kT0 = 1'795'000'000'000 / kHour * kHour;

TEST(VelocityWindowTest, CountsAndSumsEventsInsideTheSpan) {
  VelocityWindow window(WindowShape{kHour, 12});
  window.Add(kT0, 100);
  window.Add(kT0 + 10 * kMinute, 250);
  const WindowReading reading = window.Read(kT0 + 30 * kMinute);
  EXPECT_EQ(reading.count, 2);
  EXPECT_EQ(reading.sum_minor, 350);
}

TEST(VelocityWindowTest, EventsLeaveOnceTheirBucketIsOutOfTheSpan) {
  VelocityWindow window(WindowShape{kHour, 12});  // 5-minute buckets
  window.Add(kT0 + 1 * kMinute, 100);
  window.Add(kT0 + 30 * kMinute, 200);
  // The first event's bucket [T0, T0+5m) still overlaps (now - 1h, now] at T0+64m.
  EXPECT_EQ(window.Read(kT0 + 64 * kMinute).count, 2);
  EXPECT_EQ(window.Read(kT0 + 65 * kMinute).count, 1);
  EXPECT_EQ(window.Read(kT0 + 65 * kMinute).sum_minor, 200);
  EXPECT_EQ(window.Read(kT0 + 2 * kHour).count, 0);
}

TEST(VelocityWindowTest, AddingAfterALongGapStartsClean) {
  VelocityWindow window(WindowShape{kHour, 12});
  for (int i = 0; i < 12; ++i) window.Add(kT0 + i * 5 * kMinute, 1);
  window.Add(kT0 + 10 * kHour, 7);
  const WindowReading reading = window.Read(kT0 + 10 * kHour);
  EXPECT_EQ(reading.count, 1);
  EXPECT_EQ(reading.sum_minor, 7);
}

TEST(VelocityWindowTest, RemoveTakesBackAnEventStillInTheRing) {
  VelocityWindow window(WindowShape{kHour, 12});
  window.Add(kT0, 100);
  window.Add(kT0 + kMinute, 300);
  window.Remove(kT0, 100);
  EXPECT_EQ(window.Read(kT0 + 2 * kMinute).count, 1);
  EXPECT_EQ(window.Read(kT0 + 2 * kMinute).sum_minor, 300);
  // An event whose bucket has left the ring is not subtracted from a newer one.
  window.Add(kT0 + 3 * kHour, 50);
  window.Remove(kT0 + kMinute, 300);
  EXPECT_EQ(window.Read(kT0 + 3 * kHour).sum_minor, 50);
}

TEST(VelocityWindowTest, LateEventsWithinTheRingCountAndOlderOnesAreIgnored) {
  VelocityWindow window(WindowShape{kHour, 12});
  window.Add(kT0 + 2 * kHour, 10);
  window.Add(kT0 + 2 * kHour - 20 * kMinute, 20);  // late but inside
  window.Add(kT0, 40);                             // older than the ring
  const WindowReading reading = window.Read(kT0 + 2 * kHour);
  EXPECT_EQ(reading.count, 2);
  EXPECT_EQ(reading.sum_minor, 30);
}

TEST(VelocityWindowTest, ReadingBeforeNewestEventIgnoresTheFuture) {
  VelocityWindow window(WindowShape{kHour, 12});
  window.Add(kT0, 1);
  window.Add(kT0 + 30 * kMinute, 2);
  EXPECT_EQ(window.Read(kT0 + kMinute).count, 1);
}

TEST(VelocityWindowTest, SaveAndRestoreKeepTheCountsAcrossTheRingsWrap) {
  VelocityWindow window(WindowShape{kHour, 12});
  for (int i = 0; i < 30; ++i) window.Add(kT0 + i * 10 * kMinute, 100);  // wraps the ring twice
  VelocityWindow restored(WindowShape{kHour, 12});
  ASSERT_TRUE(restored.Restore(window.Save()));
  const int64_t now = kT0 + 29 * 10 * kMinute;
  EXPECT_EQ(restored.Read(now).count, window.Read(now).count);
  EXPECT_EQ(restored.Read(now).sum_minor, window.Read(now).sum_minor);
  restored.Add(now + 5 * kMinute, 1);
  window.Add(now + 5 * kMinute, 1);
  EXPECT_EQ(restored.Read(now + 5 * kMinute).count, window.Read(now + 5 * kMinute).count);
}

TEST(VelocityWindowTest, RestoreRefusesANegativeNewestBucket) {
  VelocityWindow window(WindowShape{kHour, 12});
  window.Add(kT0, 1);
  std::vector<int64_t> saved = window.Save();
  saved[0] = -5;  // a damaged record: the ring's slots are found from this index
  VelocityWindow restored(WindowShape{kHour, 12});
  EXPECT_FALSE(restored.Restore(saved));
}

}  // namespace
}  // namespace vigil
