// Two vigild processes on one Redis Cluster on loopback (tools/cluster.sh), driven over gRPC as a
// gateway and an app backend would: a race for one user's cap, a revocation racing charges,
// retries on the other node, a node killed under load (and the notices of what it acknowledged),
// the notices of either node watched and acked on either, and a Redis primary killed under load.
// Charges carry their own times (--trust-client-time), so that the rules' windows are chosen by
// the test rather than by how fast this machine is.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "http_get.h"
#include "local_cluster.h"
#include "vigil/v1/vigil.grpc.pb.h"

namespace vigil {
namespace {

using redis::TheCluster;
using SteadyClock = std::chrono::steady_clock;

constexpr int64_t kMinute = 60 * 1000;
constexpr int64_t kHour = 60 * kMinute;
// 2026-11-27 10:00 in UTC+8: every charge of these tests is dated that day.
constexpr int64_t kMorning = 1'795'708'800'000 + 10 * kHour;

int FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address);
  socklen_t length = sizeof address;
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

// One vigild on the cluster.
class Node {
 public:
  explicit Node(int wait_replicas = 0) : port_(FreePort()), admin_port_(FreePort()) {
    pid_ = fork();
    if (pid_ == 0) {
      const std::string listen = absl::StrCat("127.0.0.1:", port_);
      const std::string admin = absl::StrCat("127.0.0.1:", admin_port_);
      const std::string seeds = absl::StrJoin(TheCluster()->seeds(), ",");
      const std::string wait = absl::StrCat(wait_replicas);
      freopen("/dev/null", "w", stderr);
      execl(VIGIL_VIGILD, VIGIL_VIGILD, "--listen", listen.c_str(), "--rules", VIGIL_RULES_DIR,
            "--redis-cluster", seeds.c_str(), "--redis-wait-replicas", wait.c_str(),
            "--trust-client-time", "--rules-poll-ms", "0", "--admin-listen", admin.c_str(),
            static_cast<char*>(nullptr));
      _exit(127);
    }
    channel_ =
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials());
    risk_ = v1::RiskEngine::NewStub(channel_);
    mandates_ = v1::Mandates::NewStub(channel_);
    users_ = v1::Users::NewStub(channel_);
    notices_ = v1::Notices::NewStub(channel_);
    serving_ =
        channel_->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }
  ~Node() { Kill(); }

  bool serving() const { return serving_; }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  // A counter's value from the admin server's /metrics; -1 if it is not there.
  double Counter(const std::string& name) {
    const testing::HttpReply reply = testing::HttpGet(admin_port_, "/metrics");
    for (absl::string_view line : absl::StrSplit(reply.body, '\n')) {
      double value = 0;
      if (absl::ConsumePrefix(&line, name + " ") && absl::SimpleAtod(line, &value)) return value;
    }
    return -1;
  }

