#pragma once

#include <atomic>
#include <cstdint>

namespace vigil {

// The source of "now" for the engine. The core never reads a clock of its own: the server
// passes a wall clock, tests pass a FakeClock. Implementations must be thread-safe.
class Clock {
 public:
  virtual ~Clock() = default;
  // Unix epoch milliseconds, UTC.
  virtual int64_t NowMs() const = 0;
};

// A clock that moves only when told to. Thread-safe.
class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t now_ms) : now_ms_(now_ms) {}
  int64_t NowMs() const override { return now_ms_.load(std::memory_order_relaxed); }
  void SetMs(int64_t now_ms) { now_ms_.store(now_ms, std::memory_order_relaxed); }
  void AdvanceMs(int64_t delta_ms) { now_ms_.fetch_add(delta_ms, std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace vigil
