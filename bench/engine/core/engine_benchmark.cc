// Micro-benchmarks of the in-process Authorize path (no gRPC), on the shipped rules.
//
//   build/bin/engine_benchmark --benchmark_repetitions=5 --benchmark_report_aggregates_only
//
// BM_Engine_AuthorizeHotUser: one user charged again and again (one shard, warm cache).
// BM_Engine_Authorize1MUsers: 1,000,000 users with a profile, a mandate and one earlier charge
// each, charged in a random order; `state_bytes_per_user` is memory per user after that setup,
// `setup_rss_mb` is the process's peak memory once the users exist, and
// `peak_rss_mb` is the process's peak memory after the run (run it
// alone, with --benchmark_filter=1MUsers, for that figure to be its own).

#include <sys/resource.h>

#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
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
  if (!engine.PutUserProfile(profile).ok() || !engine.GrantMandate(grant).ok()) std::abort();
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
  Engine engine(ShippedPolicy(), &clock, EngineOptions{});
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

void BM_Engine_Authorize1MUsers(benchmark::State& state) {
  constexpr int kUsers = 1'000'000;
  const int64_t before_rss_mb = PeakRssMb();
  FakeClock clock(kStartMs);
  Engine engine(ShippedPolicy(), &clock, EngineOptions{});
  std::vector<std::string> users;
  users.reserve(kUsers);
  // Steady state, as in a server that has run for a while: every user has a profile, a
  // mandate, and velocity windows from one earlier charge (and its idempotency record).
  AuthorizeRequest warm = Charge();
  for (int i = 0; i < kUsers; ++i) {
    users.push_back(absl::StrCat("user-", i));
    AddUser(engine, users.back());
    warm.user_id = users.back();
    warm.transaction_id = absl::StrCat("warm-", i);
    if (!engine.Authorize(warm).ok()) std::abort();
  }
  // Random users in a fixed order, drawn before timing starts.
  std::vector<uint32_t> order(1 << 20);
  std::mt19937_64 random(42);
  std::uniform_int_distribution<uint32_t> pick(0, kUsers - 1);
  for (uint32_t& i : order) i = pick(random);

  const int64_t setup_rss_mb = PeakRssMb();

  AuthorizeRequest request = Charge();
  uint64_t n = 0;
  for (auto _ : state) {
    clock.AdvanceMs(1);
    request.user_id = users[order[n & (order.size() - 1)]];
    SetTransactionId(request, n++);
    absl::StatusOr<AuthorizeResponse> response = engine.Authorize(request);
    benchmark::DoNotOptimize(response);
  }
  state.counters["setup_rss_mb"] = static_cast<double>(setup_rss_mb);
  // Includes one idempotency record a user and the benchmark's own user-id strings (~40 bytes).
  state.counters["state_bytes_per_user"] =
      static_cast<double>(setup_rss_mb - before_rss_mb) * 1024 * 1024 / kUsers;
  state.counters["peak_rss_mb"] = static_cast<double>(PeakRssMb());
}
BENCHMARK(BM_Engine_Authorize1MUsers)->Iterations(1'000'000);

}  // namespace
}  // namespace vigil

BENCHMARK_MAIN();
