// jemalloc's settings for Vigil's servers and benchmarks, compiled in; MALLOC_CONF in the
// environment adds to or overrides them (MALLOC_CONF=thp:never turns huge pages off).
//
// thp:always backs the heap with transparent huge pages. Vigil's state is a large heap read at
// random, one user's records per decision, and with 4 KiB pages nearly every such read also
// misses the TLB and walks the page tables: with huge pages the median decision across 1M users
// went from 2.3 to 1.9 µs and its p99 from 5.0 to 3.7 µs (bench/RESULTS.md). The known cost is
// that faulting in a huge page may wait for the kernel to compact memory; under gRPC load on the
// shared 2-core machines here, that was lost among the machine's own stalls (A/B runs of the
// fixed-rate p99 overlapped), but an operator who sees it can turn huge pages off.

extern "C" {
// Read by jemalloc at start-up; the name is jemalloc's.
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
