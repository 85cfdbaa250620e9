// vigil-bench: loads a running vigild (or vigil-baseline) over gRPC the way a payment gateway
// does, and reports throughput and latency honestly.
//
//   vigil-bench --target 127.0.0.1:50051 --mode closed --concurrency 64 --duration-s 10
//   vigil-bench --target 127.0.0.1:50051 --mode open --rate 5000 --duration-s 10 --json
//
// Closed loop keeps --concurrency calls in flight over --channels channels, to find the highest
// rate. Open loop sends at a fixed --rate and measures each call's latency from the moment it
// was meant to be sent, so a stalled server cannot hide its queue (no coordinated omission).
//
// The traffic is a gateway's: users drawn with a Zipf popularity (--zipf); a share of them
// elderly (--elderly-share, their profiles say so), a share told of every approved charge
// (--notify-share: a notice in vigild's outbox each); a share of the operations granting or
// revoking a merchant mandate instead of charging (--mandate-ops-share); and every
// --attack-every charges, an attack burst: one user charged --attack-charges times in a row, as
// a stolen account is. The sequence of users and operations is seeded (--seed), so runs repeat.
// Before the run it gives each user a profile and a general mandate through the API (--setup,
// on by default; off for vigil-baseline, which only answers Authorize). A progress line prints
// every second; at the end a table for people, or JSON with --json.
#include <sys/prctl.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/mutex.h"
#include "engine/net/client_flags.h"
#include "engine/server/arena_messages.h"
#include "engine/server/dashed_flags.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "vigil/v1/vigil.grpc.pb.h"

ABSL_FLAG(std::string, target, "127.0.0.1:50051",
          "vigild (or vigil-baseline) address; several, comma-separated, share the channels "
          "between them (vigild nodes on one Redis Cluster)");
ABSL_FLAG(std::string, mode, "closed", "closed (calls in flight) or open (fixed rate)");
ABSL_FLAG(int, concurrency, 64, "closed loop: calls in flight");
ABSL_FLAG(int, rate, 1000, "open loop: calls per second");
ABSL_FLAG(int, channels, 4, "gRPC channels (connections) to spread calls over");
ABSL_FLAG(double, duration_s, 10, "measured seconds");
ABSL_FLAG(double, warmup_s, 2, "seconds of load before measuring");
ABSL_FLAG(int, users, 10000, "distinct users");
ABSL_FLAG(std::string, user_prefix, "bench-user-", "user ids are this and a number");
ABSL_FLAG(double, zipf, 1.1, "Zipf exponent of user popularity (0 = uniform)");
ABSL_FLAG(double, elderly_share, 0.1, "share of users whose profile makes them elderly");
ABSL_FLAG(double, notify_share, 0.0,
          "share of users whose profile asks to be told of every approved charge (a notice in "
          "vigild's outbox for each)");
ABSL_FLAG(double, mandate_ops_share, 0.0,
          "share of operations that grant or revoke a merchant mandate instead of charging");
ABSL_FLAG(int, attack_every, 0, "start an attack burst every this many operations (0: no attacks)");
ABSL_FLAG(int, attack_charges, 200, "charges in one attack burst, all for one user");
ABSL_FLAG(uint64_t, seed, 1, "random seed");
ABSL_FLAG(bool, setup, true, "give every user a profile and a general mandate first");
ABSL_FLAG(bool, json, false, "print the result as JSON");
ABSL_FLAG(bool, progress, true, "print a progress line every second (to stderr)");
ABSL_FLAG(int, deadline_ms, 5000, "deadline of each call; answers within it count in the goodput");
ABSL_FLAG(int, revoke_all_every_ms, 0,
          "also, on a connection of its own, grant a probe user a mandate and time its "
          "RevokeAllMandates, every this many ms (0: off): the one-click cancel under load");

namespace {

namespace v1 = vigil::v1;
using Clock = std::chrono::steady_clock;

// Draws user indices with P(rank k) proportional to 1 / k^s.
class Zipf {
 public:
  Zipf(int n, double s) : cdf_(n) {
    double total = 0;
    for (int k = 0; k < n; ++k) cdf_[k] = total += 1.0 / std::pow(k + 1, s);
    for (double& c : cdf_) c /= total;
  }
  int Draw(std::mt19937_64& random) const {
    const double u = std::uniform_real_distribution<double>(0, 1)(random);
    return static_cast<int>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }

