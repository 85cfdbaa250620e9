// The Redis Cluster's outbox of notices (engine/store/redis_notice_outbox.h) on a real cluster:
// what a node that died left in the slots another relays, a relay done twice adds each notice
// once, two nodes relaying at once neither lose nor repeat one, acks and marks are every
// node's, retention trims the oldest and says how far, and one node at a time runs the scans.

#include "engine/store/redis_notice_outbox.h"

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "engine/store/redis_layout.h"
#include "engine/store/redis_shared_state.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "local_cluster.h"

namespace vigil::store {
namespace {

using ::testing::ElementsAre;

// One vigild's view of the cluster: its client, outbox and shared state.
struct OutboxNode {
  std::unique_ptr<redis::ClusterClient> cluster;
  std::unique_ptr<RedisNoticeOutbox> outbox;
  std::unique_ptr<RedisSharedState> state;
};

class RedisNoticeOutboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(redis::TheCluster(), nullptr) << "the local cluster did not start";
    // {notices} is one stream for the whole cluster: each test starts on an empty one.
    OutboxNode first = MakeNode("first");
    ASSERT_TRUE(first.cluster->CallOnEveryPrimary({"FLUSHALL"}).ok());
  }

  // `relay_interval` zero: nothing is relayed but by Settle().
  static OutboxNode MakeNode(const std::string& holder,
                             absl::Duration relay_interval = absl::ZeroDuration(),
                             absl::Duration sweep_interval = absl::Seconds(10)) {
    OutboxNode node;
    redis::ClusterOptions options;
    options.seeds = redis::TheCluster()->seeds();
    node.cluster = *redis::ClusterClient::Connect(options);
    RedisNoticeOutbox::Options outbox_options;
    outbox_options.holder = holder;
    outbox_options.relay_interval = relay_interval;
    outbox_options.sweep_interval = sweep_interval;
    absl::StatusOr<std::unique_ptr<RedisNoticeOutbox>> outbox =
        RedisNoticeOutbox::Create(node.cluster.get(), outbox_options);
    EXPECT_TRUE(outbox.ok()) << outbox.status();
    node.outbox = *std::move(outbox);
    RedisSharedStateOptions state_options;
    state_options.outbox = node.outbox.get();
    node.state = *RedisSharedState::Create(node.cluster.get(), state_options);
    return node;
  }

  static Notice Told(NoticeKind kind, const std::string& user, const std::string& mandate,
                     int64_t time_ms = 1'795'000'000'000) {
    Notice notice;
    notice.kind = kind;
    notice.user_id = user;
    notice.mandate_id = mandate;
    notice.time_ms = time_ms;
    notice.text = "changed";
    return notice;
  }

  // Commits a change to each user that tells them of a grant and a revocation, in that order.
  static void GrantAndRevoke(SharedState& state, int users) {
    for (int i = 0; i < users; ++i) {
      SharedState::Write write;
      write.writer = "w";
      write.user_id = absl::StrCat("u", i);
      write.new_token = "t1";
      write.user.user_id = write.user_id;
      write.notices = {Told(NoticeKind::kMandateGranted, write.user_id, "m"),
                       Told(NoticeKind::kMandateRevoked, write.user_id, "m")};
      absl::StatusOr<std::optional<SharedState::Conflict>> committed = state.Commit(write);
      ASSERT_TRUE(committed.ok() && !committed->has_value()) << committed.status();
    }
  }

  static std::vector<StoredNotice> All(NoticeOutbox& outbox) {
    std::vector<StoredNotice> notices;
    EXPECT_TRUE(outbox
                    .ReadNotices(0,
                                 [&](const StoredNotice& stored) {
                                   notices.push_back(stored);
                                   return true;
                                 })
                    .ok());
    return notices;
  }

  // Every user's notices told once each, a grant before its revocation; cursors 1, 2, 3...
  static void ExpectEachOnceInTheUsersOrder(const std::vector<StoredNotice>& notices, int users) {
    ASSERT_EQ(notices.size(), static_cast<size_t>(2 * users));
    std::map<std::string, std::vector<NoticeKind>> by_user;
    for (size_t i = 0; i < notices.size(); ++i) {
      EXPECT_EQ(notices[i].cursor, i + 1);
      by_user[notices[i].notice.user_id].push_back(notices[i].notice.kind);
    }
    ASSERT_EQ(by_user.size(), static_cast<size_t>(users));
    for (const auto& [user, kinds] : by_user) {
      EXPECT_THAT(kinds, ElementsAre(NoticeKind::kMandateGranted, NoticeKind::kMandateRevoked))
          << user;
    }
  }
};

TEST_F(RedisNoticeOutboxTest, WhatANodeThatDiedLeftInTheSlotsAnotherRelays) {
  {
    OutboxNode dying = MakeNode("dying");
    GrantAndRevoke(*dying.state, 40);
    // Gone before relaying anything: its notices are in their users' slots only.
  }
  OutboxNode other = MakeNode("other");
  EXPECT_THAT(All(*other.outbox), ::testing::IsEmpty());
  ASSERT_TRUE(other.outbox->Settle().ok());
  ExpectEachOnceInTheUsersOrder(All(*other.outbox), 40);
  EXPECT_EQ(other.outbox->relayed(), 80u);
  EXPECT_EQ(other.outbox->LastNoticeCursor(), 80u);
}

