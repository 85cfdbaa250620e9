#include "engine/core/policy_slot.h"

#include <utility>

namespace vigil {
namespace {

uint64_t NextSerial() {
  static std::atomic<uint64_t> next{1};
  return next.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace

PolicySlot::PolicySlot(std::shared_ptr<const Policy> policy)
    : serial_(NextSerial()), policy_(std::move(policy)) {}

void PolicySlot::Set(std::shared_ptr<const Policy> policy) {
  policy_.store(std::move(policy));
  generation_.fetch_add(1, std::memory_order_release);
}

const Policy& PolicySlot::ForThisThread() {
  struct Held {
    uint64_t slot = 0;
    uint64_t generation = 0;
    std::shared_ptr<const Policy> policy;
  };
  thread_local Held held;
  // A thread that sees the new generation loads the policy stored before it was counted.
  const uint64_t generation = generation_.load(std::memory_order_acquire);
  if (held.slot != serial_ || held.generation != generation) {
    held.policy = policy_.load();
    held.slot = serial_;
    held.generation = generation;
  }
  return *held.policy;
}

}  // namespace vigil
