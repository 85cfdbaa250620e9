// The cost of durability: in-process Authorize from 8 threads with no store, with RocksDB
// handing each group-committed batch to the OS, and with RocksDB syncing each batch to disk;
// and how long a restart takes to restore 1,000,000 users.
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

struct Shared {
  fs::path dir;
  std::unique_ptr<FakeClock> clock;
  std::unique_ptr<RocksDbStore> store;
  std::unique_ptr<Engine> engine;
};
Shared* shared = nullptr;

std::shared_ptr<const Policy> Shipped() {
  absl::StatusOr<std::unique_ptr<const Policy>> policy = rules::LoadRuleSet(VIGIL_RULES_DIR);
  if (!policy.ok()) std::abort();
  return *std::move(policy);
}

void SetUp(Mode mode, int threads) {
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
    }
  }
}

void TearDown() {
  shared->engine.reset();
  shared->store.reset();
  if (!shared->dir.empty()) fs::remove_all(shared->dir);
  delete shared;
  shared = nullptr;
}

void Authorize(benchmark::State& state, Mode mode) {
  if (state.thread_index() == 0) SetUp(mode, state.threads());
  AuthorizeRequest request;
  request.merchant_id = "coffee-42";
  request.amount_minor = 1234;
  request.currency = "CNY";
  request.channel = Channel::kQrCode;
  std::vector<double> latencies_us;
  latencies_us.reserve(1 << 16);
  uint64_t n = 0;
  for (auto _ : state) {
    request.user_id = absl::StrCat("t", state.thread_index(), "-u", n % kUsersPerThread);
    request.transaction_id = absl::StrCat("t", state.thread_index(), "-", n++);
    const auto began = std::chrono::steady_clock::now();
    absl::StatusOr<AuthorizeResponse> response = shared->engine->Authorize(request);
    const auto took = std::chrono::steady_clock::now() - began;
    if (!response.ok()) state.SkipWithError("Authorize failed");
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
  if (state.thread_index() == 0) {
    if (shared->store != nullptr) {
      state.counters["changes_per_batch"] = static_cast<double>(shared->store->stats().changes) /
                                            std::max<uint64_t>(1, shared->store->stats().batches);
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
