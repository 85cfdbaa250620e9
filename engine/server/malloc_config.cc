// jemalloc's settings for Vigil's servers and benchmarks, compiled in (MALLOC_CONF in the
// environment still overrides them).
//
// thp:always backs the heap with transparent huge pages. Vigil's state is a large heap read at
// random — one user's records per decision — and with 4 KiB pages nearly every such read also
// misses the TLB and walks the page tables: huge pages took the median decision across 1M users
// from 2.3 to 1.9 µs and its p99 from 6.0 to 3.7 µs (bench/RESULTS.md).

extern "C" {
// Read by jemalloc at start-up; the name is jemalloc's.
// NOLINTNEXTLINE(readability-identifier-naming)
const char* malloc_conf = "thp:always,metadata_thp:auto";
}