  grpc::Status Authorize(const v1::AuthorizeRequest& request, v1::AuthorizeResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    return risk_->Authorize(&context, request, response);
  }
  grpc::Status Report(const std::string& txn, v1::Outcome outcome) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ReportOutcomeRequest request;
    request.set_transaction_id(txn);
    request.set_outcome(outcome);
    v1::ReportOutcomeResponse response;
    return risk_->ReportOutcome(&context, request, &response);
  }
  grpc::Status Grant(const std::string& user, v1::Mandate* mandate) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::GrantMandateRequest request;
    request.set_user_id(user);
    request.set_merchant_id("*");
    request.mutable_consent()->set_explicit_opt_in(true);
    request.mutable_consent()->set_terms_version("2026-01");
    request.mutable_consent()->set_consented_at_ms(absl::ToUnixMillis(absl::Now()));
    return mandates_->GrantMandate(&context, request, mandate);
  }
  grpc::Status Revoke(const std::string& user, const std::string& mandate_id) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::RevokeMandateRequest request;
    request.set_user_id(user);
    request.set_mandate_id(mandate_id);
    v1::Mandate revoked;
    return mandates_->RevokeMandate(&context, request, &revoked);
  }
  // The user is told of every approved charge.
  grpc::Status Tell(const std::string& user) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::UserProfile profile;
    profile.set_user_id(user);
    profile.set_notify_every_transaction(true);
    v1::UserProfile stored;
    return users_->PutUserProfile(&context, profile, &stored);
  }
  // Watches as `consumer` until `enough` says so of the notices so far (each a user's, with
  // `prefix`), or for `timeout`; acks each as it comes when `ack`.
  std::vector<v1::Notice> Watch(const std::string& consumer, const std::string& prefix,
                                const std::function<bool(const std::vector<v1::Notice>&)>& enough,
                                absl::Duration timeout, bool ack) {
    grpc::ClientContext context;
    context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
    v1::WatchNoticesRequest request;
    request.set_consumer(consumer);
    std::unique_ptr<grpc::ClientReader<v1::Notice>> stream = notices_->Watch(&context, request);
    std::vector<v1::Notice> seen;
    v1::Notice notice;
    while (!enough(seen) && stream->Read(&notice)) {
      if (ack) {
        EXPECT_TRUE(Ack(consumer, notice.cursor()).ok());
      }
      if (absl::StartsWith(notice.user_id(), prefix)) seen.push_back(notice);
    }
    context.TryCancel();
    return seen;
  }
  grpc::Status Ack(const std::string& consumer, const std::string& cursor) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::AckNoticesRequest request;
    request.set_consumer(consumer);
    request.set_cursor(cursor);
    v1::AckNoticesResponse response;
    return notices_->Ack(&context, request, &response);
  }
  grpc::Status List(const std::string& user, v1::ListMandatesResponse* response) {
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
    v1::ListMandatesRequest request;
    request.set_user_id(user);
    request.set_include_revoked(true);
    return mandates_->ListMandates(&context, request, response);
  }

 private:
  int port_;
  int admin_port_;
  pid_t pid_ = -1;
  bool serving_ = false;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::RiskEngine::Stub> risk_;
  std::unique_ptr<v1::Mandates::Stub> mandates_;
  std::unique_ptr<v1::Users::Stub> users_;
  std::unique_ptr<v1::Notices::Stub> notices_;
};

v1::AuthorizeRequest Charge(const std::string& txn, const std::string& user, int64_t amount_minor,
                            int64_t time_ms) {
  v1::AuthorizeRequest request;
  request.set_transaction_id(txn);
  request.set_user_id(user);
  request.set_merchant_id("shop");
  request.set_amount_minor(amount_minor);
  request.set_currency("CNY");
  request.set_channel(v1::QR_CODE);
  request.set_event_time_ms(time_ms);
  return request;
}

std::string Codes(const v1::AuthorizeResponse& response) {
  std::vector<std::string> codes;
  for (const v1::Reason& reason : response.reasons()) codes.push_back(reason.code());
  return absl::StrJoin(codes, ",");
}

class ClusterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NE(TheCluster(), nullptr) << "the local cluster did not start (tools/cluster.sh)";
    prefix_ = absl::StrCat(::testing::UnitTest::GetInstance()->current_test_info()->name(), "-",
                           getpid(), "-");
  }
  std::string Id(absl::string_view name) const { return absl::StrCat(prefix_, name); }
  std::string prefix_;
};

