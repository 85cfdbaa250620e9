#pragma once

// PolicySlot holds the policy an engine decides with and hands it to each thread without
// touching the reference count that the server's threads share: each thread keeps its own
// reference and takes a new one only after Set().
//
//   PolicySlot slot(std::move(policy));
//   const Policy& policy = slot.ForThisThread();
//
// Thread-safe.

#include <atomic>
#include <cstdint>
#include <memory>

#include "absl/base/optimization.h"
#include "engine/core/policy.h"

namespace vigil {

class PolicySlot {
 public:
  // REQUIRES: policy != nullptr.
  explicit PolicySlot(std::shared_ptr<const Policy> policy);
  PolicySlot(const PolicySlot&) = delete;
  PolicySlot& operator=(const PolicySlot&) = delete;

  // The policy for calls that start now; a shared reference, for calls off the hot path.
  std::shared_ptr<const Policy> Get() const { return policy_.load(); }
  // REQUIRES: policy != nullptr.
  void Set(std::shared_ptr<const Policy> policy);

  // The policy for a decision starting now on this thread. Valid until this thread's next call
  // of it; a thread holds on to a replaced policy until then.
  const Policy& ForThisThread();

 private:
  const uint64_t serial_;  // this slot's number in the process, for the per-thread references
  std::atomic<std::shared_ptr<const Policy>> policy_;
  // Counts Set() calls; read on every decision, written only on a reload, so it sits on a
  // cache line of its own that each core keeps.
  alignas(ABSL_CACHELINE_SIZE) std::atomic<uint64_t> generation_{0};
};

}  // namespace vigil
