// jemalloc's settings for Vigil's servers and benchmarks, compiled in; MALLOC_CONF in the
// environment adds to or overrides them.
//
// Transparent huge pages are off, whatever the system's default. They cut TLB misses on the
// large state heap (the median decision across 1M users in process was ~0.2 µs faster), but
// under gRPC load, while the heap grew, vigild's fixed-rate p99 went from 1.7–5.4 ms without
// them to 10–16 ms with them, in back-to-back runs: faulting in a huge page can wait for the
// kernel to compact memory.
//
// background_thread:true returns freed memory to the system from jemalloc's own threads instead
// of from whichever call happens to free past the decay deadline. Back-to-back runs at 30k
// calls/s: vigild's p99 2.7–5.3 ms with it, 3.3–15 ms without.

extern "C" {
// Read by jemalloc at start-up; the name is jemalloc's.
const char* malloc_conf = "thp:never,background_thread:true";
}
