#pragma once

// Every place an engine's notices go, made for tests the same way: an engine on a journal
// (memory, RocksDB), whose outbox is the journal's, or on a shared state (the in-memory fake,
// a Redis Cluster), whose outbox every engine sharing it reads. NoticesTest runs over all of
// them; the Redis one only in the binary that has a cluster (VIGIL_TEST_REDIS).

#include <memory>
#include <string>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/core/engine.h"
#include "engine/core/notice.h"
#include "engine/core/shared_engine.h"
#include "fake_shared_state.h"
#include "gtest/gtest.h"
#include "journals_under_test.h"
#ifdef VIGIL_TEST_REDIS
#include "engine/store/redis_notice_outbox.h"
#include "engine/store/redis_shared_state.h"
#include "local_cluster.h"
#endif

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

class JournalBackend final : public NoticeBackend {
 public:
  explicit JournalBackend(const std::string& name) : journal_(MakeJournalUnderTest(name)) {}
  std::unique_ptr<Engine> MakeEngine(std::shared_ptr<const Policy> policy,
                                     const Clock* clock) override {
    EngineOptions options;
    options.journal = &journal_->journal();
    return Engine::Create(std::move(policy), clock, options);
  }
  NoticeOutbox& outbox() override { return journal_->outbox(); }
  void SetFailing(bool failing) override { journal_->SetFailing(failing); }

 private:
  std::unique_ptr<JournalUnderTest> journal_;
};

class FakeSharedBackend final : public NoticeBackend {
 public:
  std::unique_ptr<Engine> MakeEngine(std::shared_ptr<const Policy> policy,
                                     const Clock* clock) override {
    return SharedEngine::Create(std::move(policy), clock, EngineOptions{}, &state_);
  }
  NoticeOutbox& outbox() override { return state_.outbox(); }
  void SetFailing(bool failing) override { state_.SetDown(failing); }

 private:
  FakeSharedState state_;
};

#ifdef VIGIL_TEST_REDIS
class RedisBackend final : public NoticeBackend {
 public:
  RedisBackend() {
    redis::ClusterOptions options;
    options.seeds = redis::TheCluster()->seeds();
    options.node.io_timeout = absl::Milliseconds(200);  // a paused node is down after that
    cluster_ = *redis::ClusterClient::Connect(options);
    // The outbox is one stream for the whole cluster, which every test of this binary shares:
    // each test starts on an empty one.
    EXPECT_TRUE(cluster_->CallOnEveryPrimary({"FLUSHALL"}).ok());
    RedisNoticeOutbox::Options outbox_options;
    outbox_options.holder = "notices-test";
    outbox_options.relay_interval = absl::ZeroDuration();  // Settle() relays
    outbox_ = *RedisNoticeOutbox::Create(cluster_.get(), outbox_options);
    RedisSharedStateOptions state_options;
    state_options.outbox = outbox_.get();
    state_ = *RedisSharedState::Create(cluster_.get(), state_options);
  }
  std::unique_ptr<Engine> MakeEngine(std::shared_ptr<const Policy> policy,
                                     const Clock* clock) override {
    return SharedEngine::Create(std::move(policy), clock, EngineOptions{}, state_.get());
  }
  NoticeOutbox& outbox() override { return *outbox_; }
  void Settle() override {
    const absl::Status settled = outbox_->Settle();
    EXPECT_TRUE(settled.ok()) << settled;
  }
  // Every primary stops answering for a second (CLIENT PAUSE), or that second is over.
  void SetFailing(bool failing) override {
    if (!failing) {
      absl::SleepFor(paused_until_ - absl::Now());
      return;
    }
    paused_until_ = absl::Now() + absl::Seconds(1);
    for (const std::string& primary : cluster_->primaries()) {
      EXPECT_EQ(
          redis::TheCluster()->Cli(redis::TheCluster()->IndexOf(primary), "CLIENT PAUSE 1000 ALL"),
          "OK");
    }
  }

 private:
  std::unique_ptr<redis::ClusterClient> cluster_;
  std::unique_ptr<RedisNoticeOutbox> outbox_;
  std::unique_ptr<RedisSharedState> state_;
  absl::Time paused_until_;
};
#endif

inline std::unique_ptr<NoticeBackend> MakeNoticeBackend(const std::string& name) {
  if (name == "shared-fake") return std::make_unique<FakeSharedBackend>();
#ifdef VIGIL_TEST_REDIS
  if (name == "redis") return std::make_unique<RedisBackend>();
#endif
  return std::make_unique<JournalBackend>(name);
}

}  // namespace vigil::store
