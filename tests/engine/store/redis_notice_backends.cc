// The notice suite's backend in redis_test: engines on the binary's local Redis Cluster.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "engine/core/shared_engine.h"
#include "engine/store/redis_notice_outbox.h"
#include "engine/store/redis_shared_state.h"
#include "gtest/gtest.h"
#include "local_cluster.h"
#include "notice_backends.h"

namespace vigil::store {
namespace {

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

}  // namespace

std::vector<std::string> NoticeBackendNames() { return {"redis"}; }

std::unique_ptr<NoticeBackend> MakeNoticeBackend(const std::string&) {
  return std::make_unique<RedisBackend>();
}

}  // namespace vigil::store