 private:
  std::vector<double> cdf_;
};

// When the bench users consented to their general mandates: 2026-01-01T00:00:00Z.
constexpr int64_t kSetupConsentMs = 1'767'225'600'000;

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string UserId(int i) { return absl::StrCat(absl::GetFlag(FLAGS_user_prefix), i); }

// Whether user `i` is one of a share of the users (the elderly, those told of every charge):
// spread evenly over popularity ranks, so the share holds among the popular users as among the
// rest.
bool InShare(int i, double share) { return std::floor((i + 1) * share) > std::floor(i * share); }

// What one operation of the traffic is.
enum class Kind { kCharge, kAttackCharge, kGrant, kRevoke };

struct Latencies {
  std::vector<double> us;

  // Sorts once; then At() reads quantiles.
  Latencies& Sorted() {
    std::sort(us.begin(), us.end());
    return *this;
  }
  // The q-quantile in ms. REQUIRES: Sorted() since the last change.
  double At(double q) const {
    return us.empty() ? 0 : us[static_cast<size_t>(q * (us.size() - 1))] / 1000;
  }
};

// What the calls did, in the measured interval.
class Recorder {
 public:
  void Record(Kind kind, Clock::time_point intended, Clock::time_point done,
              const grpc::Status& status, v1::Decision decision) {
    const double us = std::chrono::duration<double, std::micro>(done - intended).count();
    const bool authorize = kind == Kind::kCharge || kind == Kind::kAttackCharge;
    const bool in_time = us <= absl::GetFlag(FLAGS_deadline_ms) * 1000.0;
    absl::MutexLock lock(&mu_);
    // The progress line shows the warm-up too; the summary only the measured interval.
    if (authorize && status.ok()) window_.push_back(us);
    if (done < measure_from_ || done >= measure_until_) return;
    if (!status.ok()) {
      errors_[status.error_code()] += 1;
      first_errors_.emplace(status.error_code(), status.error_message());
      return;
    }
    switch (kind) {
      case Kind::kCharge:
        decisions_[decision] += 1;
        break;
      case Kind::kAttackCharge:
        attack_decisions_[decision] += 1;
        break;
      case Kind::kGrant:
      case Kind::kRevoke:
        mandate_ops_.us.push_back(us);
        return;
    }
    // Every Authorize, attack or not, counts in the headline latency: it is the same call.
    authorize_.us.push_back(us);
    if (in_time) ++in_time_;
    so_far_[std::min(static_cast<size_t>(us / kBucketUs), so_far_.size() - 1)] += 1;
  }
  void SetInterval(Clock::time_point from, Clock::time_point until) {
    absl::MutexLock lock(&mu_);
    measure_from_ = from;
    measure_until_ = until;
  }
  // The p99 of the measured Authorize calls so far, in ms (to 10 µs; 0 before any).
  double P99SoFar() {
    absl::MutexLock lock(&mu_);
    uint64_t total = 0;
    for (uint64_t count : so_far_) total += count;
    uint64_t seen = 0;
    for (size_t i = 0; i < so_far_.size(); ++i) {
      seen += so_far_[i];
      if (total > 0 && seen >= total * 99 / 100 + (total * 99 % 100 != 0)) {
        return (i + 1) * kBucketUs / 1000.0;
      }
    }
    return 0;
  }
  // The p99 of the Authorize calls completed since the last call, and their count.
  std::pair<double, size_t> TakeWindow() {
    absl::MutexLock lock(&mu_);
    Latencies window;
    window.us.swap(window_);
    return {window.Sorted().At(0.99), window.us.size()};
  }
  // A RevokeAllMandates of the probe, answered after `us`.
  void RecordRevokeAll(Clock::time_point done, double us, bool ok) {
    absl::MutexLock lock(&mu_);
    if (done < measure_from_ || done >= measure_until_) return;
    if (ok) {
      revoke_all_.us.push_back(us);
    } else {
      ++revoke_all_errors_;
    }
  }
  int64_t Errors() {
    absl::MutexLock lock(&mu_);
    int64_t total = 0;
    for (const auto& [code, count] : errors_) total += count;
    return total;
  }