TEST_F(ClusterTest, TwoHundredChargesOfOneUserOnTwoNodesApproveExactlyWhatTheCapAllows) {
  Node a, b;
  ASSERT_TRUE(a.serving() && b.serving());
  const std::string user = Id("u");
  v1::Mandate mandate;
  ASSERT_TRUE(a.Grant(user, &mandate).ok());
  // 300 CNY each against the 2,000 CNY daily cap: six fit.
  constexpr int kCharges = 200;
  constexpr int kThreads = 20;
  std::atomic<int> next{0}, approved{0}, failed{0};
  std::mutex mu;
  std::string failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      Node& node = t % 2 == 0 ? a : b;
      for (int i = next++; i < kCharges; i = next++) {
        v1::AuthorizeResponse response;
        const grpc::Status status =
            node.Authorize(Charge(Id(absl::StrCat("t", i)), user, 30000, kMorning), &response);
        if (!status.ok()) {
          failed.fetch_add(1);
          std::lock_guard<std::mutex> lock(mu);
          failure = status.error_message();
        } else if (response.decision() == v1::APPROVE) {
          approved.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  EXPECT_EQ(failed.load(), 0) << failure;
  EXPECT_EQ(approved.load(), 6);
  // The usage is their sum: two hours later (the burst of attempts out of the hourly window),
  // the 200 CNY left fit exactly, and not a fen more.
  v1::AuthorizeResponse rest, more;
  ASSERT_TRUE(b.Authorize(Charge(Id("rest"), user, 20000, kMorning + 2 * kHour), &rest).ok());
  EXPECT_EQ(rest.decision(), v1::APPROVE) << Codes(rest);
  ASSERT_TRUE(a.Authorize(Charge(Id("more"), user, 1, kMorning + 2 * kHour), &more).ok());
  EXPECT_EQ(Codes(more), "DAILY_LIMIT");
}

TEST_F(ClusterTest, NoChargeThatStartsAfterARevocationIsAcknowledgedApprovesOnEitherNode) {
  Node a, b;
  ASSERT_TRUE(a.serving() && b.serving());
  const std::string user = Id("u");
  v1::Mandate mandate;
  ASSERT_TRUE(a.Grant(user, &mandate).ok());
  // Charges every ten (charge) minutes from both nodes, few enough for every velocity limit.
  struct Result {
    SteadyClock::time_point started;
    v1::Decision decision;
  };
  std::mutex mu;
  std::vector<Result> results;
  std::atomic<int> next{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (Node* node : {&a, &b}) {
    threads.emplace_back([&, node] {
      while (!stop.load()) {
        const int i = next++;
        if (i >= 40) return;
        const SteadyClock::time_point started = SteadyClock::now();
        v1::AuthorizeResponse response;
        if (!node->Authorize(
                     Charge(Id(absl::StrCat("t", i)), user, 1000, kMorning + i * 10 * kMinute),
                     &response)
                 .ok()) {
          continue;
        }
        std::lock_guard<std::mutex> lock(mu);
        results.push_back({started, response.decision()});
      }
    });
  }
  while (next.load() < 10) absl::SleepFor(absl::Milliseconds(1));
  ASSERT_TRUE(a.Revoke(user, mandate.mandate_id()).ok());
  const SteadyClock::time_point acknowledged = SteadyClock::now();
  for (std::thread& thread : threads) thread.join();
  int before = 0, after = 0;
  for (const Result& result : results) {
    if (result.started <= acknowledged) {
      before += result.decision == v1::APPROVE;
      continue;
    }
    ++after;
    EXPECT_NE(result.decision, v1::APPROVE) << "a charge started after the revocation";
  }
  EXPECT_GT(before, 0) << "charges were approved before it (else this shows nothing)";
  EXPECT_GT(after, 0) << "and charges started after it";
}

TEST_F(ClusterTest, ARetryOnTheOtherNodeGetsTheFirstAnswer) {
  Node a, b;
  ASSERT_TRUE(a.serving() && b.serving());
  const std::string user = Id("u");
  v1::Mandate mandate;
  ASSERT_TRUE(a.Grant(user, &mandate).ok());
  v1::AuthorizeResponse first, retry;
  ASSERT_TRUE(a.Authorize(Charge(Id("t"), user, 5000, kMorning), &first).ok());
  ASSERT_TRUE(b.Authorize(Charge(Id("t"), user, 5000, kMorning), &retry).ok());
  EXPECT_EQ(retry.SerializeAsString(), first.SerializeAsString());
  EXPECT_EQ(b.Authorize(Charge(Id("t"), user, 5001, kMorning), &retry).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
  // An id B has never seen, already another user's: B learns it from its claim of the id.
  ASSERT_TRUE(a.Authorize(Charge(Id("t2"), user, 5000, kMorning), &first).ok());
  EXPECT_EQ(b.Authorize(Charge(Id("t2"), Id("v"), 5000, kMorning), &retry).error_code(),
            grpc::StatusCode::ALREADY_EXISTS);
}

TEST_F(ClusterTest, AChargeOfAUserTheNodeHoldsIsOneRoundTripToRedis) {
  Node a;
  ASSERT_TRUE(a.serving());
  const std::string user = Id("u");
  v1::Mandate mandate;
  ASSERT_TRUE(a.Grant(user, &mandate).ok());
  v1::AuthorizeResponse response;
  ASSERT_TRUE(a.Authorize(Charge(Id("warm"), user, 100, kMorning), &response).ok());
  const double before = a.Counter("vigil_redis_round_trips_total");
  ASSERT_GE(before, 2) << "the grant and the first charge went to Redis";
  constexpr int kCharges = 20;
  for (int i = 0; i < kCharges; ++i) {
    // Ten minutes apart, within the rules' velocity limits.
    const int64_t time_ms = kMorning + (i + 1) * 10 * kMinute;
    ASSERT_TRUE(a.Authorize(Charge(Id(absl::StrCat("t", i)), user, 100, time_ms), &response).ok());
    EXPECT_EQ(response.decision(), v1::APPROVE) << Codes(response);
  }
  // Each charge waited for its commit; the claim of its id was under way meanwhile.
  EXPECT_EQ(a.Counter("vigil_redis_round_trips_total") - before, kCharges);
  EXPECT_EQ(a.Counter("vigil_redis_conflicts_total"), 0) << "one node alone never conflicts";
}

TEST_F(ClusterTest, WhatAKilledNodeAcknowledgedIsAllOnTheOther) {
  Node a;
  auto b = std::make_unique<Node>();
  ASSERT_TRUE(a.serving() && b->serving());
  // On B, user after user: told of every charge, a grant, two 1,000 CNY charges, the first one
  // FAILED; every other user's mandate revoked. Each step recorded once acknowledged.
  struct Acknowledged {
    bool revoked_later = false;  // every other user's mandate is revoked after the outcome
    std::string mandate_id;
    std::string second_decision_id;
    std::vector<std::string> approved;  // transaction ids
    bool outcome = false;
    bool revoked = false;
  };
  std::mutex mu;
  std::map<std::string, Acknowledged> users;
  std::atomic<bool> killed{false};
  std::thread load([&] {
    for (int u = 0; !killed.load(); ++u) {
      const std::string user = Id(absl::StrCat("u", u));
      if (!b->Tell(user).ok()) return;
      v1::Mandate mandate;
      if (!b->Grant(user, &mandate).ok()) return;
      {
        std::lock_guard<std::mutex> lock(mu);
        users[user].mandate_id = mandate.mandate_id();
        users[user].revoked_later = u % 2 == 1;
      }
      v1::AuthorizeResponse first, second;
      if (!b->Authorize(Charge(user + "-t1", user, 100000, kMorning), &first).ok()) return;
      if (!b->Authorize(Charge(user + "-t2", user, 100000, kMorning), &second).ok()) return;
      {
        std::lock_guard<std::mutex> lock(mu);
        users[user].second_decision_id = second.decision_id();
        for (const v1::AuthorizeResponse* answer : {&first, &second}) {
          if (answer->decision() == v1::APPROVE) {
            users[user].approved.push_back(answer == &first ? user + "-t1" : user + "-t2");
          }
        }
      }
      if (!b->Report(user + "-t1", v1::FAILED).ok()) return;
      {
        std::lock_guard<std::mutex> lock(mu);
        users[user].outcome = true;
      }
      if (u % 2 == 1) {
        if (!b->Revoke(user, mandate.mandate_id()).ok()) return;
        std::lock_guard<std::mutex> lock(mu);
        users[user].revoked = true;
      }
    }
  });
  absl::SleepFor(absl::Milliseconds(1500));
  killed = true;
  b->Kill();
  load.join();
  // B may have died before relaying the notices of its last commits into the stream that
  // consumers read: they wait in their users' slots, and a node that starts relays them.
  Node restarted;
  ASSERT_TRUE(restarted.serving());

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GT(users.size(), 5u) << "the load did little before the kill";
  // What each user must have been told: a notice of every acknowledged grant, approval and
  // revocation, watched on A.
  std::set<std::string> expected;
  for (const auto& [user, acknowledged] : users) {
    expected.insert(absl::StrCat("MANDATE_GRANTED ", acknowledged.mandate_id));
    for (const std::string& txn : acknowledged.approved) {
      expected.insert(absl::StrCat("CHARGE_APPROVED ", txn));
    }
    if (acknowledged.revoked)
      expected.insert(absl::StrCat("MANDATE_REVOKED ", acknowledged.mandate_id));
  }
  auto told = [](const v1::Notice& notice) {
    return absl::StrCat(
        v1::NoticeKind_Name(notice.kind()), " ",
        notice.kind() == v1::CHARGE_APPROVED ? notice.transaction_id() : notice.mandate_id());
  };
  auto all_told = [&](const std::vector<v1::Notice>& seen) {
    std::set<std::string> got;
    for (const v1::Notice& notice : seen) got.insert(told(notice));
    return std::includes(got.begin(), got.end(), expected.begin(), expected.end());
  };
  std::vector<v1::Notice> seen =
      a.Watch(Id("app"), prefix_, all_told, absl::Seconds(30), /*ack=*/false);
  std::set<std::string> got;
  for (const v1::Notice& notice : seen) got.insert(told(notice));
  for (const std::string& notice : expected) {
    EXPECT_TRUE(got.contains(notice)) << "no notice of an acknowledged " << notice;
  }
  for (const auto& [user, acknowledged] : users) {
    v1::ListMandatesResponse listed;
    ASSERT_TRUE(a.List(user, &listed).ok());
    ASSERT_EQ(listed.mandates_size(), 1) << user << ": an acknowledged grant is there";
    // (A revocation the kill cut off before its answer may or may not have happened.)
    if (acknowledged.revoked) {
      EXPECT_EQ(listed.mandates(0).status(), v1::REVOKED) << user;
    }
    if (!acknowledged.second_decision_id.empty()) {
      v1::AuthorizeResponse retry;
      ASSERT_TRUE(a.Authorize(Charge(user + "-t2", user, 100000, kMorning), &retry).ok());
      EXPECT_EQ(retry.decision_id(), acknowledged.second_decision_id) << user;
    }
    if (acknowledged.outcome && !acknowledged.revoked_later) {
      // FAILED gave 1,000 CNY back: one more fits the cap.
      v1::AuthorizeResponse third;
      ASSERT_TRUE(a.Authorize(Charge(user + "-t3", user, 100000, kMorning), &third).ok());
      EXPECT_EQ(third.decision(), v1::APPROVE) << user << " " << Codes(third);
    }
  }
}

TEST_F(ClusterTest, EitherNodesNoticesAreWatchedOnEitherAndAnAckHoldsOnBoth) {
  Node a, b;
  ASSERT_TRUE(a.serving() && b.serving());
  const std::string user = Id("u");
  v1::Mandate first, second;
  ASSERT_TRUE(a.Grant(user, &first).ok());
  ASSERT_TRUE(b.Grant(user, &second).ok());
  auto count = [](size_t n) {
    return [n](const std::vector<v1::Notice>& seen) { return seen.size() >= n; };
  };
  // Watched on B, acked one by one: both grants, in the order they were made.
  std::vector<v1::Notice> seen = b.Watch(Id("app"), prefix_, count(2), absl::Seconds(20), true);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].kind(), v1::MANDATE_GRANTED);
  EXPECT_EQ(seen[0].mandate_id(), first.mandate_id());
  EXPECT_EQ(seen[1].mandate_id(), second.mandate_id());
  // The same consumer on A resumes after its ack: only what came since.
  ASSERT_TRUE(b.Revoke(user, first.mandate_id()).ok());
  seen = a.Watch(Id("app"), prefix_, count(1), absl::Seconds(20), false);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind(), v1::MANDATE_REVOKED);
  EXPECT_EQ(seen[0].mandate_id(), first.mandate_id());
  // Not acked: it comes again, on either node.
  seen = b.Watch(Id("app"), prefix_, count(1), absl::Seconds(20), false);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind(), v1::MANDATE_REVOKED);
}

