// The cost of durability: in-process Authorize from 8 threads with no store, with RocksDB
// handing each group-committed batch to the OS, and with RocksDB syncing each batch to disk;
// how long a restart takes to restore 1,000,000 users. And the cost of notices: Authorize of
// users told of each approved charge (a notice in the outbox each) against users who are not,
// with and without a slow consumer reading the outbox meanwhile; and the daily scan and the
// monthly summary over 1,000,000 users, with what an Authorize running meanwhile waits.
//
//   build-release/bin/store_benchmark --benchmark_min_time=2 --benchmark_repetitions=3
//       --benchmark_report_aggregates_only
//
// Throughput is items_per_second (all threads); p50_us and p99_us are per-call latencies
// measured by each thread and averaged over the threads.

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "benchmark/benchmark.h"
#include "engine/core/clock.h"
#include "engine/core/engine.h"
#include "engine/rules/rule_set.h"
#include "engine/store/rocksdb_store.h"

namespace vigil::store {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kStartMs = 1'795'737'600'000;
constexpr int kUsersPerThread = 200;

enum class Mode { kMemory, kRocksDbToOs, kRocksDbFsync };
// Who is told of approved charges, and who reads the notices.
enum class Told { kNobody, kEveryUser, kEveryUserSlowConsumer };

struct Shared {
  fs::path dir;
  std::unique_ptr<FakeClock> clock;
  std::unique_ptr<RocksDbStore> store;
  std::unique_ptr<Engine> engine;
  // A consumer that takes one notice every 10 ms, far behind the charges.
  std::atomic<bool> stop{false};
  std::thread consumer;
};

void SlowConsumer(RocksDbStore& outbox, std::atomic<bool>& stop) {
  uint64_t acked = 0;
  while (!stop.load()) {
    (void)outbox.ReadNotices(acked, [&](const StoredNotice& stored) {
      acked = stored.cursor;
      return false;
    });
    if (acked != 0) (void)outbox.Ack("slow", acked);
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}
Shared* shared = nullptr;

std::shared_ptr<const Policy> Shipped() {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
  if (!policy.ok()) std::abort();
  return *std::move(policy);
}

void SetUp(Mode mode, int threads, Told told) {
  shared = new Shared;
  shared->clock = std::make_unique<FakeClock>(kStartMs);
  EngineOptions options;
  if (mode != Mode::kMemory) {
    shared->dir = fs::temp_directory_path() / absl::StrCat("vigil-bench-store-", getpid());
    fs::remove_all(shared->dir);
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store = RocksDbStore::Open(
        StoreOptions{.path = shared->dir.string(), .sync = mode == Mode::kRocksDbFsync});
    if (!store.ok()) std::abort();
    shared->store = *std::move(store);
    options.journal = shared->store.get();
  }
  shared->engine = Engine::Create(Shipped(), shared->clock.get(), options);
  for (int t = 0; t < threads; ++t) {
    for (int u = 0; u < kUsersPerThread; ++u) {
      GrantMandateRequest grant;
      grant.user_id = absl::StrCat("t", t, "-u", u);
      grant.merchant_id = "*";
      grant.consent = Consent{true, "2026-01", kStartMs - 1000, "bench"};
      if (!shared->engine->GrantMandate(grant).ok()) std::abort();
      UserProfile profile;
      profile.user_id = grant.user_id;
      profile.notify_every_transaction = told != Told::kNobody;
      if (!shared->engine->PutUserProfile(profile).ok()) std::abort();
    }
  }
  if (told == Told::kEveryUserSlowConsumer) {
    shared->consumer = std::thread(SlowConsumer, std::ref(*shared->store), std::ref(shared->stop));
  }
}

void TearDown() {
  shared->stop = true;
  if (shared->consumer.joinable()) shared->consumer.join();
  shared->engine.reset();
  shared->store.reset();
  if (!shared->dir.empty()) fs::remove_all(shared->dir);
  delete shared;
  shared = nullptr;
}

// `approving`: the clock moves a second a call, so that users' charges stay within the
// velocity and daily limits and are approved (a notice is made for an approval only).
void Authorize(benchmark::State& state, Mode mode, Told told = Told::kNobody,
               bool approving = false) {
  if (state.thread_index() == 0) SetUp(mode, state.threads(), told);
  AuthorizeRequest request;
  request.merchant_id = "coffee-42";
  request.amount_minor = 1234;
  request.currency = "CNY";
  request.channel = Channel::kQrCode;
  std::vector<double> latencies_us;
  latencies_us.reserve(1 << 16);
  uint64_t n = 0;
  uint64_t approved = 0;
  for (auto _ : state) {
    if (approving) shared->clock->AdvanceMs(1000);
    request.user_id = absl::StrCat("t", state.thread_index(), "-u", n % kUsersPerThread);
    request.transaction_id = absl::StrCat("t", state.thread_index(), "-", n++);
    const auto began = std::chrono::steady_clock::now();
    absl::StatusOr<AuthorizeResponse> response = shared->engine->Authorize(request);
    const auto took = std::chrono::steady_clock::now() - began;
    if (!response.ok()) state.SkipWithError("Authorize failed");
    approved += response.ok() && response->decision == Decision::kApprove;
    latencies_us.push_back(std::chrono::duration<double, std::micro>(took).count());
  }
  std::sort(latencies_us.begin(), latencies_us.end());
  auto at = [&](double q) {
    return latencies_us.empty() ? 0.0
                                : latencies_us[static_cast<size_t>(q * (latencies_us.size() - 1))];
  };
  state.counters["p50_us"] = benchmark::Counter(at(0.50), benchmark::Counter::kAvgThreads);
  state.counters["p99_us"] = benchmark::Counter(at(0.99), benchmark::Counter::kAvgThreads);
  state.SetItemsProcessed(static_cast<int64_t>(n));
  state.counters["approved"] = benchmark::Counter(
      static_cast<double>(approved) / std::max<uint64_t>(1, n), benchmark::Counter::kAvgThreads);
  if (state.thread_index() == 0) {
    if (shared->store != nullptr) {
      state.counters["changes_per_batch"] = static_cast<double>(shared->store->stats().changes) /
                                            std::max<uint64_t>(1, shared->store->stats().batches);
      state.counters["notices"] = static_cast<double>(shared->store->LastNoticeCursor());
    }
    TearDown();
  }
}

void BM_Authorize_NoStore(benchmark::State& state) { Authorize(state, Mode::kMemory); }
void BM_Authorize_RocksDbToOs(benchmark::State& state) { Authorize(state, Mode::kRocksDbToOs); }
void BM_Authorize_RocksDbFsync(benchmark::State& state) { Authorize(state, Mode::kRocksDbFsync); }
BENCHMARK(BM_Authorize_NoStore)->Threads(8)->UseRealTime();
BENCHMARK(BM_Authorize_RocksDbToOs)->Threads(8)->UseRealTime();
BENCHMARK(BM_Authorize_RocksDbFsync)->Threads(8)->UseRealTime();

// The outbox's cost: the same charges of users who are not told, who are (one notice each), and
// who are while a consumer reads the outbox slowly. The store hands batches to the OS.
void BM_Notices_Authorize_Silent(benchmark::State& state) {
  Authorize(state, Mode::kRocksDbToOs, Told::kNobody, /*approving=*/true);
}
void BM_Notices_Authorize_Notifying(benchmark::State& state) {
  Authorize(state, Mode::kRocksDbToOs, Told::kEveryUser, /*approving=*/true);
}
void BM_Notices_Authorize_NotifyingSlowConsumer(benchmark::State& state) {
  Authorize(state, Mode::kRocksDbToOs, Told::kEveryUserSlowConsumer, /*approving=*/true);
}
BENCHMARK(BM_Notices_Authorize_Silent)->Threads(8)->UseRealTime();
BENCHMARK(BM_Notices_Authorize_Notifying)->Threads(8)->UseRealTime();
BENCHMARK(BM_Notices_Authorize_NotifyingSlowConsumer)->Threads(8)->UseRealTime();

// The notice scans over 1,000,000 users, each with a general mandate granted on one of the 120
// days before and ending 120 days after (so about 1 in 120 goes dormant on the day scanned, and
// as many come near their end); every other user was charged once, the day of the grant. While a
// scan runs, a second thread authorizes charges of other users and records how long each takes; it
// does the same for as long again with no scan, as the baseline. Counters: notices made, the scan's
// time over the 1,024 user shards (it holds a shard for 64 of its users at a time), and the
// prober's p50, p99 and longest call, with and without.
void Scan(benchmark::State& state, bool summary) {
  constexpr int kUsers = 1'000'000;
  constexpr int64_t kDay = 86'400'000;
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("vigil-bench-scan-", getpid());
  fs::remove_all(dir);
  FakeClock clock(kStartMs);
  absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
      RocksDbStore::Open(StoreOptions{.path = dir.string(), .sync = false});
  if (!store.ok()) std::abort();
  EngineOptions options;
  options.journal = store->get();
  std::unique_ptr<Engine> engine = Engine::Create(Shipped(), &clock, options);
  AuthorizeRequest charge;
  charge.merchant_id = "coffee-42";
  charge.amount_minor = 1234;
  charge.currency = "CNY";
  charge.channel = Channel::kQrCode;
  for (int i = 0; i < kUsers; ++i) {
    GrantMandateRequest grant;
    grant.user_id = absl::StrCat("user-", i);
    grant.merchant_id = "*";
    clock.SetMs(kStartMs - (i % 120) * kDay);
    grant.consent = Consent{true, "2026-01", clock.NowMs() - 1000, "bench"};
    grant.expires_at_ms = clock.NowMs() + 120 * kDay;
    if (!engine->GrantMandate(grant).ok()) std::abort();
    if (i % 2 != 0) continue;
    charge.user_id = grant.user_id;
    charge.transaction_id = absl::StrCat("warm-", i);
    if (!engine->Authorize(charge).ok()) std::abort();
  }
  const int64_t now_ms = kStartMs;
  clock.SetMs(now_ms);
  const LocalCalendar& calendar = engine->policy()->calendar();

  // Authorizes fresh charges of the first 1,000 users until `stop`; latencies in µs.
  auto probe = [&](std::atomic<bool>& stop, std::vector<double>& latencies, int round) {
    AuthorizeRequest request = charge;
    for (int n = 0; !stop.load(); ++n) {
      request.user_id = absl::StrCat("user-", n % 1000);
      request.transaction_id = absl::StrCat("probe-", round, "-", n);
      const auto began = std::chrono::steady_clock::now();
      (void)engine->Authorize(request);
      latencies.push_back(
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - began)
              .count());
    }
  };
  auto quantile = [](std::vector<double>& latencies, double q) {
    if (latencies.empty()) return 0.0;
    std::sort(latencies.begin(), latencies.end());
    return latencies[static_cast<size_t>(q * (latencies.size() - 1))];
  };
  int round = 0;
  size_t notices = 0;
  double took_s = 0;
  std::vector<double> during, without;
  for (auto _ : state) {
    std::atomic<bool> stop{false};
    std::thread prober(probe, std::ref(stop), std::ref(during), round++);
    const auto began = std::chrono::steady_clock::now();
    absl::StatusOr<size_t> made =
        summary ? engine->SummarizeMonth(calendar.MonthNumber(now_ms) - 1, now_ms, {"s", 1})
                : engine->ScanMandates(now_ms - kDay, now_ms, {"d", now_ms});
    const std::chrono::duration<double> took = std::chrono::steady_clock::now() - began;
    stop = true;
    prober.join();
    if (!made.ok()) std::abort();
    notices = *made;
    took_s = took.count();
    state.PauseTiming();
    std::atomic<bool> stop_baseline{false};
    std::thread baseline(probe, std::ref(stop_baseline), std::ref(without), round++);
    std::this_thread::sleep_for(took);
    stop_baseline = true;
    baseline.join();
    state.ResumeTiming();
  }
  state.counters["users"] = kUsers;
  state.counters["notices"] = static_cast<double>(notices);
  state.counters["per_shard_us"] = took_s * 1e6 / 1024;
  state.counters["probe_calls"] = static_cast<double>(during.size());
  state.counters["probe_p50_us"] = quantile(during, 0.5);
  state.counters["probe_p99_us"] = quantile(during, 0.99);
  state.counters["probe_max_us"] = quantile(during, 1.0);
  state.counters["baseline_calls"] = static_cast<double>(without.size());
  state.counters["baseline_p50_us"] = quantile(without, 0.5);
  state.counters["baseline_p99_us"] = quantile(without, 0.99);
  state.counters["baseline_max_us"] = quantile(without, 1.0);
  engine.reset();
  store->reset();
  fs::remove_all(dir);
}
void BM_Notices_DailyScan1MUsers(benchmark::State& state) { Scan(state, /*summary=*/false); }
void BM_Notices_MonthlySummary1MUsers(benchmark::State& state) { Scan(state, /*summary=*/true); }
BENCHMARK(BM_Notices_DailyScan1MUsers)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();
BENCHMARK(BM_Notices_MonthlySummary1MUsers)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1)
    ->UseRealTime();

