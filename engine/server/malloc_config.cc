// jemalloc's settings for Vigil's servers and benchmarks, compiled in; MALLOC_CONF in the
// environment adds to or overrides them (e.g. MALLOC_CONF=thp:always).
//
// Transparent huge pages stay off by default. They take the median in-process decision across
// 1M users from about 2.3 to 1.9 µs (fewer TLB misses), but under gRPC load, while the heap
// grows, vigild's fixed-rate p99 went from 2–4 ms to 5–18 ms and its highest rate fell by ~9%:
// faulting in a huge page can wait for the kernel to compact memory (bench/RESULTS.md).

extern "C" {
// Read by jemalloc at start-up; the name is jemalloc's.
const char* malloc_conf = "thp:default,metadata_thp:disabled";
}
