#pragma once

// Counters and histograms that the hot path updates without sharing a written cache line
// between threads: each has kStripes copies, each copy on cache lines of its own, a thread adds
// to the copy its index picks, and a scrape sums the copies. A shared atomic counter would pass
// its cache line between the server's cores on every call, and cost both of them a miss.
//
//   StripedCounters<3> decisions;           // one counter per decision
//   decisions.Add(1);                       // relaxed add to this thread's stripe
//   uint64_t challenged = decisions.Sum(1); // a scrape
//
//   Histogram latency(kLatencyBoundsNs);
//   latency.Observe(elapsed_ns);
//
// Thread-safe. Sums are not a consistent snapshot across counters (each is read on its own),
// which Prometheus' counters do not need. Add and Observe take no lock and allocate nothing.

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/base/optimization.h"
#include "absl/types/span.h"

namespace vigil::server {

inline constexpr size_t kStripes = 8;

// This thread's stripe: threads are numbered as they first count, so that up to kStripes
// threads (vigild runs one gRPC thread per core, and the store's writer) each have their own.
size_t ThisThreadStripe();

template <size_t kCounters>
class StripedCounters {
 public:
  void Add(size_t counter, uint64_t value = 1) {
    stripes_[ThisThreadStripe()].counts[counter].fetch_add(value, std::memory_order_relaxed);
  }
  uint64_t Sum(size_t counter) const {
    uint64_t sum = 0;
    for (const Stripe& stripe : stripes_)
      sum += stripe.counts[counter].load(std::memory_order_relaxed);
    return sum;
  }

 private:
  struct alignas(ABSL_CACHELINE_SIZE) Stripe {
    std::array<std::atomic<uint64_t>, kCounters> counts{};
  };
  std::array<Stripe, kStripes> stripes_;
};

// A histogram of integer observations (nanoseconds, batch sizes) over fixed upper bounds.
class Histogram {
 public:
  // `bounds` ascending; an observation above the last falls in the +Inf bucket.
  explicit Histogram(std::vector<int64_t> bounds);

  void Observe(int64_t value);

  struct Snapshot {
    std::vector<int64_t> bounds;
    std::vector<uint64_t> cumulative;  // per bound, observations <= it
    uint64_t count = 0;
    int64_t sum = 0;
  };
  Snapshot Read() const;

 private:
  const std::vector<int64_t> bounds_;
  const size_t width_;  // atomics per stripe: a count per bucket (and +Inf), the sum
  // kStripes rows of width_ atomics, each row starting on a cache line of its own.
  struct alignas(ABSL_CACHELINE_SIZE) Line {
    std::atomic<int64_t> values[ABSL_CACHELINE_SIZE / sizeof(std::atomic<int64_t>)] = {};
  };
  size_t lines_per_stripe_;
  std::unique_ptr<Line[]> lines_;
  std::atomic<int64_t>& At(size_t stripe, size_t index) const;
};

// Authorize and journal-write latencies, in nanoseconds: 25 µs to 1 s.
std::vector<int64_t> LatencyBoundsNs();
// Changes per journal write batch: 1 to 4,096 by powers of two.
std::vector<int64_t> BatchSizeBounds();

// What vigild's own code counts; the engine, the rules and the store count the rest.
struct ServerMetrics {
  enum Rejection : size_t { kOverload = 0, kDeadline = 1 };
  StripedCounters<3> decisions;  // APPROVE, CHALLENGE, DECLINE (Decision - 1)
  StripedCounters<2> rejected;   // by Rejection
  Histogram authorize_latency{LatencyBoundsNs()};
  Histogram journal_write_latency{LatencyBoundsNs()};
  Histogram journal_batch_size{BatchSizeBounds()};
};

}  // namespace vigil::server