// The index of the node that is the primary for `key`, by the cluster's own answers.
int PrimaryIndexOf(const std::string& key) {
  const int slot = std::stoi(TheCluster()->Cli(0, absl::StrCat("CLUSTER KEYSLOT ", key)));
  const std::string address = TheCluster()->PrimaryOf(slot).address;
  return address.empty() ? -1 : TheCluster()->IndexOf(address);
}

TEST_F(ClusterTest, AKilledRedisPrimaryNeverLetsApprovalsExceedTheCap) {
  // Acknowledged only once a replica has the change: what a failover may lose is then never
  // acknowledged (README, "Several nodes").
  Node a(/*wait_replicas=*/1), b(/*wait_replicas=*/1);
  ASSERT_TRUE(a.serving() && b.serving());
  const std::string user = Id("u");
  v1::Mandate mandate;
  ASSERT_TRUE(a.Grant(user, &mandate).ok());
  const int primary = PrimaryIndexOf(absl::StrCat("{u:", user, "}"));
  ASSERT_GE(primary, 0);

  // 100 CNY charges, an hour apart, from both nodes: the 2,000 CNY cap admits twenty.
  std::atomic<int> next{0}, approved{0}, unavailable{0};
  std::vector<std::thread> threads;
  for (Node* node : {&a, &b}) {
    threads.emplace_back([&, node] {
      for (int i = next++; i < 200; i = next++) {
        v1::AuthorizeResponse response;
        const grpc::Status status = node->Authorize(
            Charge(Id(absl::StrCat("t", i)), user, 10000, kMorning + (i % 12) * kHour / 2),
            &response);
        if (!status.ok()) {
          unavailable.fetch_add(1);
          absl::SleepFor(absl::Milliseconds(20));
        } else if (response.decision() == v1::APPROVE) {
          approved.fetch_add(1);
        }
      }
    });
  }
  while (next.load() < 20) absl::SleepFor(absl::Milliseconds(1));
  const std::string killed_pid = TheCluster()->Cli(primary, "INFO server");
  ASSERT_NE(killed_pid.find("process_id:"), std::string::npos);
  const int pid = std::stoi(killed_pid.substr(killed_pid.find("process_id:") + 11));
  kill(pid, SIGKILL);
  // Its replica takes over (cluster-node-timeout 2 s); the killed node, restarted, rejoins as
  // its replica, so that commits can be confirmed by a replica again.
  absl::SleepFor(absl::Seconds(4));
  ASSERT_TRUE(TheCluster()->Restart(primary));
  for (std::thread& thread : threads) thread.join();
  EXPECT_LE(approved.load(), 20) << "never more than the cap admits";
  EXPECT_GT(unavailable.load(), 0) << "calls during the failover were refused, not approved";
}

}  // namespace
}  // namespace vigil