  struct Summary {
    size_t calls = 0;
    double p50_ms = 0, p90_ms = 0, p99_ms = 0, p999_ms = 0, max_ms = 0;
    std::map<int, int64_t> errors;
    std::map<int, std::string> first_errors;  // the first message of each code
    std::map<int, int64_t> decisions;         // ordinary charges
    std::map<int, int64_t> attack_decisions;  // charges in attack bursts
    size_t mandate_ops = 0;
    double mandate_p50_ms = 0, mandate_p99_ms = 0;
    size_t in_time = 0;  // Authorize answers within the deadline
    size_t revoke_all = 0, revoke_all_errors = 0;
    double revoke_all_p50_ms = 0, revoke_all_p99_ms = 0, revoke_all_max_ms = 0;
  };
  Summary Summarize() {
    absl::MutexLock lock(&mu_);
    Summary summary;
    summary.calls = authorize_.us.size();
    authorize_.Sorted();
    mandate_ops_.Sorted();
    summary.p50_ms = authorize_.At(0.5);
    summary.p90_ms = authorize_.At(0.9);
    summary.p99_ms = authorize_.At(0.99);
    summary.p999_ms = authorize_.At(0.999);
    summary.max_ms = authorize_.At(1.0);
    summary.errors = errors_;
    summary.first_errors = first_errors_;
    summary.decisions = decisions_;
    summary.attack_decisions = attack_decisions_;
    summary.mandate_ops = mandate_ops_.us.size();
    summary.mandate_p50_ms = mandate_ops_.At(0.5);
    summary.mandate_p99_ms = mandate_ops_.At(0.99);
    summary.in_time = in_time_;
    revoke_all_.Sorted();
    summary.revoke_all = revoke_all_.us.size();
    summary.revoke_all_errors = revoke_all_errors_;
    summary.revoke_all_p50_ms = revoke_all_.At(0.5);
    summary.revoke_all_p99_ms = revoke_all_.At(0.99);
    summary.revoke_all_max_ms = revoke_all_.At(1.0);
    return summary;
  }

 private:
  absl::Mutex mu_;
  Clock::time_point measure_from_ ABSL_GUARDED_BY(mu_) = Clock::time_point::max();
  Clock::time_point measure_until_ ABSL_GUARDED_BY(mu_) = Clock::time_point::max();
  Latencies authorize_ ABSL_GUARDED_BY(mu_);
  Latencies mandate_ops_ ABSL_GUARDED_BY(mu_);
  Latencies revoke_all_ ABSL_GUARDED_BY(mu_);
  size_t revoke_all_errors_ ABSL_GUARDED_BY(mu_) = 0;
  size_t in_time_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<double> window_ ABSL_GUARDED_BY(mu_);
  // Measured Authorize latencies in 10 µs buckets up to 1 s, for the progress line: cheap to
  // keep, cheap to read every second.
  static constexpr double kBucketUs = 10;
  std::vector<uint64_t> so_far_ ABSL_GUARDED_BY(mu_) = std::vector<uint64_t>(100'000);
  std::map<int, int64_t> errors_ ABSL_GUARDED_BY(mu_);
  std::map<int, std::string> first_errors_ ABSL_GUARDED_BY(mu_);
  std::map<int, int64_t> decisions_ ABSL_GUARDED_BY(mu_);
  std::map<int, int64_t> attack_decisions_ ABSL_GUARDED_BY(mu_);
};

// The seeded sequence of operations: which user, doing what.
class Traffic {
 public:
  struct Op {
    Kind kind = Kind::kCharge;
    int user = 0;
    std::string mandate_id;  // kRevoke: the merchant mandate to revoke
  };

  Traffic()
      : zipf_(absl::GetFlag(FLAGS_users), absl::GetFlag(FLAGS_zipf)),
        mandates_(absl::GetFlag(FLAGS_users)) {}

  Op Next() {
    absl::MutexLock lock(&mu_);
    ++drawn_;
    const int attack_every = absl::GetFlag(FLAGS_attack_every);
    if (attack_every > 0 && drawn_ % attack_every == 0) {
      attack_left_ = absl::GetFlag(FLAGS_attack_charges);
      attack_user_ = std::uniform_int_distribution<int>(0, absl::GetFlag(FLAGS_users) - 1)(random_);
    }
    if (attack_left_ > 0) {
      --attack_left_;
      return Op{Kind::kAttackCharge, attack_user_, {}};
    }
    const int user = zipf_.Draw(random_);
    if (std::uniform_real_distribution<double>(0, 1)(random_) <
        absl::GetFlag(FLAGS_mandate_ops_share)) {
      // Revoke the user's merchant mandate if a grant has come back, else grant one.
      std::string& granted = mandates_[user];
      if (!granted.empty()) return Op{Kind::kRevoke, user, std::exchange(granted, {})};
      return Op{Kind::kGrant, user, {}};
    }
    return Op{Kind::kCharge, user, {}};
  }

  void Granted(int user, std::string mandate_id) {
    absl::MutexLock lock(&mu_);
    mandates_[user] = std::move(mandate_id);
  }

