// Micro-benchmarks of the in-process Authorize path (no gRPC), on the shipped rules.
//
//   build/bin/engine_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// BM_Engine_AuthorizeHotUser: one user charged again and again (one shard, warm cache).
// BM_Engine_IdempotentRetry: the same transaction id again, answered from its record.
// BM_Engine_WindowUpdate: reading and recording one user's velocity windows.
// BM_Engine_Authorize1MUsers: 1,000,000 users with a profile, a mandate and one earlier charge
// each, charged in a random order. Each decision is also timed alone: `p50_ns`, `p99_ns`,
// `p999_ns` (the clock reads add ~40 ns). `state_bytes_per_user` is the heap the users' state
// takes (profile, mandate, usage, windows and their tables), `idempotency_bytes_per_charge` the
// heap one idempotency record takes; `setup_rss_mb` and `peak_rss_mb` are the process's peak
// memory before and after the timed run (run it alone, with --benchmark_filter, for those two).
// BM_Engine_Authorize1MUsersHandwritten: the same with the hand-written twin of the rules.
// BM_Engine_SweepStep: one step of vigild's sweeper over 1,000,000 idempotency records (one of
// 1,024 parts walked, nothing old enough to forget), which holds a shard's lock while it runs.

#include <jemalloc/jemalloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "bench/engine/rules/handwritten_policy.h"
#include "benchmark/benchmark.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/rules/compiler.h"
#include "engine/rules/rule_set.h"

