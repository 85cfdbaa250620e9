#pragma once

// Every place an engine's notices go, made for tests the same way: an engine on a journal
// (memory, RocksDB), whose outbox is the journal's, or on a shared state (the in-memory fake,
// a Redis Cluster), whose outbox every engine sharing it reads. NoticesTest
// (notices_test.cc) runs over all of them: the Redis one in the binary that has a cluster.

#include <memory>
#include <string>
#include <vector>

#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/core/notice.h"
#include "engine/core/policy.h"

namespace vigil::store {

class NoticeBackend {
 public:
  virtual ~NoticeBackend() = default;
  // An engine whose notices go to outbox(). REQUIRES: called once; the backend outlives it.
  virtual std::unique_ptr<Engine> MakeEngine(std::shared_ptr<const Policy> policy,
                                             const Clock* clock) = 0;
  virtual NoticeOutbox& outbox() = 0;
  // Makes what was stored readable from the outbox, as a cluster's relay does soon after.
  virtual void Settle() {}
  // While failing, the store refuses every change.
  virtual void SetFailing(bool failing) = 0;
};

// The backends of this binary, by name, and one made by its name. Defined by the binary's
// own file: store_notice_backends.cc (memory, rocksdb, shared-fake) or
// redis_notice_backends.cc (redis, on the binary's local cluster).
std::vector<std::string> NoticeBackendNames();
std::unique_ptr<NoticeBackend> MakeNoticeBackend(const std::string& name);

}  // namespace vigil::store