 private:
  absl::Mutex mu_;
  Zipf zipf_;
  std::mt19937_64 random_ ABSL_GUARDED_BY(mu_){absl::GetFlag(FLAGS_seed)};
  uint64_t drawn_ ABSL_GUARDED_BY(mu_) = 0;
  int attack_left_ ABSL_GUARDED_BY(mu_) = 0;
  int attack_user_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<std::string> mandates_ ABSL_GUARDED_BY(mu_);  // user -> granted merchant mandate
};

// The addresses of --target; channel i goes to the (i mod n)th.
std::vector<std::string> Targets() {
  return absl::StrSplit(absl::GetFlag(FLAGS_target), ',', absl::SkipEmpty());
}

class Load {
 public:
  explicit Load(std::shared_ptr<grpc::ChannelCredentials> credentials)
      : credentials_(std::move(credentials)), targets_(Targets()) {
    const size_t channels =
        std::max<size_t>(targets_.size(), std::max(1, absl::GetFlag(FLAGS_channels)));
    for (size_t i = 0; i < channels; ++i) {
      // A channel argument that differs per channel keeps gRPC from sharing one connection.
      grpc::ChannelArguments arguments;
      arguments.SetInt("vigil.bench.channel", static_cast<int>(i));
      auto channel =
          grpc::CreateCustomChannel(targets_[i % targets_.size()], credentials_, arguments);
      risk_.push_back(v1::RiskEngine::NewStub(channel));
      mandates_.push_back(v1::Mandates::NewStub(channel));
    }
  }

  // A set-up call waits for its connection rather than fail on a transient connect error (it is
  // not measured, and repeating it changes nothing), but not for ever.
  static void SetUpCall(grpc::ClientContext& context) {
    context.set_wait_for_ready(true);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(10));
  }

  // Gives every user a profile (elderly for --elderly-share of them) and a general mandate,
  // from a few threads at once. The first error the server returns, if any.
  absl::Status Setup() {
    const int users = absl::GetFlag(FLAGS_users);
    const double elderly_share = absl::GetFlag(FLAGS_elderly_share);
    const double notify_share = absl::GetFlag(FLAGS_notify_share);
    std::atomic<int> next{0};
    absl::Mutex mu;
    absl::Status first_error;
    auto work = [&](size_t stub) {
      auto profiles =
          v1::Users::NewStub(grpc::CreateChannel(targets_[stub % targets_.size()], credentials_));
      for (int i = next++; i < users; i = next++) {
        v1::UserProfile profile;
        profile.set_user_id(UserId(i));
        profile.set_birth_date(InShare(i, elderly_share) ? "1948-03-01" : "1990-06-15");
        profile.set_risk_assessment_completed(true);  // without it, no elderly grant
        profile.set_notify_every_transaction(InShare(i, notify_share));
        v1::UserProfile stored;
        grpc::ClientContext profile_context;
        SetUpCall(profile_context);
        grpc::Status status = profiles->PutUserProfile(&profile_context, profile, &stored);
        if (status.ok()) {
          v1::GrantMandateRequest grant;
          grant.set_request_id(absl::StrCat("grant-", UserId(i)));
          grant.set_user_id(UserId(i));
          grant.set_merchant_id("*");
          grant.mutable_consent()->set_explicit_opt_in(true);
          grant.mutable_consent()->set_terms_version("bench");
          // A fixed time, so that another run's setup repeats this grant exactly (the same
          // request_id with other content would be ALREADY_EXISTS).
          grant.mutable_consent()->set_consented_at_ms(kSetupConsentMs);
          grpc::ClientContext grant_context;
          SetUpCall(grant_context);
          v1::Mandate mandate;
          status = mandates_[stub]->GrantMandate(&grant_context, grant, &mandate);
        }
        if (!status.ok()) {
          absl::MutexLock lock(&mu);
          first_error =
              absl::Status(static_cast<absl::StatusCode>(status.error_code()),
                           absl::StrCat("setting up ", UserId(i), ": ", status.error_message()));
          next = users;
        }
      }
    };
    std::vector<std::thread> threads;
    for (size_t t = 0; t < mandates_.size(); ++t) threads.emplace_back(work, t);
    for (std::thread& thread : threads) thread.join();
    return first_error;
  }

  // Sends the next operation of the traffic; `done` runs on completion.
  void Send(Clock::time_point intended, std::function<void()> done) {
    const uint64_t n = next_.fetch_add(1);
    Traffic::Op op = traffic_.Next();
    in_flight_.fetch_add(1);
    auto finish = [this, intended, done = std::move(done)](Kind kind, const grpc::Status& status,
                                                           v1::Decision decision) {
      recorder_.Record(kind, intended, Clock::now(), status, decision);
      in_flight_.fetch_sub(1);
      done();
    };
    const size_t stub = n % risk_.size();
    switch (op.kind) {
      case Kind::kCharge:
      case Kind::kAttackCharge:
        return Charge(stub, n, op, std::move(finish));
      case Kind::kGrant:
        return Grant(stub, n, op, std::move(finish));
      case Kind::kRevoke:
        return Revoke(stub, op, std::move(finish));
    }
  }

