#pragma once

#include <chrono>

#include "engine/core/clock.h"

namespace vigil::server {

// The wall clock. Thread-safe.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  }
};

}  // namespace vigil::server