TEST_F(RedisNoticeOutboxTest, ARelayDoneAgainAddsEachNoticeOnce) {
  OutboxNode node = MakeNode("node");
  GrantAndRevoke(*node.state, 1);
  // A relay that added the slot's entries and died before deleting them from the slot.
  const int slot = redis_layout::UserSlot("u0");
  const std::string& outbox = redis_layout::OutboxKey(slot);
  absl::StatusOr<redis::Reply> entries = node.cluster->Call(outbox, {"XRANGE", outbox, "-", "+"});
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->elements.size(), 2u);
  redis::Command relay = {"FCALL",
                          "vigil_relay",
                          "2",
                          redis_layout::kNoticesKey,
                          redis_layout::kNoticesMetaKey,
                          absl::StrCat(slot)};
  for (const redis::Reply& entry : entries->elements) {
    relay.push_back(entry.elements[0].text);
    relay.push_back(entry.elements[1].elements[1].text);  // t
    relay.push_back(entry.elements[1].elements[3].text);  // n
  }
  absl::StatusOr<redis::Reply> relayed = node.cluster->Call(redis_layout::kNoticesKey, relay);
  ASSERT_TRUE(relayed.ok() && !relayed->is_error()) << relayed->text;

  ASSERT_TRUE(node.outbox->Settle().ok());  // reads the same entries again
  ExpectEachOnceInTheUsersOrder(All(*node.outbox), 1);
  EXPECT_EQ(node.cluster->Call(outbox, {"XLEN", outbox})->integer, 0) << "and they left the slot";
}

TEST_F(RedisNoticeOutboxTest, TwoNodesRelayingAtOnceLoseAndRepeatNothing) {
  // Both relay on their own threads, and each sweeps every slot: the other's notices too.
  OutboxNode a = MakeNode("a", absl::Milliseconds(5), absl::Milliseconds(5));
  OutboxNode b = MakeNode("b", absl::Milliseconds(5), absl::Milliseconds(5));
  absl::Notification heard;
  b.outbox->SetNoticeListener([&](uint64_t last) {
    if (last >= 400 && !heard.HasBeenNotified()) heard.Notify();
  });
  GrantAndRevoke(*a.state, 200);
  // B hears of them all, through its own reading of the stream.
  EXPECT_TRUE(heard.WaitForNotificationWithTimeout(absl::Seconds(30)));
  ASSERT_TRUE(a.outbox->Settle().ok());
  ASSERT_TRUE(b.outbox->Settle().ok());
  ExpectEachOnceInTheUsersOrder(All(*b.outbox), 200);
  EXPECT_EQ(a.outbox->relayed() + b.outbox->relayed(), 400u);
  b.outbox->SetNoticeListener(nullptr);
}

TEST_F(RedisNoticeOutboxTest, AnAckIsEveryNodesAndNeverGoesBack) {
  OutboxNode a = MakeNode("a");
  OutboxNode b = MakeNode("b");
  GrantAndRevoke(*a.state, 2);
  ASSERT_TRUE(a.outbox->Settle().ok());
  EXPECT_EQ(b.outbox->AckedCursor("app").value_or(7), std::nullopt) << "never acked";
  ASSERT_TRUE(a.outbox->Ack("app", 3).ok());
  EXPECT_EQ(b.outbox->AckedCursor("app").value_or(std::nullopt), 3u);
  ASSERT_TRUE(b.outbox->Ack("app", 2).ok());
  EXPECT_EQ(a.outbox->AckedCursor("app").value_or(std::nullopt), 3u) << "an older ack is late";
  EXPECT_EQ(b.outbox->AckedCursor("other").value_or(7), std::nullopt) << "consumers are apart";
  const absl::Status past = b.outbox->Ack("app", 5);
  EXPECT_EQ(past.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(past.message()), ::testing::HasSubstr("past the last notice, 4"));
}

TEST_F(RedisNoticeOutboxTest, RetentionDeletesTheOldestUpToTheFirstKeptAndSaysHowFar) {
  OutboxNode node = MakeNode("node");
  // One user's, so that the stream's order is the order made.
  ASSERT_TRUE(node.state
                  ->Notify({Told(NoticeKind::kMandateDormant, "u", "m1", 1000),
                            Told(NoticeKind::kMandateDormant, "u", "m2", 2000),
                            Told(NoticeKind::kMandateDormant, "u", "m3", 4000),
                            Told(NoticeKind::kMandateDormant, "u", "m4", 3000)})
                  .ok());
  ASSERT_TRUE(node.outbox->Settle().ok());
  ASSERT_TRUE(node.outbox->DeleteNoticesBefore(3500).ok());
  EXPECT_EQ(node.outbox->TrimmedThrough(), 2u) << "m4 is older, but kept behind m3";
  std::vector<StoredNotice> kept = All(*node.outbox);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].cursor, 3u);
  EXPECT_EQ(kept[0].notice.mandate_id, "m3");
  // Another node knows as much once it reads the stream.
  OutboxNode other = MakeNode("other");
  EXPECT_EQ(other.outbox->TrimmedThrough(), 2u);
  EXPECT_EQ(other.outbox->LastNoticeCursor(), 4u);
}

TEST_F(RedisNoticeOutboxTest, OneNodeAtATimeRunsTheScans) {
  OutboxNode a = MakeNode("a");
  OutboxNode b = MakeNode("b");
  EXPECT_EQ(a.outbox->AcquireScans().value_or(false), true);
  EXPECT_EQ(a.outbox->AcquireScans().value_or(false), true) << "its own, again";
  EXPECT_EQ(b.outbox->AcquireScans().value_or(true), false);
  a.outbox->ReleaseScans();
  EXPECT_EQ(b.outbox->AcquireScans().value_or(false), true);
  EXPECT_EQ(a.outbox->AcquireScans().value_or(true), false);
  b.outbox->ReleaseScans();
}

}  // namespace
}  // namespace vigil::store
