// main() of Vigil's micro-benchmarks: Google Benchmark's, with Abseil's mutex deadlock detector
// off, as vigild runs (see engine/server/vigild_main.cc).

#include "absl/synchronization/mutex.h"
#include "benchmark/benchmark.h"

int main(int argc, char** argv) {
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