  void Closed(Clock::time_point until) {
    const int concurrency = std::max(1, absl::GetFlag(FLAGS_concurrency));
    std::function<void()> again;
    again = [this, until, &again] {
      if (Clock::now() < until) Send(Clock::now(), again);
    };
    for (int i = 0; i < concurrency; ++i) Send(Clock::now(), again);
    Wait(until);
  }

  // Sends at --rate from `start` until `until`. Calls are timed from when they were due, so a
  // server that falls behind cannot hide its queue; when the sender itself falls behind (the
  // client is the limit), SentLate() says by how much at worst.
  void Open(Clock::time_point start, Clock::time_point until, Clock::time_point measure_from) {
    // Wake when asked, not up to 50 µs later (Linux's default timer slack): at tens of
    // thousands of calls a second the sender would otherwise lag and send in bursts.
    prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
    const double rate = std::max(1, absl::GetFlag(FLAGS_rate));
    for (uint64_t i = 0;; ++i) {
      const Clock::time_point intended =
          start + std::chrono::nanoseconds(static_cast<int64_t>(i * 1e9 / rate));
      if (intended >= until) break;
      const Clock::time_point now = Clock::now();
      if (intended > now) {
        std::this_thread::sleep_until(intended);
      } else if (intended >= measure_from) {
        sent_late_ = std::max(sent_late_, now - intended);
      }
      Send(intended, [] {});
    }
    Wait(until);
  }
  // The longest a call of the measured interval was sent after it was due (open loop).
  double SentLateMs() const {
    return std::chrono::duration<double, std::milli>(sent_late_).count();
  }

  // Until `until`: every --revoke-all-every-ms, grants a probe user (one the traffic never
  // charges) a mandate and times the RevokeAllMandates that cancels it, on a connection of its
  // own, as a user's one-click cancel would arrive during a flood.
  void ProbeRevokeAll(Clock::time_point until) {
    grpc::ChannelArguments arguments;
    arguments.SetInt("vigil.bench.channel", -1);
    auto mandates =
        v1::Mandates::NewStub(grpc::CreateCustomChannel(targets_.front(), credentials_, arguments));
    const auto every = std::chrono::milliseconds(absl::GetFlag(FLAGS_revoke_all_every_ms));
    for (int i = 0; Clock::now() < until; ++i) {
      const std::string user = absl::StrCat("bench-probe-", run_, "-", i);
      v1::GrantMandateRequest grant;
      grant.set_request_id(absl::StrCat(user, "-grant"));
      grant.set_user_id(user);
      grant.set_merchant_id("bench-probe-shop");
      grant.mutable_consent()->set_explicit_opt_in(true);
      grant.mutable_consent()->set_terms_version("bench");
      grant.mutable_consent()->set_consented_at_ms(NowMs());
      grpc::ClientContext grant_context;
      grant_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(5));
      v1::Mandate granted;
      (void)mandates->GrantMandate(&grant_context, grant, &granted);
      v1::RevokeAllMandatesRequest revoke;
      revoke.set_user_id(user);
      revoke.set_reason("bench: one-click cancel during load");
      grpc::ClientContext context;
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
      v1::RevokeAllMandatesResponse revoked;
      const Clock::time_point sent = Clock::now();
      const grpc::Status status = mandates->RevokeAllMandates(&context, revoke, &revoked);
      const Clock::time_point done = Clock::now();
      recorder_.RecordRevokeAll(
          done, std::chrono::duration<double, std::micro>(done - sent).count(), status.ok());
      std::this_thread::sleep_until(sent + every);
    }
  }

  Recorder& recorder() { return recorder_; }
  int in_flight() const { return in_flight_.load(); }

 private:
  using Finish = std::function<void(Kind, const grpc::Status&, v1::Decision)>;

  // One call's messages on an arena whose first block is part of the call: the harness parses
  // vigild's answers (a decline carries a dozen strings) without a heap allocation per string,
  // so that its own cost per call depends as little as possible on the server it loads.
  template <typename Request, typename Response>
  struct Call : vigil::server::ArenaPair<Request, Response> {
    grpc::ClientContext context;

