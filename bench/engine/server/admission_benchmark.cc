// What vigild's server adds to each Authorize for overload and metrics, on one thread and on two
// at once: the deadline check and the admission count (AdmitAuthorize, Leave), the decision
// counter and the latency histogram with the two clock reads they need.
//
//   build-release/bin/admission_benchmark --benchmark_repetitions=5
//
// BM_Server_AdmitCountObserve: the whole per-call bookkeeping. With two threads its CPU time
// per call shows what sharing the admission count's cache line costs; the counters and the
// histogram are striped per thread and share nothing written.
// BM_Server_CountObserve: the same without admission, the striped part alone.

#include <chrono>

#include "benchmark/benchmark.h"
#include "engine/server/admission.h"
#include "engine/server/metrics.h"

namespace vigil::server {
namespace {

int64_t SteadyNs() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Admission admission(1 << 20);
ServerMetrics metrics;

void BM_Server_AdmitCountObserve(benchmark::State& state) {
  const auto deadline = std::chrono::system_clock::now() + std::chrono::hours(1);
  for (auto _ : state) {
    const int64_t began = SteadyNs();
    absl::Status admitted =
        AdmitAuthorize(admission, metrics, deadline, std::chrono::system_clock::now());
    benchmark::DoNotOptimize(admitted);
    metrics.decisions.Add(0);
    admission.Leave();
    metrics.authorize_latency.Observe(SteadyNs() - began);
  }
}
BENCHMARK(BM_Server_AdmitCountObserve)->Threads(1)->Threads(2)->UseRealTime();

void BM_Server_CountObserve(benchmark::State& state) {
  for (auto _ : state) {
    const int64_t began = SteadyNs();
    metrics.decisions.Add(0);
    metrics.authorize_latency.Observe(SteadyNs() - began);
  }
}
BENCHMARK(BM_Server_CountObserve)->Threads(1)->Threads(2)->UseRealTime();

}  // namespace
}  // namespace vigil::server
