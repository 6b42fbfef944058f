"""The benchmark harness (`make bench`). Nothing here is imported unless PLUME_BENCH_BASELINE=1."""