    Call() {
      context.set_deadline(std::chrono::system_clock::now() +
                           std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)));
    }
  };

  void Charge(size_t stub, uint64_t n, const Traffic::Op& op, Finish finish) {
    auto* call = new Call<v1::AuthorizeRequest, v1::AuthorizeResponse>;
    call->request.set_transaction_id(absl::StrCat("bench-", run_, "-", n));
    call->request.set_user_id(UserId(op.user));
    call->request.set_merchant_id("bench-merchant");
    call->request.set_amount_minor(1000 + static_cast<int64_t>(n % 5000));
    call->request.set_currency("CNY");
    call->request.set_channel(v1::QR_CODE);
    call->request.set_device_id(absl::StrCat("bench-device-", op.user));
    risk_[stub]->async()->Authorize(
        &call->context, &call->request, &call->response,
        [call, kind = op.kind, finish = std::move(finish)](grpc::Status status) {
          finish(kind, status, call->response.decision());
          delete call;
        });
  }

  void Grant(size_t stub, uint64_t n, const Traffic::Op& op, Finish finish) {
    auto* call = new Call<v1::GrantMandateRequest, v1::Mandate>;
    call->request.set_request_id(absl::StrCat("bench-", run_, "-grant-", n));
    call->request.set_user_id(UserId(op.user));
    call->request.set_merchant_id(absl::StrCat("bench-shop-", n % 97));
    call->request.mutable_consent()->set_explicit_opt_in(true);
    call->request.mutable_consent()->set_terms_version("bench");
    call->request.mutable_consent()->set_consented_at_ms(NowMs());
    mandates_[stub]->async()->GrantMandate(
        &call->context, &call->request, &call->response,
        [this, call, user = op.user, finish = std::move(finish)](grpc::Status status) {
          if (status.ok()) traffic_.Granted(user, call->response.mandate_id());
          finish(Kind::kGrant, status, v1::DECISION_UNSPECIFIED);
          delete call;
        });
  }

  void Revoke(size_t stub, const Traffic::Op& op, Finish finish) {
    auto* call = new Call<v1::RevokeMandateRequest, v1::Mandate>;
    call->request.set_mandate_id(op.mandate_id);
    call->request.set_user_id(UserId(op.user));
    call->request.set_reason("bench: user cancelled");
    mandates_[stub]->async()->RevokeMandate(
        &call->context, &call->request, &call->response,
        [call, finish = std::move(finish)](grpc::Status status) {
          finish(Kind::kRevoke, status, v1::DECISION_UNSPECIFIED);
          delete call;
        });
  }

  // Until `until`, then until the calls in flight are answered, but no longer than their
  // deadline (and a second): each call ends by its deadline whatever the server does, so the
  // run ends on time even against a server that has stopped answering.
  void Wait(Clock::time_point until) {
    std::this_thread::sleep_until(until);
    const Clock::time_point give_up = until +
                                      std::chrono::milliseconds(absl::GetFlag(FLAGS_deadline_ms)) +
                                      std::chrono::seconds(1);
    while (in_flight_.load() > 0 && Clock::now() < give_up) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  const std::shared_ptr<grpc::ChannelCredentials> credentials_;
  const std::vector<std::string> targets_;
  Traffic traffic_;
  std::vector<std::unique_ptr<v1::RiskEngine::Stub>> risk_;
  std::vector<std::unique_ptr<v1::Mandates::Stub>> mandates_;
  std::atomic<uint64_t> next_{0};
  std::atomic<int> in_flight_{0};
  Clock::duration sent_late_{0};  // written by the open loop's sender only
  const std::string run_ =
      absl::StrCat(std::chrono::system_clock::now().time_since_epoch().count());
  Recorder recorder_;
};

std::string CodeName(int code) {
  return absl::StatusCodeToString(static_cast<absl::StatusCode>(code));
}

std::string DecisionName(int decision) {
  return v1::Decision_Name(static_cast<v1::Decision>(decision));
}