// Restart time: open the store, read 1,000,000 users (profile, general mandate, windows from one
// charge each) and restore them into a new engine.
void BM_Store_Restore1MUsers(benchmark::State& state) {
  constexpr int kUsers = 1'000'000;
  const fs::path dir = fs::temp_directory_path() / absl::StrCat("vigil-bench-restore-", getpid());
  fs::remove_all(dir);
  FakeClock clock(kStartMs);
  {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        RocksDbStore::Open(StoreOptions{.path = dir.string(), .sync = false});
    if (!store.ok()) std::abort();
    EngineOptions options;
    options.journal = store->get();
    const std::unique_ptr<Engine> engine_owner = Engine::Create(Shipped(), &clock, options);
    Engine& engine = *engine_owner;
    AuthorizeRequest charge;
    charge.merchant_id = "coffee-42";
    charge.amount_minor = 1234;
    charge.currency = "CNY";
    for (int i = 0; i < kUsers; ++i) {
      UserProfile profile;
      profile.user_id = absl::StrCat("user-", i);
      profile.birth_date = "1985-04-01";
      GrantMandateRequest grant;
      grant.user_id = profile.user_id;
      grant.merchant_id = "*";
      grant.consent = Consent{true, "2026-01", kStartMs - 1000, "bench"};
      charge.user_id = profile.user_id;
      charge.transaction_id = absl::StrCat("warm-", i);
      if (!engine.PutUserProfile(profile).ok() || !engine.GrantMandate(grant).ok() ||
          !engine.Authorize(charge).ok()) {
        std::abort();
      }
    }
  }
  for (auto _ : state) {
    absl::StatusOr<std::unique_ptr<RocksDbStore>> store =
        RocksDbStore::Open(StoreOptions{.path = dir.string(), .sync = false});
    if (!store.ok()) std::abort();
    absl::StatusOr<RestoredState> restored = (*store)->Load();
    if (!restored.ok() || restored->users.size() != kUsers) std::abort();
    EngineOptions options;
    options.journal = store->get();
    const std::unique_ptr<Engine> engine_owner = Engine::Create(Shipped(), &clock, options);
    Engine& engine = *engine_owner;
    if (!engine.Restore(*restored).ok()) std::abort();
    state.PauseTiming();
    restored.value() = RestoredState{};
    state.ResumeTiming();
  }
  state.counters["users"] = kUsers;
  fs::remove_all(dir);
}
BENCHMARK(BM_Store_Restore1MUsers)->Unit(benchmark::kMillisecond)->Iterations(1)->UseRealTime();

}  // namespace
}  // namespace vigil::store
