// ClusterClient against a real Redis Cluster on loopback (tools/cluster.sh): routing by slot,
// pipelining from many threads, MOVED and ASK, a failover, and a cluster that is gone.

#include "engine/redis/cluster_client.h"

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "local_cluster.h"

namespace vigil::redis {
namespace {

ClusterOptions WithSeeds(std::vector<std::string> seeds) {
  ClusterOptions options;
  options.seeds = std::move(seeds);
  return options;
}

class ClusterClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { cluster_ = TheCluster(); }
  void SetUp() override {
    ASSERT_NE(cluster_, nullptr) << "the local cluster did not start (tools/cluster.sh)";
    absl::StatusOr<std::unique_ptr<ClusterClient>> client =
        ClusterClient::Connect(WithSeeds({cluster_->seeds().front()}));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  static LocalCluster* cluster_;
  std::unique_ptr<ClusterClient> client_;
};

LocalCluster* ClusterClientTest::cluster_ = nullptr;

TEST_F(ClusterClientTest, KeysOfEverySlotRangeGoToTheirPrimary) {
  EXPECT_EQ(client_->primaries().size(), 3u);
  for (int i = 0; i < 300; ++i) {
    const std::string key = absl::StrCat("key-", i);
    absl::StatusOr<Reply> set = client_->Call(key, {"SET", key, absl::StrCat("value-", i)});
    ASSERT_TRUE(set.ok()) << set.status();
    EXPECT_EQ(set->text, "OK") << set->text;
  }
  for (int i = 0; i < 300; ++i) {
    const std::string key = absl::StrCat("key-", i);
    absl::StatusOr<Reply> get = client_->Call(key, {"GET", key});
    ASSERT_TRUE(get.ok()) << get.status();
    EXPECT_EQ(get->text, absl::StrCat("value-", i));
    // The server agrees with our slot.
    absl::StatusOr<Reply> slot = client_->Call(key, {"CLUSTER", "KEYSLOT", key});
    ASSERT_TRUE(slot.ok());
    EXPECT_EQ(slot->integer, KeySlot(key)) << key;
  }
}

TEST_F(ClusterClientTest, ManyThreadsShareThePipelines) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 2000;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = absl::StrCat("{counter-", i % 16, "}");
        absl::StatusOr<Reply> reply = client_->Call(key, {"INCR", key});
        if (!reply.ok() || reply->type != Reply::Type::kInteger) failures.fetch_add(1);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failures.load(), 0);
  int64_t total = 0;
  for (int i = 0; i < 16; ++i) {
    const std::string key = absl::StrCat("{counter-", i, "}");
    absl::StatusOr<Reply> reply = client_->Call(key, {"GET", key});
    ASSERT_TRUE(reply.ok());
    total += std::stoll(reply->text);
  }
  EXPECT_EQ(total, kThreads * kPerThread) << "every INCR counted once";
}

TEST_F(ClusterClientTest, AnAskRedirectIsFollowedOnceAndAMovedOneForGood) {
  const std::string key = "{moving}:key";
  const int slot = KeySlot(key);
  const auto [source_id, source] = cluster_->PrimaryOf(slot);
  std::string target;
  for (const std::string& primary : client_->primaries()) {
    if (primary != source) target = primary;
  }
  ASSERT_FALSE(source.empty());
  ASSERT_FALSE(target.empty());
  const std::string target_id = cluster_->Cli(cluster_->IndexOf(target), "CLUSTER MYID");

  // The slot is being migrated: a key not on the source yet is served by the target, after ASK.
  ASSERT_EQ(cluster_->Cli(cluster_->IndexOf(target),
                          absl::StrCat("CLUSTER SETSLOT ", slot, " IMPORTING ", source_id)),
            "OK");
  ASSERT_EQ(cluster_->Cli(cluster_->IndexOf(source),
                          absl::StrCat("CLUSTER SETSLOT ", slot, " MIGRATING ", target_id)),
            "OK");
  absl::StatusOr<Reply> set = client_->Call(key, {"SET", key, "during the move"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->text, "OK");
  EXPECT_EQ(cluster_->Cli(cluster_->IndexOf(target), absl::StrCat("-c GET ", key)),
            "during the move");

  // The move is done: the source answers MOVED, and the client learns the new owner.
  for (int index = 0; index < 6; ++index) {
    (void)cluster_->Cli(index, absl::StrCat("CLUSTER SETSLOT ", slot, " NODE ", target_id));
  }
  const uint64_t changes = client_->map_changes();
  absl::StatusOr<Reply> get = client_->Call(key, {"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->text, "during the move");
  for (int i = 0; i < 100 && client_->map_changes() == changes; ++i) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GT(client_->map_changes(), changes) << "MOVED makes the client read the map again";
}

TEST_F(ClusterClientTest, AfterAFailoverTheClientFollowsTheNewPrimary) {
  const std::string key = "{failover}:key";
  ASSERT_TRUE(client_->Call(key, {"SET", key, "before"}).ok());
  const auto [primary_id, primary] = cluster_->PrimaryOf(KeySlot(key));
  // Its replica takes over (CLUSTER FAILOVER: the replica asks, the primary agrees).
  const int replica = cluster_->ReplicaOf(primary_id);
  ASSERT_GE(replica, 0);
  ASSERT_EQ(cluster_->Cli(replica, "CLUSTER FAILOVER"), "OK");
  absl::StatusOr<Reply> get;
  for (int i = 0; i < 100; ++i) {
    if (cluster_->Cli(replica, "ROLE").find("master") == 0) break;
    absl::SleepFor(absl::Milliseconds(50));
  }
  get = client_->Call(key, {"GET", key});
  ASSERT_TRUE(get.ok()) << get.status();
  EXPECT_EQ(get->text, "before");
  absl::StatusOr<Reply> set = client_->Call(key, {"SET", key, "after"});
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->text, "OK") << "written to the new primary";
}

TEST(ClusterConnectTest, SeedsThatDoNotAnswerAreUnavailableAndBadOnesInvalid) {
  EXPECT_EQ(ClusterClient::Connect(WithSeeds({"127.0.0.1:1"})).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(ClusterClient::Connect(WithSeeds({"no-port"})).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ClusterClient::Connect({}).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigil::redis
