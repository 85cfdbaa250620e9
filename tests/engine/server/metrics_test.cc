#include "engine/server/metrics.h"

#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace vigil::server {
namespace {

TEST(StripedCountersTest, SumsWhatEveryThreadAdded) {
  StripedCounters<3> counters;
  std::vector<std::thread> threads;
  // More threads than stripes: some share one, and nothing is lost.
  for (int t = 0; t < 2 * static_cast<int>(kStripes); ++t) {
    threads.emplace_back([&counters, t] {
      for (int i = 0; i < 1000; ++i) counters.Add(t % 3);
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(counters.Sum(0) + counters.Sum(1) + counters.Sum(2), 2 * kStripes * 1000);
  EXPECT_EQ(counters.Sum(0), 6000u);  // threads 0, 3, 6, 9, 12, 15
}

TEST(HistogramTest, BucketsAreCumulativeAndInclusiveOfTheirBound) {
  Histogram histogram({10, 100});
  for (int64_t value : {1, 10, 11, 100, 101, 5000}) histogram.Observe(value);
  const Histogram::Snapshot snapshot = histogram.Read();
  ASSERT_EQ(snapshot.cumulative.size(), 2u);
  EXPECT_EQ(snapshot.cumulative[0], 2u);  // 1 and 10
  EXPECT_EQ(snapshot.cumulative[1], 4u);  // and 11, 100
  EXPECT_EQ(snapshot.count, 6u);          // and 101, 5000 above every bound
  EXPECT_EQ(snapshot.sum, 1 + 10 + 11 + 100 + 101 + 5000);
}

TEST(HistogramTest, CountsFromManyThreads) {
  Histogram histogram(LatencyBoundsNs());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&histogram] {
      for (int i = 0; i < 1000; ++i) histogram.Observe(30'000);
    });
  }
  for (std::thread& thread : threads) thread.join();
  const Histogram::Snapshot snapshot = histogram.Read();
  EXPECT_EQ(snapshot.count, 4000u);
  EXPECT_EQ(snapshot.cumulative[0], 0u);     // 25 µs
  EXPECT_EQ(snapshot.cumulative[1], 4000u);  // 50 µs
}

}  // namespace
}  // namespace vigil::server