// {"APPROVE": 10, ...} for --json; "APPROVE 90.0%  ..." for people.
std::string Mix(const std::map<int, int64_t>& decisions, bool json) {
  int64_t total = 0;
  for (const auto& [decision, count] : decisions) total += count;
  std::vector<std::string> parts;
  for (const auto& [decision, count] : decisions) {
    parts.push_back(
        json ? absl::StrCat("\"", DecisionName(decision), "\": ", count)
             : absl::StrFormat("%s %.1f%%", DecisionName(decision), 100.0 * count / total));
  }
  return json ? absl::StrCat("{", absl::StrJoin(parts, ", "), "}") : absl::StrJoin(parts, "  ");
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage("load-tests vigild over gRPC; see bench/vigil_bench.cc");
  vigil::AcceptDashedFlagNames(argc, argv);
  absl::ParseCommandLine(argc, argv);
  // vigil-bench shares the cores with the server it measures, so it spends as little CPU per
  // call as it can: the same allocator as the servers, and no deadlock detector (gRPC's and the
  // recorder's mutexes would update a process-wide lock graph on every lock).
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  const std::string mode = absl::GetFlag(FLAGS_mode);
  if (Targets().empty()) {
    std::fprintf(stderr, "vigil-bench: --target needs at least one HOST:PORT\n");
    return 2;
  }
  if (mode != "closed" && mode != "open") {
    std::fprintf(stderr, "vigil-bench: --mode is closed or open, not \"%s\"\n", mode.c_str());
    return 2;
  }
  if (absl::GetFlag(FLAGS_users) < 1 || absl::GetFlag(FLAGS_elderly_share) < 0 ||
      absl::GetFlag(FLAGS_elderly_share) > 1 || absl::GetFlag(FLAGS_notify_share) < 0 ||
      absl::GetFlag(FLAGS_notify_share) > 1 || absl::GetFlag(FLAGS_mandate_ops_share) < 0 ||
      absl::GetFlag(FLAGS_mandate_ops_share) > 1 || absl::GetFlag(FLAGS_attack_every) < 0 ||
      absl::GetFlag(FLAGS_attack_charges) < 1) {
    std::fprintf(stderr,
                 "vigil-bench: --users and --attack-charges must be at least 1, the shares "
                 "between 0 and 1, --attack-every 0 or more\n");
    return 2;
  }
  if (absl::GetFlag(FLAGS_deadline_ms) < 1 || absl::GetFlag(FLAGS_revoke_all_every_ms) < 0) {
    std::fprintf(stderr,
                 "vigil-bench: --deadline-ms must be at least 1, --revoke-all-every-ms "
                 "0 or more\n");
    return 2;
  }
  absl::StatusOr<std::shared_ptr<grpc::ChannelCredentials>> credentials =
      vigil::net::ChannelCredentialsFromFlags();
  if (!credentials.ok()) {
    std::fprintf(stderr, "vigil-bench: %s\n", std::string(credentials.status().message()).c_str());
    return 2;
  }
  const bool json = absl::GetFlag(FLAGS_json);
  Load load(*std::move(credentials));
  if (absl::GetFlag(FLAGS_setup)) {
    if (absl::GetFlag(FLAGS_progress)) {
      std::fprintf(stderr, "vigil-bench: setting up %d users\n", absl::GetFlag(FLAGS_users));
    }
    if (absl::Status status = load.Setup(); !status.ok()) {
      std::fprintf(stderr, "vigil-bench: setup failed: %s\n", status.ToString().c_str());
      return 1;
    }
  }
  const auto seconds = [](double s) {
    return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
  };
  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from = start + seconds(absl::GetFlag(FLAGS_warmup_s));
  const Clock::time_point until = measure_from + seconds(absl::GetFlag(FLAGS_duration_s));
  load.recorder().SetInterval(measure_from, until);

  std::atomic<bool> finished{false};
  std::thread progress([&] {
    while (!finished.load()) {
      std::this_thread::sleep_for(std::chrono::seconds(1));
      const auto [p99_ms, calls] = load.recorder().TakeWindow();
      if (!absl::GetFlag(FLAGS_progress) || finished.load()) continue;
      if (Clock::now() < measure_from) {
        std::fprintf(stderr, "vigil-bench: warm-up  %6zu calls/s  p99 %.2f ms (last second)\n",
                     calls, p99_ms);
      } else {
        std::fprintf(stderr,
                     "vigil-bench: measured %6zu calls/s  p99 so far %.2f ms  errors %lld\n", calls,
                     load.recorder().P99SoFar(), static_cast<long long>(load.recorder().Errors()));
      }
    }
  });
  std::thread probe;
  if (absl::GetFlag(FLAGS_revoke_all_every_ms) > 0) {
    probe = std::thread([&] { load.ProbeRevokeAll(until); });
  }
  if (mode == "closed") {
    load.Closed(until);
  } else {
    load.Open(start, until, measure_from);
  }
  finished = true;
  progress.join();
  if (probe.joinable()) probe.join();

  const Recorder::Summary summary = load.recorder().Summarize();
  const double rate = summary.calls / absl::GetFlag(FLAGS_duration_s);
  std::vector<std::string> errors;
  for (const auto& [code, count] : summary.errors) {
    errors.push_back(json ? absl::StrCat("\"", CodeName(code), "\": ", count)
                          : absl::StrCat(CodeName(code), " ", count));
  }
  const double goodput = summary.in_time / absl::GetFlag(FLAGS_duration_s);
  int64_t attack_charges = 0;
  for (const auto& [decision, count] : summary.attack_decisions) attack_charges += count;
  if (json) {
    std::printf(
        "{\"target\": \"%s\", \"mode\": \"%s\", \"concurrency\": %d, \"offered_rate\": %d, "
        "\"duration_s\": %.1f, \"users\": %d, \"elderly_share\": %.3f, \"calls\": %zu, "
        "\"rate\": %.1f, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, "
        "\"p999_ms\": %.3f, \"max_ms\": %.3f, \"errors\": {%s}, \"decisions\": %s, "
        "\"attack_decisions\": %s, \"mandate_ops\": %zu, \"mandate_ops_p50_ms\": %.3f, "
        "\"mandate_ops_p99_ms\": %.3f, \"deadline_ms\": %d, \"goodput\": %.1f, "
        "\"revoke_all\": %zu, \"revoke_all_errors\": %zu, \"revoke_all_p50_ms\": %.3f, "
        "\"revoke_all_p99_ms\": %.3f, \"revoke_all_max_ms\": %.3f, \"sent_late_ms\": %.1f}\n",
        absl::GetFlag(FLAGS_target).c_str(), mode.c_str(), absl::GetFlag(FLAGS_concurrency),
        absl::GetFlag(FLAGS_rate), absl::GetFlag(FLAGS_duration_s), absl::GetFlag(FLAGS_users),
        absl::GetFlag(FLAGS_elderly_share), summary.calls, rate, summary.p50_ms, summary.p90_ms,
        summary.p99_ms, summary.p999_ms, summary.max_ms, absl::StrJoin(errors, ", ").c_str(),
        Mix(summary.decisions, true).c_str(), Mix(summary.attack_decisions, true).c_str(),
        summary.mandate_ops, summary.mandate_p50_ms, summary.mandate_p99_ms,
        absl::GetFlag(FLAGS_deadline_ms), goodput, summary.revoke_all, summary.revoke_all_errors,
        summary.revoke_all_p50_ms, summary.revoke_all_p99_ms, summary.revoke_all_max_ms,
        load.SentLateMs());
  } else {
    std::printf("vigil-bench: %s loop against %s, %.1f s measured after %.1f s warm-up\n",
                mode.c_str(), absl::GetFlag(FLAGS_target).c_str(), absl::GetFlag(FLAGS_duration_s),
                absl::GetFlag(FLAGS_warmup_s));
    std::printf("  rate         %.0f Authorize calls/s (%zu calls)\n", rate, summary.calls);
    std::printf("  goodput      %.0f answers/s within the %d ms deadline\n", goodput,
                absl::GetFlag(FLAGS_deadline_ms));
    if (mode == "open" && load.SentLateMs() > 1) {
      std::printf(
          "  sender       fell behind by up to %.1f ms: the client, not only the server, "
          "limited this run\n",
          load.SentLateMs());
    }
    std::printf("  latency ms   p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
                summary.p50_ms, summary.p90_ms, summary.p99_ms, summary.p999_ms, summary.max_ms);
    std::printf("  errors       %s\n",
                errors.empty() ? "none" : absl::StrJoin(errors, ", ").c_str());
    std::printf("  decisions    %s\n", Mix(summary.decisions, false).c_str());
    if (attack_charges > 0) {
      std::printf("  attacks      %lld charges in bursts: %s\n",
                  static_cast<long long>(attack_charges),
                  Mix(summary.attack_decisions, false).c_str());
    }
    if (summary.mandate_ops > 0) {
      std::printf("  mandate ops  %zu grants and revocations, p50 %.3f ms  p99 %.3f ms\n",
                  summary.mandate_ops, summary.mandate_p50_ms, summary.mandate_p99_ms);
    }
  }
  if (summary.revoke_all + summary.revoke_all_errors > 0 && !json) {
    std::printf(
        "  revoke-all   %zu one-click cancels, p50 %.3f ms  p99 %.3f ms  max %.3f ms, "
        "%zu failed\n",
        summary.revoke_all, summary.revoke_all_p50_ms, summary.revoke_all_p99_ms,
        summary.revoke_all_max_ms, summary.revoke_all_errors);
  }
  for (const auto& [code, message] : summary.first_errors) {
    std::fprintf(stderr, "vigil-bench: the first %s said: %s\n", CodeName(code).c_str(),
                 message.c_str());
  }
  const int rc = summary.calls > 0 && summary.errors.empty() ? 0 : 1;
  if (load.in_flight() > 0) {
    // Calls that outlived their deadline by a second: gRPC has not ended them. Their callbacks
    // would run into objects being destroyed, so the process ends here, with its report out.
    std::fprintf(stderr, "vigil-bench: %d calls still in flight past their deadline\n",
                 load.in_flight());
    std::fflush(nullptr);
    std::_Exit(rc);
  }
  return rc;
}