namespace vigil {
namespace {

constexpr int64_t kStartMs = 1'795'737'600'000;  // 2026-11-27T00:00:00Z

std::shared_ptr<const Policy> ShippedPolicy() {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
  if (!policy.ok()) std::abort();
  return *std::move(policy);
}

void AddUser(Engine& engine, const std::string& user) {
  UserProfile profile;
  profile.user_id = user;
  profile.birth_date = "1985-04-01";
  GrantMandateRequest grant;
  grant.user_id = user;
  grant.merchant_id = "*";
  grant.consent.explicit_opt_in = true;
  grant.consent.terms_version = "2026-01";
  grant.consent.consented_at_ms = kStartMs - 1000;
  if (!engine.PutUserProfile(profile).ok() || !engine.GrantMandate(grant).ok()) std::abort();
}

// Bytes the allocator (jemalloc, as in vigild) has handed out and not had back.
int64_t HeapInUse() {
  uint64_t epoch = 1;
  size_t size = sizeof(epoch);
  mallctl("epoch", &epoch, &size, &epoch, size);  // refreshes the statistics
  size_t allocated = 0;
  size = sizeof(allocated);
  if (mallctl("stats.allocated", &allocated, &size, nullptr, 0) != 0) std::abort();
  return static_cast<int64_t>(allocated);
}

int64_t PeakRssMb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024;
}

// The charge shape a gateway sends: 12.34 CNY by QR code at a coffee shop. Benchmarks reuse one
// request and only rewrite its ids, as a server reuses its request buffers.
AuthorizeRequest Charge() {
  AuthorizeRequest request;
  request.merchant_id = "coffee-42";
  request.amount_minor = 1234;
  request.currency = "CNY";
  request.channel = Channel::kQrCode;
  request.merchant_category = "5814";
  return request;
}

void SetTransactionId(AuthorizeRequest& request, uint64_t n) {
  request.transaction_id.clear();
  absl::StrAppend(&request.transaction_id, "t", n);
}

void BM_Engine_AuthorizeHotUser(benchmark::State& state) {
  FakeClock clock(kStartMs);
  const std::unique_ptr<Engine> engine_owner =
      Engine::Create(ShippedPolicy(), &clock, EngineOptions{});
  Engine& engine = *engine_owner;
  AddUser(engine, "hot-user");
  AuthorizeRequest request = Charge();
  request.user_id = "hot-user";
  uint64_t n = 0;
  for (auto _ : state) {
    // A millisecond apart: the hot user soon reaches the velocity rules, so most decisions take
    // the expensive path (rules fire and their reasons are copied into the answer).
    clock.AdvanceMs(1);
    SetTransactionId(request, n++);
    absl::StatusOr<AuthorizeResponse> response = engine.Authorize(request);
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_Engine_AuthorizeHotUser);

// The same transaction id again, as a gateway retries after a timeout: the first answer comes
// back from the idempotency record and nothing changes.
void BM_Engine_IdempotentRetry(benchmark::State& state) {
  FakeClock clock(kStartMs);
  const std::unique_ptr<Engine> engine_owner =
      Engine::Create(ShippedPolicy(), &clock, EngineOptions{});
  Engine& engine = *engine_owner;
  AddUser(engine, "retrying-user");
  AuthorizeRequest request = Charge();
  request.user_id = "retrying-user";
  request.transaction_id = "t-retried";
  if (!engine.Authorize(request).ok()) std::abort();
  for (auto _ : state) {
    absl::StatusOr<AuthorizeResponse> response = engine.Authorize(request);
    benchmark::DoNotOptimize(response);
  }
}
BENCHMARK(BM_Engine_IdempotentRetry);

// One user's windows under the shipped rules (approvals 1 h and 3 h, attempts 1 h, distinct
// merchants 10 min): read them all, then record the charge — what every Authorize does. The
// argument is the seconds between charges: hourly keeps the few events themselves, every
// second moves the user to bucket rings.
void BM_Engine_WindowUpdate(benchmark::State& state) {
  const std::shared_ptr<const Policy> policy = ShippedPolicy();
  const WindowLayout& layout = policy->layout();
  SubjectWindows windows;
  std::vector<WindowReading> readings(layout.specs().size());
  int64_t now_ms = kStartMs;
  for (auto _ : state) {
    now_ms += state.range(0) * 1000;
    windows.Conform(layout, Subject::kUser);
    windows.Read(layout, Subject::kUser, now_ms, absl::MakeSpan(readings));
    windows.Record(layout, Subject::kUser, now_ms, 1234, /*merchant_hash=*/now_ms % 7,
                   /*approved=*/true);
    benchmark::DoNotOptimize(readings.data());
  }
}
BENCHMARK(BM_Engine_WindowUpdate)->ArgName("seconds_apart")->Arg(3600)->Arg(1);

std::shared_ptr<const Policy> HandwrittenShippedPolicy() {
  rules::CompileOutput output = rules::CompileRuleDirectory(VIGIL_RULES_DIR);
  if (output.rule_set == nullptr) std::abort();
  return std::make_shared<rules::HandwrittenPolicy>(std::move(output.rule_set));
}

void Authorize1MUsers(benchmark::State& state, std::shared_ptr<const Policy> policy) {
  constexpr int kUsers = 1'000'000;
  FakeClock clock(kStartMs);
  const std::unique_ptr<Engine> engine_owner =
      Engine::Create(std::move(policy), &clock, EngineOptions{});
  Engine& engine = *engine_owner;
  std::vector<std::string> users;
  users.reserve(kUsers);
  for (int i = 0; i < kUsers; ++i) users.push_back(absl::StrCat("user-", i));
  // Random users in a fixed order, drawn before timing starts.
  std::vector<uint32_t> order(1 << 20);
  std::mt19937_64 random(42);
  std::uniform_int_distribution<uint32_t> pick(0, kUsers - 1);
  for (uint32_t& i : order) i = pick(random);

  // Steady state, as in a server that has run for a while: every user has a profile, a
  // mandate, and velocity windows from one earlier charge (and its idempotency record).
  const int64_t heap_before = HeapInUse();
  AuthorizeRequest warm = Charge();
  for (int i = 0; i < kUsers; ++i) {
    AddUser(engine, users[i]);
    warm.user_id = users[i];
    warm.transaction_id = absl::StrCat("warm-", i);
    if (!engine.Authorize(warm).ok()) std::abort();
  }
  const int64_t heap_with_records = HeapInUse();
  // The idempotency records are per charge, not per user: measured apart, then forgotten.
  if (!engine.ExpireTransactions(clock.NowMs() + 1).ok()) std::abort();
  const int64_t heap_users = HeapInUse();
  const int64_t setup_rss_mb = PeakRssMb();

  AuthorizeRequest request = Charge();
  std::vector<int64_t> latencies_ns;
  latencies_ns.reserve(static_cast<size_t>(state.max_iterations));
  uint64_t n = 0;
  for (auto _ : state) {
    clock.AdvanceMs(1);
    request.user_id = users[order[n & (order.size() - 1)]];
    SetTransactionId(request, n++);
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<AuthorizeResponse> response = engine.Authorize(request);
    benchmark::DoNotOptimize(response);
    latencies_ns.push_back(std::chrono::duration_cast<std::chrono::nanoseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count());
  }
  std::sort(latencies_ns.begin(), latencies_ns.end());
  auto at = [&](double q) {
    return static_cast<double>(latencies_ns[static_cast<size_t>(q * (latencies_ns.size() - 1))]);
  };
  state.counters["p50_ns"] = at(0.5);
  state.counters["p99_ns"] = at(0.99);
  state.counters["p999_ns"] = at(0.999);
  // Profile, mandates, usage and velocity windows, with the tables that index them.
  state.counters["state_bytes_per_user"] = static_cast<double>(heap_users - heap_before) / kUsers;
  state.counters["idempotency_bytes_per_charge"] =
      static_cast<double>(heap_with_records - heap_users) / kUsers;
  state.counters["setup_rss_mb"] = static_cast<double>(setup_rss_mb);
  state.counters["peak_rss_mb"] = static_cast<double>(PeakRssMb());
}
void BM_Engine_Authorize1MUsers(benchmark::State& state) {
  Authorize1MUsers(state, ShippedPolicy());
}
BENCHMARK(BM_Engine_Authorize1MUsers)->Iterations(1'000'000);

// The same, deciding with the shipped rules written out by hand in C++.
void BM_Engine_Authorize1MUsersHandwritten(benchmark::State& state) {
  Authorize1MUsers(state, HandwrittenShippedPolicy());
}
BENCHMARK(BM_Engine_Authorize1MUsersHandwritten)->Iterations(1'000'000);

// Two threads deciding at once on one engine, as vigild's two server threads do: 20,000 users
// (the harness's number), each thread charging its own half in a random order, all at one
// merchant. What the threads share — the policy, counters, the shards' locks — shows here as
// time per decision beyond a single thread's.
void BM_Engine_AuthorizeTwoThreads(benchmark::State& state) {
  constexpr int kUsers = 20'000;
  static FakeClock clock(kStartMs);
  static std::unique_ptr<Engine> engine;
  if (state.thread_index() == 0) {
    engine = Engine::Create(ShippedPolicy(), &clock, EngineOptions{});
    for (int i = 0; i < kUsers; ++i) AddUser(*engine, absl::StrCat("user-", i));
  }
  const int threads = state.threads();
  std::vector<std::string> mine;
  for (int i = state.thread_index(); i < kUsers; i += threads) {
    mine.push_back(absl::StrCat("user-", i));
  }
  std::shuffle(mine.begin(), mine.end(), std::mt19937_64(state.thread_index()));
  AuthorizeRequest request = Charge();
  uint64_t n = 0;
  for (auto _ : state) {  // every thread starts here once thread 0 has set the engine up
    request.user_id = mine[n % mine.size()];
    SetTransactionId(request, n++ * threads + state.thread_index());
    absl::StatusOr<AuthorizeResponse> response = engine->Authorize(request);
    benchmark::DoNotOptimize(response);
  }
  if (state.thread_index() == 0) engine.reset();  // every thread has left the loop
}
BENCHMARK(BM_Engine_AuthorizeTwoThreads)->Threads(1)->Threads(2)->Iterations(500'000);

// vigild's sweeper walks one of 1,024 parts of the idempotency records every ~59 ms, holding
// each shard's lock in turn; calls for that shard wait, and the core is taken meanwhile.
void BM_Engine_SweepStep(benchmark::State& state) {
  constexpr int kRecords = 1'000'000;
  constexpr size_t kParts = 1024;
  FakeClock clock(kStartMs);
  const std::unique_ptr<Engine> engine_owner =
      Engine::Create(ShippedPolicy(), &clock, EngineOptions{});
  Engine& engine = *engine_owner;
  std::vector<std::string> users;
  for (int i = 0; i < 1000; ++i) {
    users.push_back(absl::StrCat("user-", i));
    AddUser(engine, users.back());
  }
  AuthorizeRequest request = Charge();
  for (int i = 0; i < kRecords; ++i) {
    clock.AdvanceMs(1);
    request.user_id = users[i % users.size()];
    SetTransactionId(request, i);
    if (!engine.Authorize(request).ok()) std::abort();
  }
  size_t part = 0;
  for (auto _ : state) {
    // Every record is newer than this: the step walks its part and forgets nothing.
    absl::StatusOr<size_t> forgotten = engine.ExpireTransactions(kStartMs, part, kParts);
    if (!forgotten.ok() || *forgotten != 0) std::abort();
    part = (part + 1) % kParts;
  }
  state.counters["records_per_step"] = static_cast<double>(kRecords) / kParts;
}
BENCHMARK(BM_Engine_SweepStep);

}  // namespace
}  // namespace vigil
